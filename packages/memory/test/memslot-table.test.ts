import { describe, expect, it } from "vitest";
import {
  ErrnoError,
  GuestMemfd,
  HostPhysicalMemory,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_READONLY,
  KVM_USER_MEM_SLOTS,
  MemslotTable,
  type MemslotTableOptions,
  SparseMemory,
  type UserspaceMemoryRegion2,
} from "../src/index.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function errnoOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ErrnoError) return e.message;
    throw e;
  }
  throw new Error("no error thrown");
}

function region(r: Partial<UserspaceMemoryRegion2>): UserspaceMemoryRegion2 {
  return { slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 2 * MiB, userspaceAddr: 0x10000000, ...r };
}

/** The table's observable state, to show a refused call changed nothing. */
function snapshot(t: MemslotTable): string {
  return JSON.stringify({
    g: t.generation,
    s: [0, 1].map((as) =>
      as < t.addressSpaces
        ? t.slots(as).map((s) => [s.slot, s.flags, s.guestPhysAddr, s.memorySize, s.userspaceAddr])
        : [],
    ),
  });
}

function expectRefused(t: MemslotTable, r: UserspaceMemoryRegion2, message: RegExp): void {
  const before = snapshot(t);
  expect(errnoOf(() => t.setUserMemoryRegion(r))).toMatch(message);
  expect(snapshot(t)).toBe(before);
}

describe("KVM_SET_USER_MEMORY_REGION2: create and look up", () => {
  it("creates slots and finds the slot of a GPA, with the host address inside user memory", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(
      region({ slot: 0, guestPhysAddr: 0, memorySize: 2 * MiB, userspaceAddr: 0x1000_0000 }),
    );
    t.setUserMemoryRegion(
      region({ slot: 3, guestPhysAddr: 4 * GiB, memorySize: GiB, userspaceAddr: 0x4000_0000 }),
    );
    const s = t.find(4 * GiB + 0x1234)!;
    expect(s.slot).toBe(3);
    expect(s.hostAddress(4 * GiB + 0x1234)).toBe(0x4000_1234);
    expect(t.find(2 * MiB)).toBeUndefined();
    expect(t.find(0x1fffff)!.id).toBe(0);
    expect(t.find(5 * GiB)).toBeUndefined();
    expect(t.slots().map((x) => x.id)).toEqual([0, 3]);
    expect(t.get(3)).toBe(s);
  });

  it("writes through the slot land in the user memory the VMM handed in", () => {
    const user = new SparseMemory(2 ** 40);
    const t = new MemslotTable({ userMemory: user });
    t.setUserMemoryRegion(region({ guestPhysAddr: 0x10_0000, userspaceAddr: 0x7000_0000 }));
    user.write32(0x7000_0010, 0xcafe);
    expect(t.readGuest(0x10_0010, 4)).toEqual(new Uint8Array([0xfe, 0xca, 0, 0]));
    t.writeGuest(0x10_0ffe, new Uint8Array([1, 2, 3, 4]));
    expect(user.read32(0x7000_0ffe)).toBe(0x04030201);
  });

  it("a region can bring its own user buffer instead of the table's user memory", () => {
    const t = new MemslotTable();
    const buffer = new SparseMemory(4 * MiB);
    t.setUserMemoryRegion(region({ slot: 1, userspaceAddr: 0, userMemory: buffer }));
    t.writeGuest(0x20, new Uint8Array([9]));
    expect(buffer.read8(0x20)).toBe(9);
    expect(t.userMemory.read8(0x20)).toBe(0);
    expectRefused(
      t,
      region({ slot: 2, guestPhysAddr: 8 * MiB, userspaceAddr: 4 * MiB, userMemory: buffer }),
      /EINVAL: userspace_addr 0x400000 \+ memory_size 0x200000 is outside user memory/,
    );
    expectRefused(t, region({ slot: 1, userspaceAddr: 0 }), /EINVAL: slot 1: userspace_addr cannot change/);
  });

  it("readGuest/writeGuest give EFAULT outside every slot and for writes to read-only slots", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ flags: KVM_MEM_READONLY }));
    expect(errnoOf(() => t.readGuest(2 * MiB - 2, 4))).toMatch(/EFAULT: gpa 0x200000 is not in any memslot/);
    expect(errnoOf(() => t.writeGuest(0, new Uint8Array(1)))).toMatch(
      /EFAULT: gpa 0x0 is in read-only slot 0/,
    );
    expect(t.find(0)!.readonly).toBe(true);
  });

  it("slots of another address space are separate (slot = as_id << 16 | id)", () => {
    const t = new MemslotTable({ addressSpaces: 2 });
    t.setUserMemoryRegion(region({ slot: 0 }));
    t.setUserMemoryRegion(region({ slot: (1 << 16) | 0, userspaceAddr: 0x2000_0000 }));
    expect(t.find(0, 1)!.slot).toBe(0x10000);
    expect(t.find(0, 1)!.asId).toBe(1);
    expect(t.find(0, 0)!.asId).toBe(0);
  });

  it("finds the right slot among many (binary search) and after changes", () => {
    const t = new MemslotTable();
    for (let i = 0; i < 100; i++) {
      t.setUserMemoryRegion(
        region({ slot: i, guestPhysAddr: i * 4 * MiB, memorySize: 2 * MiB, userspaceAddr: i * 2 * MiB }),
      );
    }
    for (let i = 99; i >= 0; i--) {
      expect(t.find(i * 4 * MiB + MiB)!.id).toBe(i);
      expect(t.find(i * 4 * MiB + 3 * MiB)).toBeUndefined();
    }
    t.setUserMemoryRegion(region({ slot: 50, memorySize: 0 }));
    expect(t.find(200 * MiB)).toBeUndefined();
    expect(t.find(204 * MiB)!.id).toBe(51);
  });
});

