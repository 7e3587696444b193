// Legacy-mode paging (CR0.PG = 1 without EFER.LMA): 32-bit paging with 4 KiB and 4 MiB (PSE,
// PSE-36) pages, PAE paging with PDPTE registers, 2 MiB pages and XD. Page tables are written
// by hand here, entry by entry, as a 32-bit kernel would.
import { SparseMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PAE,
  CR4_PGE,
  CR4_PSE,
  EFER_NXE,
  FlatGuestPhysicalMap,
  Mmu,
} from "../../src/mmu/index.js";
import { faultOf } from "./helpers.js";

const PD = 0x1000;
const PT = 0x2000;
const PDPT = 0x3020; // 32-byte aligned, not page aligned
const PAE_PD = 0x4000;
const PAE_PT = 0x5000;
const GPA = 0x80_0000;

function machine(cr4: number, efer = 0) {
  const memory = new SparseMemory(2 ** 32);
  const mmu = new Mmu({ map: new FlatGuestPhysicalMap(memory), tlbSize: 256 });
  const enable = () => {
    mmu.writeCr3(cr4 & CR4_PAE ? PDPT : PD);
    return mmu.setControlRegisters(CR0_PE | CR0_PG | CR0_WP, cr4, efer);
  };
  return { memory, mmu, enable };
}

describe("32-bit paging", () => {
  it("translates through a page directory and page table, setting A and D", () => {
    const { memory, mmu, enable } = machine(0);
    memory.write32(PD + 1 * 4, PT | 0x7); // VA 0x400000: PDE 1
    memory.write32(PT + 2 * 4, GPA | 0x3); // VA 0x402000
    expect(enable()).toBe(true);
    mmu.write32(0x40_2010, 0, 0x1234);
    expect(memory.read32(GPA + 0x10)).toBe(0x1234);
    expect(memory.read32(PD + 4) & 0x60).toBe(0x20);
    expect(memory.read32(PT + 8) & 0x60).toBe(0x60);
    expect(mmu.read32(0x40_2010, 0)).toBe(0x1234);
  });

  it("reports #PF error codes: not present, user on supervisor, write to read-only, SMEP fetch", () => {
    const { memory, mmu, enable } = machine(0);
    memory.write32(PD + 4, PT | 0x3); // supervisor table
    memory.write32(PT + 8, GPA | 0x1); // read-only
    enable();
    let f = faultOf(() => mmu.read8(0x80_0000, 0));
    expect([f.vector, f.errorCode, f.cr2]).toEqual([14, 0, 0x80_0000n]);
    f = faultOf(() => mmu.write8(0x40_2000, 0, 1));
    expect(f.errorCode).toBe(0x3);
    mmu.setPrivilege(3, false);
    expect(faultOf(() => mmu.read8(0x40_2000, 0)).errorCode).toBe(0x5);
    // No XD in 32-bit paging: a fetch not-present fault has I/D only with SMEP.
    expect(faultOf(() => mmu.codeGpa(0x90_0000, 0)).errorCode).toBe(0x4);
  });

  it("maps 4 MiB pages with CR4.PSE, including PSE-36 address bits, and ignores PS without it", () => {
    const { memory, mmu, enable } = machine(CR4_PSE);
    memory.write32(PD + 3 * 4, 0x00c0_0000 | (1 << 13) | 0x83); // VA 0xc00000 → 0x1_00c00000
    memory.write32(PD + 4 * 4, 0x0100_0000 | (1 << 21) | 0x83); // reserved bit 21
    enable();
    const f = faultOf(() => mmu.read32(0x00c1_2344, 0));
    expect(f.stop).toMatchObject({ reason: "mmio", gpa: 0x1_00c1_2344 }); // beyond the 4 GiB flat memory
    expect(faultOf(() => mmu.read32(0x0100_0000, 0)).errorCode).toBe(0x9);
    // Without CR4.PSE the same PDE points at a page table (at 0xc00000 + PSE bits as address bits).
    const legacy = machine(0);
    legacy.memory.write32(PD + 3 * 4, PT | 0x83);
    legacy.memory.write32(PT, GPA | 0x3);
    legacy.enable();
    legacy.memory.write32(GPA, 77);
    expect(legacy.mmu.read32(0x00c0_0000, 0)).toBe(77);
  });

  it("keeps global pages across CR3 writes with CR4.PGE", () => {
    const { memory, mmu, enable } = machine(CR4_PGE);
    memory.write32(PD + 4, PT | 0x3);
    memory.write32(PT + 8, GPA | 0x103); // G
    enable();
    memory.write32(GPA, 1);
    expect(mmu.read32(0x40_2000, 0)).toBe(1);
    memory.write32(PT + 8, 0);
    mmu.writeCr3(PD);
    expect(mmu.read32(0x40_2000, 0)).toBe(1);
    mmu.flushAll();
    expect(faultOf(() => mmu.read32(0x40_2000, 0)).errorCode).toBe(0);
  });
});

