// #PF error codes and CR2, access rights (U/S, R/W with CR0.WP, NX, SMEP, SMAP), A/D updates,
// canonical checks, paging disabled and unsupported paging modes.
import { describe, expect, it } from "vitest";
import {
  CR0_AM,
  FlatGuestPhysicalMap,
  Mmu,
  VECTOR_AC,
  VECTOR_GP,
  VECTOR_PF,
  VECTOR_SS,
} from "../../src/mmu/index.js";
import { faultOf, Guest, split } from "./helpers.js";

const VA = 0x40_0000n;
const GPA = 0x80_0000;

describe("page faults", () => {
  it("reports not-present faults with W/U/I bits and CR2", () => {
    const g = new Guest();
    const [lo, hi] = split(0x7000_1234n);
    let f = faultOf(() => g.mmu.read32(lo, hi));
    expect([f.vector, f.errorCode, f.cr2]).toEqual([VECTOR_PF, 0, 0x7000_1234n]);
    f = faultOf(() => g.mmu.write8(lo, hi, 1));
    expect(f.errorCode).toBe(0x2);
    g.mmu.setPrivilege(3, false);
    f = faultOf(() => g.mmu.write16(lo, hi, 1));
    expect(f.errorCode).toBe(0x6);
    f = faultOf(() => g.mmu.fetchBytes(lo, hi, new Uint8Array(16), 0, 15));
    expect(f.errorCode).toBe(0x14); // U | I (EFER.NXE = 1)
  });

  it("reports CR2 for upper-half addresses", () => {
    const g = new Guest();
    const [lo, hi] = split(-0x1000n + 0x10n);
    const f = faultOf(() => g.mmu.read64(lo, hi));
    expect(f.cr2).toBe(0xffff_ffff_ffff_f010n);
    expect(f.toString()).toBe("#PF(0x0) at 0xfffffffffffff010");
  });

  it("omits the I/D bit when neither NXE nor SMEP is on", () => {
    const g = new Guest({ nxe: false });
    const f = faultOf(() => g.mmu.fetchBytes(0x5000, 0, new Uint8Array(4), 0, 4));
    expect(f.errorCode).toBe(0);
  });

  it("enforces U/S: a user access to a supervisor page faults with P|U(|W)", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096);
    const [lo, hi] = split(VA);
    g.mmu.write32(lo, hi, 7);
    g.mmu.setPrivilege(3, false);
    expect(faultOf(() => g.mmu.read32(lo, hi)).errorCode).toBe(0x5);
    expect(faultOf(() => g.mmu.write32(lo, hi, 1)).errorCode).toBe(0x7);
    // An implicit supervisor access (descriptor table read) at CPL 3 is allowed.
    expect(g.mmu.readSystem32(lo, hi)).toBe(7);
    // A user-mode system access (event-delivery push onto a CPL-3 stack) is checked as user, at any CPL.
    g.mmu.setPrivilege(0, false);
    const f = faultOf(() => g.mmu.writeSystem32(lo, hi, 1, true));
    expect([f.errorCode, f.cr2]).toEqual([0x7, VA]);
  });

  it("enforces R/W for user pages and for supervisor writes only with CR0.WP", () => {
    const g = new Guest({ wp: true });
    g.map(VA, GPA, 4096, { writable: false, user: true });
    const [lo, hi] = split(VA);
    expect(faultOf(() => g.mmu.write32(lo, hi, 1)).errorCode).toBe(0x3);
    g.mmu.setPrivilege(3, false);
    expect(g.mmu.read32(lo, hi)).toBe(0);
    expect(faultOf(() => g.mmu.write32(lo, hi, 1)).errorCode).toBe(0x7);
    g.mmu.setPrivilege(0, false);
    g.setMode({ wp: false });
    g.mmu.write32(lo, hi, 0x1234);
    expect(g.memory.read32(GPA)).toBe(0x1234);
  });

  it("enforces NX with EFER.NXE and ignores it without", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096, { executable: false });
    const [lo, hi] = split(VA);
    g.memory.write32(GPA, 0x90909090);
    expect(faultOf(() => g.mmu.codeGpa(lo, hi)).errorCode).toBe(0x11);
    expect(g.mmu.read32(lo, hi)).toBe(0x90909090 | 0);
    // XD is a reserved bit when NXE = 0.
    g.setMode({ nxe: false });
    expect(faultOf(() => g.mmu.read32(lo, hi)).errorCode).toBe(0x9);
  });

  it("enforces SMEP on supervisor fetches from user pages", () => {
    const g = new Guest({ smep: true });
    g.map(VA, GPA, 4096, { user: true });
    const [lo, hi] = split(VA);
    expect(faultOf(() => g.mmu.codeGpa(lo, hi)).errorCode).toBe(0x11);
    g.mmu.setPrivilege(3, false);
    expect(g.mmu.codeGpa(lo, hi)).toBe(GPA);
  });

  it("enforces SMAP on supervisor data accesses unless EFLAGS.AC, and always for implicit ones", () => {
    const g = new Guest({ smap: true });
    g.map(VA, GPA, 4096, { user: true });
    const [lo, hi] = split(VA);
    expect(faultOf(() => g.mmu.read32(lo, hi)).errorCode).toBe(0x1);
    expect(faultOf(() => g.mmu.write32(lo, hi, 1)).errorCode).toBe(0x3);
    g.mmu.setPrivilege(0, true);
    g.mmu.write32(lo, hi, 0x55);
    expect(g.mmu.read32(lo, hi)).toBe(0x55);
    expect(faultOf(() => g.mmu.readSystem32(lo, hi)).errorCode).toBe(0x1);
    // The AC translation is not reused once AC is clear again (context is part of the tag).
    g.mmu.setPrivilege(0, false);
    expect(faultOf(() => g.mmu.read32(lo, hi)).errorCode).toBe(0x1);
  });

  it("reports reserved bits with P|RSVD", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096);
    // PS is reserved in a PML4E.
    g.setEntry(VA, g.entry(VA, 4) | 0x80n, 4);
    const [lo, hi] = split(VA);
    const f = faultOf(() => g.mmu.write32(lo, hi, 1));
    expect(f.errorCode).toBe(0x1 | 0x2 | 0x8);
  });
});