describe("validation (errnos as __kvm_set_memory_region)", () => {
  it.each<[string, Partial<UserspaceMemoryRegion2>, RegExp]>([
    [
      "slot id past KVM_USER_MEM_SLOTS",
      { slot: KVM_USER_MEM_SLOTS },
      /EINVAL: slot id 32764 is not below KVM_USER_MEM_SLOTS/,
    ],
    ["address space that does not exist", { slot: 1 << 16 }, /EINVAL: address space 1 .* is not below 1/],
    ["unknown flag", { flags: 1 << 3 }, /EINVAL: flags 0x8 has bits outside the valid 0x3/],
    [
      "GUEST_MEMFD on a VM without private memory",
      { flags: KVM_MEM_GUEST_MEMFD },
      /EINVAL: flags 0x4 has bits outside/,
    ],
    ["unaligned memory_size", { memorySize: MiB + 1 }, /EINVAL: memory_size 0x100001 is not page aligned/],
    [
      "unaligned guest_phys_addr",
      { guestPhysAddr: 0x800 },
      /EINVAL: guest_phys_addr 0x800 is not page aligned/,
    ],
    [
      "unaligned userspace_addr",
      { userspaceAddr: 0x10000010 },
      /EINVAL: userspace_addr 0x10000010 is not page aligned/,
    ],
    [
      "userspace range outside user memory",
      { userspaceAddr: 2 ** 47 - 4096 },
      /EINVAL: userspace_addr .* is outside user memory/,
    ],
    [
      "GPA range that wraps",
      { guestPhysAddr: 2n ** 64n - 4096n, memorySize: 8192 },
      /EINVAL: guest_phys_addr .* wraps/,
    ],
    [
      "more than KVM_MEM_MAX_NR_PAGES",
      { memorySize: (KVM_MEM_MAX_NR_PAGES + 1) * 4096, userspaceAddr: 0 },
      /EINVAL: memory_size 0x80000000000 is more than KVM_MEM_MAX_NR_PAGES/,
    ],
    [
      "GPA beyond the MMU's max gfn",
      { guestPhysAddr: 2 ** 52 },
      /EINVAL: slot 0 ends at gfn 0x100000001ff, beyond the MMU's max gfn 0xffffffffff/,
    ],
    ["negative number", { guestPhysAddr: -4096 }, /EINVAL: guest_phys_addr -4096 is not a u64/],
    [
      "deleting a slot that does not exist",
      { slot: 7, memorySize: 0 },
      /EINVAL: slot 7 does not exist, nothing to delete/,
    ],
  ])("%s", (_what, r, message) => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ slot: 9, guestPhysAddr: 64 * MiB, userspaceAddr: 0x5000_0000 }));
    expectRefused(t, region(r), message);
  });

  it("a GPA past the host's MAXPHYADDR and a slot reaching the TDX shared bit are refused", () => {
    const t = new MemslotTable({ maxGpaBits: 46, sharedGpaBit: 45 });
    expectRefused(
      t,
      region({ guestPhysAddr: 2 ** 46 - MiB }),
      /EINVAL: .*beyond the MMU's max gfn 0x3ffffffff/,
    );
    expectRefused(
      t,
      region({ guestPhysAddr: 2 ** 45 - MiB }),
      /EINVAL: slot 0 reaches into the shared-bit alias/,
    );
    t.setUserMemoryRegion(region({ guestPhysAddr: 2 ** 45 - 2 * MiB }));
  });

  it("READONLY is refused where the VM has no read-only memory (TDX)", () => {
    const t = new MemslotTable({ readonlyMem: false, privateMem: true });
    expectRefused(t, region({ flags: KVM_MEM_READONLY }), /EINVAL: flags 0x2 has bits outside the valid 0x5/);
  });

  it("EEXIST when a new slot overlaps another one", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0, memorySize: 2 * MiB }));
    expectRefused(
      t,
      region({ slot: 1, guestPhysAddr: MiB, memorySize: 2 * MiB }),
      /EEXIST: slot 1 \[0x100000, 0x300000\) overlaps slot 0 \[0x0, 0x200000\)/,
    );
    t.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 2 * MiB, memorySize: 2 * MiB }));
  });

  it("user memory may be shared between slots (aliases are the VMM's business)", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0 }));
    t.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 4 * MiB }));
    t.writeGuest(0x10, new Uint8Array([7]));
    expect(t.readGuest(4 * MiB + 0x10, 1)[0]).toBe(7);
  });
});

