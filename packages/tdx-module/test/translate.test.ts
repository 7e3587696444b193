// translate(): the TD's memory as the CPU sees it, #VE rules, shared EPT, CPUID and the reset state.
import { describe, expect, it } from "vitest";
import {
  Access,
  ExtExitQualType,
  FaultKind,
  SHARED_EPT_MISCONFIG,
  SHARED_EPT_VE,
  TdcallOutcome,
  Vector,
} from "../src/index.js";
import {
  buildTd,
  expectStatus,
  guest,
  type Host,
  makeHost,
  mapSeptFor,
  OK,
  runnableTd,
  tdcall,
} from "./helpers.js";

/** runnableTd with its page at GPA 0x1000 filled with 0x11, so reads through translate() are recognisable. */
function runnable(host: Host, params = {}) {
  return runnableTd(host, params, { data: new Uint8Array(4096).fill(0x11) });
}

describe("translate()", () => {
  it("returns the private page for MAPPED GPAs (any offset, 2 MiB leaves too)", () => {
    const host = makeHost();
    const { td, v } = runnable(host);
    const page = v.translate(0x1abc, Access.READ)!;
    expect(page.length).toBe(4096);
    expect(page[0]).toBe(0x11);
    page[5] = 0x99; // a guest write is visible to later translations
    expect(v.translate(0x1000, Access.WRITE)![5]).toBe(0x99);
    mapSeptFor(host, td, 0x400000, 2);
    expectStatus(host.tdx.tdhMemPageAug(0x400000, 1, td.tdr, 0x30000000), OK);
    expectStatus(tdcall(v, 6n, { rcx: 0x400001n }).rax, OK);
    const sub = v.translate(0x5ff123, Access.WRITE)!;
    sub[0] = 1;
    expect(v.translate(0x5ff000, Access.READ)![0]).toBe(1);
    expect(v.translate(0x400000, Access.READ)![0]).toBe(0);
  });
  it("PENDING page → #VE (private), or TD exit PENDING_EPT_VIOLATION with SEPT_VE_DISABLE", () => {
    for (const [attributes, kind] of [
      [0n, FaultKind.VE],
      [1n << 28n, FaultKind.EPT_VIOLATION],
    ] as const) {
      const host = makeHost();
      const { td, v } = runnable(host, { attributes });
      mapSeptFor(host, td, 0x8000);
      expectStatus(host.tdx.tdhMemPageAug(0x8000, 0, td.tdr, host.memory.allocPage()), OK);
      expect(v.translate(0x8123, Access.WRITE)).toBeNull();
      const f = v.memory.fault;
      expect(f.kind).toBe(kind);
      expect(f.gpa).toBe(0x8000);
      if (kind === FaultKind.VE) {
        expect(v.deliverEptVe(f, 0x8123, 0, true)).toBe(Vector.VE);
        const info = tdcall(v, 3n);
        expect(info.reg("rcx")).toBe(48n);
        expect(info.reg("r9")).toBe(0x8000n);
        expect(info.reg("rdx")).toBe(BigInt(2 | 0x80 | 0x100));
        v.translate(0x8000, Access.READ);
        expect(v.deliverEptVe(v.memory.fault, 0, 0, false)).toBe(Vector.VE);
        v.translate(0x8000, Access.READ);
        expect(v.deliverEptVe(v.memory.fault, 0, 0, false)).toBe(Vector.DF); // VE_INFO still valid
      } else {
        expect(f.extExitQualification).toBe(ExtExitQualType.PENDING_EPT_VIOLATION);
      }
    }
  });
  it("unmapped / blocked private GPAs and GPAs above GPAW → TD exit EPT violation", () => {
    const host = makeHost();
    const { td, v } = runnable(host);
    for (const gpa of [0x2000, 0x40000000, 2 ** 48 + 5]) {
      expect(v.translate(gpa, Access.FETCH)).toBeNull();
      expect(v.memory.fault.kind).toBe(FaultKind.EPT_VIOLATION);
      expect(v.memory.fault.exitQualification & 7).toBe(Access.FETCH);
    }
    expectStatus(host.tdx.tdhMemRangeBlock(0x1000, 0, td.tdr), OK);
    expect(v.translate(0x1000, Access.READ)).toBeNull();
    expect(v.memory.fault.kind).toBe(FaultKind.EPT_VIOLATION);
  });
  it("shared GPAs go through the host's shared EPT: page, #VE (MMIO), violation, misconfig", () => {
    const host = makeHost();
    const { td, v } = runnable(host);
    const shared = 2 ** 47;
    const frame = host.memory.allocPage();
    host.memory.host.write8(frame + 3, 0x77);
    host.tdx.setSharedEpt(td.tdr, (gpa) => {
      const g = gpa - shared;
      if (g < 0x1000) return frame + (g % 4096);
      if (g < 0x2000) return SHARED_EPT_VE;
      if (g < 0x3000) return SHARED_EPT_MISCONFIG;
      if (g < 0x4000) return td.tdcs[0]; // host maps a private page: refused as misconfiguration
      return -1;
    });
    expect(v.translate(shared + 3, Access.READ)![3]).toBe(0x77);
    expect(v.translate(shared + 0x1000, Access.WRITE)).toBeNull();
    expect(v.memory.fault.kind).toBe(FaultKind.VE);
    expect(v.deliverEptVe(v.memory.fault, 0, 0, true)).toBe(Vector.VE);
    v.translate(shared + 0x1000, Access.WRITE);
    expect(v.deliverEptVe(v.memory.fault, 0, 0, true)).toBe(-1); // VE_INFO valid: CPU VM-exits instead
    expect(v.memory.fault.kind).toBe(FaultKind.EPT_VIOLATION);
    v.translate(shared + 0x2000, Access.READ);
    expect(v.memory.fault.kind).toBe(FaultKind.EPT_MISCONFIG);
    v.translate(shared + 0x3000, Access.READ);
    expect(v.memory.fault.kind).toBe(FaultKind.EPT_MISCONFIG);
    v.translate(shared + 0x5000, Access.READ);
    expect(v.memory.fault.kind).toBe(FaultKind.EPT_VIOLATION);
    expect(v.memory.fault.private).toBe(false);
  });
  it("TDCALL operands that hit a pending page inject #VE; unmapped ones exit", () => {
    const host = makeHost();
    const { td, v } = runnable(host);
    mapSeptFor(host, td, 0x8000);
    expectStatus(host.tdx.tdhMemPageAug(0x8000, 0, td.tdr, host.memory.allocPage()), OK);
    expect(tdcall(v, 2n, { rcx: 0x8000n, rdx: 0n }).outcome).toBe(TdcallOutcome.INJECT);
    expect(v.exit.vector).toBe(Vector.VE);
    expect(tdcall(v, 2n, { rcx: 0x9000n, rdx: 0n }).outcome).toBe(TdcallOutcome.TD_EXIT);
  });
});

