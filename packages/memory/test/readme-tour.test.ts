// The README's API tour, run as written (so it cannot rot).
import { expect, it } from "vitest";
import * as m from "../src/index.js";

it("the README API tour runs", () => {
  const host = new m.HostPhysicalMemory(2 ** 34),
    vm = {},
    ram = new m.SparseMemory(2 ** 34);
  const slots = new m.MemslotTable({ vm, privateMem: true, readonlyMem: false, sharedGpaBit: 51 });
  const gmem = m.GuestMemfd.create(host, vm, { size: 2 ** 30 });
  slots.setUserMemoryRegion({
    slot: 0,
    flags: m.KVM_MEM_GUEST_MEMFD,
    guestPhysAddr: 0,
    memorySize: 2 ** 30,
    userspaceAddr: 0x7f00_0000_0000,
    guestMemfd: gmem,
    guestMemfdOffset: 0,
  });
  const s = slots.find(0x1234)!;
  expect(s.hostAddress(0x1234)).toBe(0x7f00_0000_1234);
  expect(s.privatePfn(0x1234)).toBe(gmem.peekPfn(1));
  new m.MemoryAttributes().set({ address: 0, size: 2 ** 30, attributes: m.KVM_MEMORY_ATTRIBUTE_PRIVATE });
  const pte = m.sparsePteMemory(ram);
  const allocTable = m.linearPageAllocator(0x100000, 0x200000);
  const b = new m.PageTableBuilder({ levels: 4, memory: pte, allocTable });
  b.map(0, 0, 2 ** 32);
  const w = new m.PageWalker(pte, {
    levels: 4,
    cr3: b.root,
    wp: true,
    nxe: true,
    smep: false,
    smap: false,
    maxPhysAddr: 52,
  });
  expect(w.translate(0x1234, 0, m.ACCESS_WRITE) === m.WALK_FAULT ? w.errorCode : w.gpa).toBe(0x1234);
  gmem.fallocate(m.FALLOC_FL_PUNCH_HOLE | m.FALLOC_FL_KEEP_SIZE, 0, 2 ** 21);
  expect(gmem.allocatedPages).toBe(0);
});