describe("modifying and deleting slots", () => {
  it("moves a slot (same size and userspace_addr), refusing a move onto another slot", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: 0 }));
    t.setUserMemoryRegion(region({ slot: 1, guestPhysAddr: 8 * MiB, userspaceAddr: 0x2000_0000 }));
    t.setUserMemoryRegion(region({ slot: 0, guestPhysAddr: MiB }));
    expect(t.find(0)).toBeUndefined();
    expect(t.find(MiB)!.id).toBe(0);
    expectRefused(t, region({ slot: 0, guestPhysAddr: 7 * MiB }), /EEXIST: slot 0 .* overlaps slot 1/);
  });

  it.each<[string, Partial<UserspaceMemoryRegion2>, RegExp]>([
    ["size", { memorySize: 4 * MiB }, /EINVAL: slot 0: memory_size cannot change \(0x200000\)/],
    ["userspace_addr", { userspaceAddr: 0x2000_0000 }, /EINVAL: slot 0: userspace_addr cannot change/],
    ["READONLY", { flags: KVM_MEM_READONLY }, /EINVAL: slot 0: KVM_MEM_READONLY cannot be toggled/],
  ])("refuses changing %s of an existing slot", (_what, r, message) => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({}));
    expectRefused(t, region(r), message);
  });

  it("an identical request is a no-op; a flags-only change makes a new slot object", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({}));
    const first = t.find(0)!;
    const g = t.generation;
    t.setUserMemoryRegion(region({}));
    expect(t.generation).toBe(g);
    t.setUserMemoryRegion(region({ flags: KVM_MEM_LOG_DIRTY_PAGES }));
    expect(t.generation).toBe(g + 1);
    expect(t.find(0)).not.toBe(first);
    expect(t.find(0)!.dirtyBitmap).toBeDefined();
  });

  it("deletes with memory_size 0; the id can be reused", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ slot: 4 }));
    t.setUserMemoryRegion(region({ slot: 4, memorySize: 0 }));
    expect(t.find(0)).toBeUndefined();
    expect(t.get(4)).toBeUndefined();
    t.setUserMemoryRegion(region({ slot: 4, guestPhysAddr: 16 * MiB }));
    expect(t.find(16 * MiB)!.id).toBe(4);
  });
});

