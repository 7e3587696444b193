// Second-stage refusals as a TD's EPT would give them: gpa-fault stops with the EPT-violation
// exit qualification, #VE with its VE_INFO fields, #PF(RSVD) for GPAs beyond GPAW 48, and
// refusals of the guest's own paging-structure reads.
import { describe, expect, it } from "vitest";
import {
  GPA_ACCESS_WRITE,
  GPA_FAULT,
  GPA_RSVD_PAGE_FAULT,
  GPA_VE,
  type GpaStatus,
  type GpaTranslation,
  type GuestPhysicalMap,
  VECTOR_PF,
  VECTOR_VE,
} from "../../src/mmu/index.js";
import { faultOf, Guest, split, TABLES } from "./helpers.js";

/** A flat map with per-page refusals (what a Secure EPT with blocked/pending pages looks like to the MMU). */
class RefusingMap implements GuestPhysicalMap {
  generation = 0;
  readonly refusals = new Map<number, { status: GpaStatus; rwx: number; writeOnly?: boolean }>();
  readonly notWritable = new Set<number>();
  inner: GuestPhysicalMap | undefined;
  calls: { gpa: number; access: number }[] = [];

  translate(gpa: number, access: number, out: GpaTranslation): GpaStatus {
    this.calls.push({ gpa, access });
    const r = this.refusals.get(Math.floor(gpa / 4096));
    if (r !== undefined && (!r.writeOnly || (access & GPA_ACCESS_WRITE) !== 0)) {
      out.entryRwx = r.rwx;
      return r.status;
    }
    const status = this.inner!.translate(gpa, access, out);
    if (r?.writeOnly || this.notWritable.has(Math.floor(gpa / 4096))) out.writable = false;
    return status;
  }
}

const VA = 0x7f12_3456_7000n;
const GPA = 0x80_0000;

function setup(user = false) {
  const map = new RefusingMap();
  const g = new Guest({ map });
  map.inner = g.flat;
  g.map(VA, GPA, 4096, { user });
  return { g, map };
}

describe("second-stage refusals", () => {
  it("surfaces an EPT violation as a gpa-fault stop with the exit qualification", () => {
    const { g, map } = setup();
    map.refusals.set(GPA / 4096, { status: GPA_FAULT, rwx: 0 });
    const [lo, hi] = split(VA + 0x10n);
    let f = faultOf(() => g.mmu.read32(lo, hi));
    // read (bit 0) | GLA valid (bit 7) | final translation (bit 8), entry RWX = 0
    expect(f.stop).toEqual({ reason: "gpa-fault", gpa: GPA + 0x10, qualification: 0x181, gla: VA + 0x10n });
    f = faultOf(() => g.mmu.write32(lo, hi, 1));
    expect(f.stop).toMatchObject({ qualification: 0x182 });
    f = faultOf(() => g.mmu.codeGpa(lo, hi));
    expect(f.stop).toMatchObject({ qualification: 0x184 });
  });

  it("reports the refusing entry's permissions in qualification bits 5:3 (a write-blocked page)", () => {
    const { g, map } = setup();
    map.refusals.set(GPA / 4096, { status: GPA_FAULT, rwx: 0b101, writeOnly: true });
    const [lo, hi] = split(VA);
    expect(g.mmu.read32(lo, hi)).toBe(0);
    const f = faultOf(() => g.mmu.write32(lo, hi, 1));
    expect(f.stop).toMatchObject({ reason: "gpa-fault", qualification: 0x182 | (0b101 << 3) });
    expect(g.memory.read32(GPA)).toBe(0);
  });

  it("raises #VE (vector 20, no error code) with the VE_INFO fields", () => {
    const { g, map } = setup();
    map.refusals.set(GPA / 4096, { status: GPA_VE, rwx: 0 });
    const [lo, hi] = split(VA + 0x8n);
    const f = faultOf(() => g.mmu.write64(lo, hi, 1, 2));
    expect(f.vector).toBe(VECTOR_VE);
    expect(f.errorCode).toBe(-1);
    expect(f.ve).toEqual({ qualification: 0x182, gpa: GPA + 8, glaLo: lo, glaHi: hi });
  });

  it("raises #PF with RSVD when the layer asks for it (GPAW 48, GPA above bit 47)", () => {
    const { g, map } = setup(true);
    map.refusals.set(GPA / 4096, { status: GPA_RSVD_PAGE_FAULT, rwx: 0 });
    const [lo, hi] = split(VA);
    let f = faultOf(() => g.mmu.write32(lo, hi, 1));
    expect([f.vector, f.errorCode, f.cr2]).toEqual([VECTOR_PF, 0xb, VA]);
    g.mmu.setPrivilege(3, false);
    f = faultOf(() => g.mmu.read32(lo, hi));
    expect(f.errorCode).toBe(0xd);
  });

  it("translates the guest's paging-structure reads through the second stage", () => {
    const { g, map } = setup();
    const [lo, hi] = split(VA);
    g.mmu.read32(lo, hi);
    const walkReads = map.calls.filter((c) => (c.access & 0x100) === 0 && (c.access & 1) !== 0);
    expect(walkReads).toHaveLength(4);
    for (const c of walkReads) expect(c.gpa).toBeGreaterThanOrEqual(TABLES);
    expect(map.calls.at(-1)).toEqual({ gpa: GPA, access: 0x181 });
  });

  it("reports a refused paging-structure read without the final-translation bit", () => {
    const { g, map } = setup();
    map.refusals.set(g.builder.root / 4096, { status: GPA_FAULT, rwx: 0 });
    const [lo, hi] = split(VA);
    const f = faultOf(() => g.mmu.read32(lo, hi));
    expect(f.stop).toMatchObject({ reason: "gpa-fault", qualification: 0x81, gla: VA });
    expect(f.stop).toMatchObject({ gpa: g.entryAddress(VA, 4) });
  });

  it("gives a #PF(RSVD) from a paging-structure access the error code of the original access", () => {
    const { g, map } = setup();
    map.refusals.set(g.builder.root / 4096, { status: GPA_RSVD_PAGE_FAULT, rwx: 0 });
    const [lo, hi] = split(VA);
    const f = faultOf(() => g.mmu.write32(lo, hi, 1));
    expect([f.vector, f.errorCode, f.cr2]).toEqual([VECTOR_PF, 0xb, VA]);
  });

  it("caches write access only when the layer grants it", () => {
    const { g, map } = setup();
    const [lo, hi] = split(VA);
    g.mmu.write32(lo, hi, 1);
    let before = map.calls.length;
    g.mmu.write32(lo, hi, 2);
    expect(map.calls.length).toBe(before); // granted: the second write is a TLB hit
    map.notWritable.add(GPA / 4096);
    g.mmu.flushAll();
    g.mmu.write32(lo, hi, 3);
    before = map.calls.length;
    g.mmu.write32(lo, hi, 4);
    expect(map.calls.at(-1)).toEqual({ gpa: GPA, access: 0x182 }); // asked again
    expect(map.calls.length).toBe(before + 1); // the walk again (its entry pages cached), then the final access
    expect(g.memory.read32(GPA)).toBe(4);
  });
});