describe("CPUID virtualisation", () => {
  it("leaf 0 max 0x23, 0x21 IntelTDX, 0x1.EBX vCPU index, OSXSAVE mirror, #VE ranges", () => {
    const host = makeHost();
    const { v } = runnable(host, { tscFrequency: 120 });
    const out = new Uint32Array(4);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(true);
    expect(out[0]).toBe(0x23);
    expect(Buffer.from(new Uint32Array([out[1], out[3], out[2]]).buffer).toString()).toBe("GenuineIntel");
    v.cpuid(0x21, 0, 0, false, out);
    expect(Buffer.from(new Uint32Array([out[1], out[3], out[2]]).buffer).toString()).toBe("IntelTDX    ");
    v.cpuid(1, 0, 0, true, out);
    expect(out[1] >>> 24).toBe(0);
    expect((out[2] >>> 27) & 1).toBe(1);
    expect(out[2] >>> 31).toBe(1);
    v.cpuid(1, 0, 0, false, out);
    expect((out[2] >>> 27) & 1).toBe(0);
    v.cpuid(0x15, 0, 0, false, out);
    expect([out[0], out[1], out[2]]).toEqual([1, 120, 25_000_000]);
    v.cpuid(0xd, 0, 0, false, out);
    expect(out[0]).toBe(3);
    for (const leaf of [0x2, 0xb, 0x6, 0x1f, 0x40000000, 0x4fffffff, 0x80000006])
      expect(v.cpuid(leaf, 0, 0, false, out)).toBe(false);
    expect(v.cpuid(0x30, 0, 0, false, out)).toBe(true); // above max → max basic leaf
  });
  it("uses the TD's CPUID_CONFIG (cleared feature bits stay cleared)", () => {
    const host = makeHost();
    const values = new Uint32Array(48);
    values[0] = 0x000806f8; // the native F/M/S (the only non-zero value a non-migratable TD may give)
    const { v } = runnable(host, { cpuidValues: values });
    const out = new Uint32Array(4);
    v.cpuid(1, 0, 0, false, out);
    expect(out[0]).toBe(0x000806f8);
    expect(out[3]).toBe(0);
    v.cpuid(7, 0, 0, false, out);
    expect(out[1]).toBe(0);
  });
});

describe("initial vCPU state", () => {
  it("reset vector, 32-bit protected mode, RBX=GPAW, RCX=R8=VP.INIT arg, RDX=CPUID(1).EAX, RSI=VCPU_INDEX", () => {
    const host = makeHost();
    const td = buildTd(host, { configFlags: 1n, eptpControls: 6n | (4n << 3n) });
    const s = guest(host, td.vcpus[0]).initialState();
    expect(s.rip).toBe(0xfffffff0);
    expect(s.cr0).toBe(0x21);
    expect(s.cr4Shadow).toBe(0x40);
    expect(s.efer).toBe(0x901);
    expect(s.cs.ar).toBe(0xc09b);
    expect(s.gpr[3]).toBe(52n);
    expect(s.gpr[1]).toBe(0x1234n);
    expect(s.gpr[8]).toBe(0x1234n);
    expect(s.gpr[2]).toBe(0x806f8n);
    expect(s.gpr[6]).toBe(0n);
    expect(s.gpr[0]).toBe(0n);
    expect(s.msrs.get(0x277)).toBe(0x0007040600070406n);
  });
});