describe("dirty logging", () => {
  it("records written pages, and KVM_GET_DIRTY_LOG returns and clears them", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(
      region({ slot: 2, flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: GiB, memorySize: 65 * 4096 }),
    );
    const s = t.find(GiB)!;
    expect(s.dirtyBitmap!.length).toBe(16); // 65 pages round up to two longs
    t.writeGuest(GiB + 3 * 4096 + 5, new Uint8Array([1]));
    s.markDirty(GiB + 64 * 4096);
    t.writeGuest(GiB + 4096 - 1, new Uint8Array([1, 2])); // pages 0 and 1
    const g = t.generation;
    const log = t.getDirtyLog(2);
    expect(t.generation).toBe(g + 1);
    expect([...log.subarray(0, 9)]).toEqual([0b1011, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(t.getDirtyLog(2).every((b) => b === 0)).toBe(true);
  });

  it("keeps the bitmap across a move; drops it when logging is turned off", () => {
    const t = new MemslotTable();
    t.setUserMemoryRegion(region({ flags: KVM_MEM_LOG_DIRTY_PAGES }));
    t.find(0)!.markDirty(0);
    t.setUserMemoryRegion(region({ flags: KVM_MEM_LOG_DIRTY_PAGES, guestPhysAddr: 8 * MiB }));
    expect(t.getDirtyLog(0)[0]).toBe(1);
    t.setUserMemoryRegion(region({ flags: 0, guestPhysAddr: 8 * MiB }));
    expect(errnoOf(() => t.getDirtyLog(0))).toMatch(/ENOENT: slot 0 does not log dirty pages/);
  });

  it("KVM_GET_DIRTY_LOG errors: EINVAL for a bad slot number, ENOENT for a missing slot", () => {
    const t = new MemslotTable();
    expect(errnoOf(() => t.getDirtyLog(KVM_USER_MEM_SLOTS))).toMatch(
      /EINVAL: slot 0x7ffc is not a valid user slot/,
    );
    expect(errnoOf(() => t.getDirtyLog(1 << 16))).toMatch(/EINVAL/);
    expect(errnoOf(() => t.getDirtyLog(3))).toMatch(/ENOENT: slot 3 does not exist/);
  });
});

describe("guest_memfd slots", () => {
  function privateVm(extra: MemslotTableOptions = {}) {
    const host = new HostPhysicalMemory(256 * MiB);
    const vm = {};
    const t = new MemslotTable({ privateMem: true, readonlyMem: false, vm, ...extra });
    const gmem = GuestMemfd.create(host, vm, { size: 8 * MiB });
    return { host, vm, t, gmem };
  }
  const gmemRegion = (gmem: GuestMemfd, r: Partial<UserspaceMemoryRegion2> = {}) =>
    region({ flags: KVM_MEM_GUEST_MEMFD, guestMemfd: gmem, guestMemfdOffset: 0, ...r });

  it("binds the guest_memfd range; private pages of the slot come from it", () => {
    const { t, gmem } = privateVm();
    t.setUserMemoryRegion(gmemRegion(gmem, { guestPhysAddr: GiB, guestMemfdOffset: 2 * MiB }));
    const s = t.find(GiB + 0x5000)!;
    const hpa = s.privatePfn(GiB + 0x5000);
    expect(errnoOf(() => s.privatePfn(GiB + 2 * MiB))).toMatch(/EFAULT: gpa 0x40200000 is outside memslot 0/);
    expect(gmem.peekPfn(512 + 5)).toBe(hpa);
    expect(gmem.bindingOf(512)).toBe(s);
  });

  it.each<[string, Partial<UserspaceMemoryRegion2>, RegExp]>([
    [
      "an unaligned offset",
      { guestMemfdOffset: 0x800 },
      /EINVAL: guest_memfd_offset 0x800 is not page aligned/,
    ],
    [
      "an offset beyond the file",
      { guestMemfdOffset: 7 * MiB },
      /EINVAL: guest_memfd_offset 0x700000 \+ memory_size 0x200000 is past the guest_memfd size 0x800000/,
    ],
    ["an offset that wraps", { guestMemfdOffset: 2n ** 64n - 4096n }, /EINVAL: guest_memfd_offset .* wraps/],
    [
      "LOG_DIRTY_PAGES",
      { flags: KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES },
      /EINVAL: flags 0x5 has bits outside the valid 0x4/,
    ],
    ["READONLY", { flags: KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY }, /EINVAL: flags 0x6/],
    ["no guest_memfd object", { guestMemfd: undefined }, /EINVAL: guest_memfd is not a guest_memfd file/],
  ])("refuses %s", (_what, r, message) => {
    const { t, gmem } = privateVm();
    expectRefused(t, gmemRegion(gmem, r), message);
    expect(gmem.bindingOf(0)).toBeUndefined();
  });

  it("refuses a guest_memfd of another VM and a file range bound to another slot", () => {
    const { t, gmem, host } = privateVm();
    const foreign = GuestMemfd.create(host, {}, { size: 8 * MiB });
    expectRefused(t, gmemRegion(foreign), /EINVAL: guest_memfd belongs to another VM/);
    t.setUserMemoryRegion(gmemRegion(gmem, { slot: 0, guestPhysAddr: 0 }));
    expectRefused(
      t,
      gmemRegion(gmem, { slot: 1, guestPhysAddr: 16 * MiB, guestMemfdOffset: MiB }),
      /EINVAL: guest_memfd range 0x100000\+0x200000 is already bound to another memslot/,
    );
  });

  it("a guest_memfd slot cannot be moved or changed, only deleted (which unbinds the file)", () => {
    const { t, gmem } = privateVm();
    t.setUserMemoryRegion(gmemRegion(gmem));
    expectRefused(
      t,
      gmemRegion(gmem, { guestPhysAddr: 16 * MiB }),
      /EINVAL: slot 0: a guest_memfd slot cannot be modified/,
    );
    expectRefused(t, region({}), /EINVAL: slot 0 is a guest_memfd slot: it cannot be modified/);
    t.setUserMemoryRegion(region({ memorySize: 0 }));
    expect(gmem.bindingOf(0)).toBeUndefined();
    t.setUserMemoryRegion(gmemRegion(gmem, { slot: 5, guestPhysAddr: 16 * MiB }));
  });

  it("a slot without guest_memfd has no private pages", () => {
    const { t } = privateVm();
    t.setUserMemoryRegion(region({}));
    expect(errnoOf(() => t.find(0)!.privatePfn(0))).toMatch(/EFAULT: memslot 0 has no guest_memfd/);
  });
});