describe("alignment check", () => {
  it("raises #AC(0) for misaligned user data accesses with CR0.AM and EFLAGS.AC, before #PF", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096, { user: true });
    g.mmu.setControlRegisters(g.mmu.cr0 | CR0_AM, g.mmu.cr4, g.mmu.efer);
    const [lo, hi] = split(VA);
    g.mmu.setPrivilege(3, true);
    g.mmu.write32(lo, hi, 1);
    expect(g.mmu.read16(lo + 2, hi)).toBe(0);
    expect(g.mmu.read8(lo + 3, hi)).toBe(0);
    let f = faultOf(() => g.mmu.read32(lo + 2, hi));
    expect([f.vector, f.errorCode]).toEqual([VECTOR_AC, 0]);
    expect(faultOf(() => g.mmu.writeStack64(lo + 4, hi, 0, 0)).vector).toBe(VECTOR_AC);
    f = faultOf(() => g.mmu.read32(lo + 0x2001, hi)); // unmapped, misaligned: #AC first
    expect(f.vector).toBe(VECTOR_AC);
    // Implicit supervisor accesses and CPL < 3 are not checked; neither is AC = 0.
    g.map(VA + 0x1000n, GPA + 0x1000, 4096);
    expect(g.mmu.readSystem32(lo + 0x1002, hi)).toBe(0);
    g.mmu.setPrivilege(3, false);
    expect(g.mmu.read32(lo + 2, hi)).toBe(0);
    g.mmu.setPrivilege(0, true);
    expect(g.mmu.read32(lo + 2, hi)).toBe(0);
  });
});

