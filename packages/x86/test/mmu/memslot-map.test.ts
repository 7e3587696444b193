// A normal VM's second stage through memslots: user memory backing, MMIO outside slots,
// KVM_MEM_READONLY (reads from memory, writes are MMIO), dirty logging, memslot changes, and the
// MMIO completion protocol (the instruction is re-executed and replays completed accesses).
import {
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  linearPageAllocator,
  MemslotTable,
  PageTableBuilder,
  type PteMemory,
  SparseMemory,
} from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  MemslotGuestPhysicalMap,
  Mmu,
} from "../../src/mmu/index.js";
import { faultOf } from "./helpers.js";

const UADDR = 0x7f00_0000_0000;

function vm() {
  const user = new SparseMemory(2 ** 47);
  const table = new MemslotTable({ userMemory: user });
  table.setUserMemoryRegion({
    slot: 0,
    flags: 0,
    guestPhysAddr: 0,
    memorySize: 0x10_0000,
    userspaceAddr: UADDR,
  });
  const mmu = new Mmu({ map: new MemslotGuestPhysicalMap(table) }); // paging off: linear = GPA
  return { user, table, mmu };
}

describe("MemslotGuestPhysicalMap", () => {
  it("reaches guest memory through the slot's userspace address", () => {
    const { user, mmu } = vm();
    mmu.write32(0x2000, 0, 0x12345678);
    expect(user.read32(UADDR + 0x2000)).toBe(0x12345678);
    user.write32(UADDR + 0x3000, 77);
    expect(mmu.read32(0x3000, 0)).toBe(77);
  });

  it("turns accesses outside every slot into MMIO stops with gpa, size and data", () => {
    const { mmu } = vm();
    let f = faultOf(() => mmu.write32(0xfee0_0300 | 0, 0, 0x4041));
    expect(f.isStop).toBe(true);
    expect(f.stop).toEqual({
      reason: "mmio",
      gpa: 0xfee0_0300,
      size: 4,
      isWrite: true,
      data: new Uint8Array([0x41, 0x40, 0, 0]),
    });
    f = faultOf(() => mmu.read16(0x20_0000, 0));
    expect(f.stop).toEqual({
      reason: "mmio",
      gpa: 0x20_0000,
      size: 2,
      isWrite: false,
      data: new Uint8Array(2),
    });
  });

  it("serves reads of a read-only slot from memory and turns writes into MMIO", () => {
    const { user, table, mmu } = vm();
    table.setUserMemoryRegion({
      slot: 1,
      flags: KVM_MEM_READONLY,
      guestPhysAddr: 0xffff_0000,
      memorySize: 0x1_0000,
      userspaceAddr: UADDR + 0x100_0000,
    });
    user.write32(UADDR + 0x100_0000 + 0xfff0, 0xea);
    mmu.syncSecondStage();
    expect(mmu.read32(0xffff_fff0 | 0, 0)).toBe(0xea);
    const f = faultOf(() => mmu.write8(0xffff_fff0 | 0, 0, 1));
    expect(f.stop).toMatchObject({ reason: "mmio", gpa: 0xffff_fff0, size: 1, isWrite: true });
    expect(user.read32(UADDR + 0x100_0000 + 0xfff0)).toBe(0xea);
    // Code runs from read-only memory (firmware at the reset vector).
    const out = new Uint8Array(16);
    expect(mmu.fetchBytes(0xffff_fff0 | 0, 0, out, 0, 16)).toBe(16);
    expect(out[0]).toBe(0xea);
    expect(mmu.fetchGpa).toBe(0xffff_fff0);
  });

  it("marks written pages dirty, again after each KVM_GET_DIRTY_LOG", () => {
    const { table, mmu } = vm();
    table.setUserMemoryRegion({
      slot: 0,
      flags: KVM_MEM_LOG_DIRTY_PAGES,
      guestPhysAddr: 0,
      memorySize: 0x10_0000,
      userspaceAddr: UADDR,
    });
    mmu.syncSecondStage();
    mmu.read32(0x1000, 0); // reads do not dirty
    mmu.write32(0x3000, 0, 1);
    mmu.write32(0x3004, 0, 2);
    expect([...table.getDirtyLog(0).subarray(0, 2)]).toEqual([0b1000, 0]);
    mmu.syncSecondStage(); // run() entry
    mmu.write32(0x3008, 0, 3); // the same page, cached writable before the harvest
    mmu.write8(0x9000, 0, 3);
    expect([...table.getDirtyLog(0).subarray(0, 2)]).toEqual([0b1000, 0b10]);
  });

  it("sees a moved or deleted slot after syncSecondStage", () => {
    const { user, table, mmu } = vm();
    user.write32(UADDR + 0x10, 5);
    expect(mmu.read32(0x10, 0)).toBe(5);
    table.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: UADDR });
    mmu.syncSecondStage();
    expect(faultOf(() => mmu.read32(0x10, 0)).stop?.reason).toBe("mmio");
  });

  it("walks page tables in the new backing after the slot is re-created elsewhere", () => {
    const { user, table, mmu } = vm();
    const at = (uaddr: number): PteMemory => ({
      read64(gpa, out) {
        out[0] = user.read32(uaddr + gpa);
        out[1] = user.read32(uaddr + gpa + 4);
      },
      write64(gpa, lo, hi) {
        user.write32(uaddr + gpa, lo);
        user.write32(uaddr + gpa + 4, hi);
      },
    });
    const b = new PageTableBuilder({
      levels: 4,
      memory: at(UADDR),
      allocTable: linearPageAllocator(0x1_0000, 0x2_0000),
    });
    b.map(0x4000_0000, 0x8_0000, 0x1000, { maxPageSize: 4096 });
    user.write32(UADDR + 0x8_0000, 0xaaa);
    user.write32(UADDR + 0x9_0000, 0xbbb);
    mmu.writeCr3(b.root);
    mmu.setControlRegisters(CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA);
    expect(mmu.read32(0x4000_0000, 0)).toBe(0xaaa);
    // A second copy of the guest's memory whose leaf PTE points at 0x90000 instead.
    const UADDR2 = UADDR + 0x1000_0000;
    user.writeBytes(UADDR2, user.readBytes(UADDR, 0x10_0000));
    const leaf = b.root + 0x3000; // root, PDPT, PD, PT allocated in order
    user.write32(UADDR2 + leaf, (user.read32(UADDR2 + leaf) & 0xfff) | 0x9_0000);
    table.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: UADDR });
    table.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guestPhysAddr: 0,
      memorySize: 0x10_0000,
      userspaceAddr: UADDR2,
    });
    mmu.syncSecondStage();
    expect(mmu.read32(0x4000_0000, 0)).toBe(0xbbb);
  });

  it("rejects an address space the table does not have", () => {
    expect(() => new MemslotGuestPhysicalMap(new MemslotTable(), 1)).toThrow(/address space 1/);
  });
});