describe("PAE paging", () => {
  function paeTables(memory: SparseMemory) {
    memory.write32(PDPT, PAE_PD | 0x1); // PDPTE 0: VA 0..1 GiB
    memory.write32(PAE_PD + 2 * 8, PAE_PT | 0x7); // VA 0x400000
    memory.write32(PAE_PT + 3 * 8, GPA | 0x3); // VA 0x403000
    memory.write32(PAE_PT + 4 * 8, (GPA + 0x1000) | 0x3); // VA 0x404000, XD
    memory.write32(PAE_PT + 4 * 8 + 4, 0x8000_0000 | 0);
    memory.write32(PAE_PD + 3 * 8, 0x20_0000 | 0x83); // VA 0x600000: 2 MiB page at 2 MiB
  }

  it("translates 4 KiB and 2 MiB pages and enforces XD with EFER.NXE", () => {
    const { memory, mmu, enable } = machine(CR4_PAE, EFER_NXE);
    paeTables(memory);
    expect(enable()).toBe(true);
    mmu.write32(0x40_3008, 0, 5);
    expect(memory.read32(GPA + 8)).toBe(5);
    expect(memory.read32(PAE_PT + 3 * 8) & 0x60).toBe(0x60);
    expect(mmu.codeGpa(0x40_3000, 0)).toBe(GPA);
    expect(faultOf(() => mmu.codeGpa(0x40_4000, 0)).errorCode).toBe(0x11);
    expect(mmu.read32(0x40_4000, 0)).toBe(0);
    mmu.write32(0x61_2344, 0, 9);
    expect(memory.read32(0x21_2344)).toBe(9);
    // A PDPTE that is not present (VA bits 31:30 select PDPTE 1) faults at the access.
    expect(faultOf(() => mmu.read32(0x4000_0000, 0)).errorCode).toBe(0);
  });

  it("treats XD as reserved without NXE", () => {
    const { memory, mmu, enable } = machine(CR4_PAE);
    paeTables(memory);
    enable();
    expect(faultOf(() => mmu.read32(0x40_4000, 0)).errorCode).toBe(0x9);
  });

  it("caches the PDPTEs until the next CR3 load, and reports reserved PDPTE bits for #GP(0)", () => {
    const { memory, mmu, enable } = machine(CR4_PAE, EFER_NXE);
    paeTables(memory);
    enable();
    memory.write32(PDPT, 0); // not seen: PDPTEs are registers loaded by MOV CR3
    mmu.flushAll();
    expect(mmu.read32(0x40_3008, 0)).toBe(0);
    expect(mmu.writeCr3(PDPT)).toBe(true);
    expect(faultOf(() => mmu.read32(0x40_3008, 0)).errorCode).toBe(0);
    memory.write32(PDPT + 8, PAE_PD | 0x3); // present with R/W: reserved in a PDPTE
    expect(mmu.writeCr3(PDPT)).toBe(false);
    memory.write32(PDPT + 8, PAE_PD | 0x1);
    memory.write32(PDPT + 12, 0x8000_0000 | 0); // XD: reserved in a PDPTE
    expect(mmu.writeCr3(PDPT)).toBe(false);
    expect(mmu.setControlRegisters(CR0_PE, CR4_PAE, EFER_NXE)).toBe(true); // paging off: nothing loaded
    expect(mmu.setControlRegisters(CR0_PE | CR0_PG, CR4_PAE, EFER_NXE)).toBe(false);
  });
});