describe("accessed and dirty flags", () => {
  it("sets A on every level for a read and D on the leaf only for a write", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096);
    const [lo, hi] = split(VA);
    expect(g.entry(VA) & 0x60n).toBe(0n);
    g.mmu.read32(lo, hi);
    expect(g.entry(VA) & 0x60n).toBe(0x20n);
    for (const level of [2, 3, 4]) expect(g.entry(VA, level) & 0x60n).toBe(0x20n);
    g.mmu.write32(lo, hi, 1);
    expect(g.entry(VA) & 0x60n).toBe(0x60n);
    expect(g.entry(VA, 2) & 0x40n).toBe(0n);
  });

  it("does not set A or D when the access faults", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096, { writable: false });
    const [lo, hi] = split(VA);
    faultOf(() => g.mmu.write32(lo, hi, 1));
    expect(g.entry(VA) & 0x60n).toBe(0n);
  });
});

describe("canonical addresses", () => {
  it("raises #GP(0) for data and #SS(0) for stack accesses", () => {
    const g = new Guest();
    const [lo, hi] = split(0x0000_8000_0000_0000n);
    let f = faultOf(() => g.mmu.read32(lo, hi));
    expect([f.vector, f.errorCode]).toEqual([VECTOR_GP, 0]);
    f = faultOf(() => g.mmu.writeStack64(lo, hi, 0, 0));
    expect([f.vector, f.errorCode]).toEqual([VECTOR_SS, 0]);
    f = faultOf(() => g.mmu.readStack64(lo, hi));
    expect(f.vector).toBe(VECTOR_SS);
    f = faultOf(() => g.mmu.fetchBytes(lo, hi, new Uint8Array(4), 0, 4));
    expect(f.vector).toBe(VECTOR_GP);
  });

  it("checks the last byte too: an access running off the lower half is #GP", () => {
    const g = new Guest();
    g.map(0x7fff_ffff_f000n, GPA, 4096);
    const [lo, hi] = split(0x7fff_ffff_fffcn);
    expect(g.mmu.read32(lo, hi)).toBe(0);
    expect(faultOf(() => g.mmu.read64(lo, hi)).vector).toBe(VECTOR_GP);
  });

  it("uses 57-bit canonicality with LA57", () => {
    const g = new Guest({ la57: true });
    const va = 0x0000_8000_0000_0000n;
    g.map(va, GPA, 4096);
    const [lo, hi] = split(va);
    g.mmu.write32(lo, hi, 42);
    expect(g.memory.read32(GPA)).toBe(42);
    const [lo2, hi2] = split(0x0100_0000_0000_0000n);
    expect(faultOf(() => g.mmu.read32(lo2, hi2)).vector).toBe(VECTOR_GP);
  });
});

describe("paging modes", () => {
  it("uses linear = physical with CR0.PG = 0", () => {
    const memory = new Guest().memory;
    const mmu = new Mmu({ map: new FlatGuestPhysicalMap(memory) });
    mmu.write32(0x1000, 0, 0xdeadbeef | 0);
    expect(memory.read32(0x1000)).toBe(0xdeadbeef);
    expect(mmu.read16(0x1002, 0)).toBe(0xdead);
    expect(mmu.codeGpa(0xffff_fff0 | 0, 0)).toBe(0xffff_fff0);
  });

  it("wraps a 32-bit access at 4 GiB without paging", () => {
    const memory = new Guest().memory;
    const mmu = new Mmu({ map: new FlatGuestPhysicalMap(memory) });
    mmu.write32(0xffff_fffe | 0, 0, 0x44332211);
    expect(memory.read16(0xffff_fffe)).toBe(0x2211);
    expect(memory.read16(0)).toBe(0x4433);
  });

  it("rejects bad TLB sizes and CR3 values with a message naming them", () => {
    const map = new FlatGuestPhysicalMap(new Guest().memory);
    expect(() => new Mmu({ map, tlbSize: 100 })).toThrow(/TLB size 100/);
    expect(() => new Mmu({ map, tlbSize: 8192 })).toThrow(/TLB size 8192/);
    expect(() => new Mmu({ map }).writeCr3(2 ** 52)).toThrow(/cr3 0x10000000000000/);
    expect(() => new Mmu({ map }).setPrivilege(4, false)).toThrow(/CPL 4 is not 0..3/);
    expect(() => new Mmu({ map: {} as never })).toThrow(/not a GuestPhysicalMap/);
    expect(() => new Mmu({ map, maxPhysAddr: 60 })).toThrow(/maxPhysAddr 60/);
  });
});