describe("MMIO completion and replay", () => {
  it("re-executes a read with the host's data", () => {
    const { mmu } = vm();
    const f = faultOf(() => mmu.read32(0xfec0_0000 | 0, 0));
    expect(f.stop).toMatchObject({ reason: "mmio", size: 4, isWrite: false });
    mmu.completeMmioRead(new Uint8Array([1, 2, 3, 4]));
    expect(mmu.mmioReplayActive).toBe(true);
    expect(mmu.read32(0xfec0_0000 | 0, 0)).toBe(0x04030201);
    mmu.endMmioReplay();
    expect(faultOf(() => mmu.read32(0xfec0_0000 | 0, 0)).stop?.reason).toBe("mmio");
  });

  it("does not repeat a delivered write when the instruction is re-executed", () => {
    const { mmu } = vm();
    faultOf(() => mmu.write32(0xfec0_0000 | 0, 0, 9));
    mmu.write32(0xfec0_0000 | 0, 0, 9); // re-execution: completes without a stop
    mmu.endMmioReplay();
    expect(faultOf(() => mmu.write32(0xfec0_0000 | 0, 0, 9)).stop?.reason).toBe("mmio");
  });

  it("replays several accesses of one instruction in order (MMIO-to-MMIO move)", () => {
    const { mmu } = vm();
    const movs = () => mmu.write32(0xfec0_1000 | 0, 0, mmu.read32(0xfec0_0000 | 0, 0));
    expect(faultOf(movs).stop).toMatchObject({ gpa: 0xfec0_0000, isWrite: false });
    mmu.completeMmioRead(new Uint8Array([0xaa, 0, 0, 0]));
    expect(faultOf(movs).stop).toMatchObject({
      gpa: 0xfec0_1000,
      isWrite: true,
      data: new Uint8Array([0xaa, 0, 0, 0]),
    });
    movs();
    mmu.endMmioReplay();
  });

  it("splits a page-crossing access between memory and MMIO", () => {
    const { user, mmu } = vm();
    const f = faultOf(() => mmu.write32(0xffffe, 0, 0x44332211));
    expect(f.stop).toMatchObject({
      gpa: 0x10_0000,
      size: 2,
      isWrite: true,
      data: new Uint8Array([0x33, 0x44]),
    });
    expect(user.read16(UADDR + 0xffffe)).toBe(0x2211);
  });

  it("refuses a completion that does not fit", () => {
    const { mmu } = vm();
    expect(() => mmu.completeMmioRead(new Uint8Array(4))).toThrow(/no MMIO read is waiting/);
    faultOf(() => mmu.read16(0x20_0000, 0));
    expect(() => mmu.completeMmioRead(new Uint8Array(4))).toThrow(/2 bytes completed with 4/);
  });
});
