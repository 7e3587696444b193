// The memory ioctls through both faces: raw (struct bytes in user memory or a buffer, -1/errno
// out) and typed (KvmError with the ioctl and field).
import { Errno, HostPhysicalMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
  type GuestMemfdFile,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VM,
  KVM_GET_DIRTY_LOG,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_USER_MEM_SLOTS,
  KvmCap,
  KvmError,
  KvmMem,
  KvmProcess,
  kvmCreateGuestMemfd,
  kvmDirtyLog,
  kvmMemoryAttributes,
  kvmUserspaceMemoryRegion,
  kvmUserspaceMemoryRegion2,
  TASK_SIZE_MAX,
  type Vm,
  type ZapRange,
} from "../src/index.js";

const TDX = 5;
const MiB = 0x10_0000;
/** Where tests put ioctl argument structs in the VMM's user memory. */
const ARG = 0x20_0000;
/** The VMM's guest RAM buffer (what a real VMM mmaps). */
const RAM = 0x7f00_0000_0000;

function setup(type = TDX, options: ConstructorParameters<typeof KvmProcess>[0] = {}) {
  const p = new KvmProcess(options);
  const kvm = p.open("/dev/kvm");
  const fd = p.ioctl(kvm, KVM_CREATE_VM, type);
  const vm = p.file(fd) as Vm;
  const zaps: ZapRange[] = [];
  vm.memory.onZap((z) => zaps.push(z));
  /** ioctl with the struct placed in user memory and passed by pointer, like C code does. */
  const call = (request: number, bytes: Uint8Array) => {
    p.userMemory.writeBytes(ARG, bytes);
    return p.ioctl(fd, request, ARG);
  };
  const fails = (r: number, errno: number, field?: string) => {
    expect(r).toBe(-1);
    expect(p.errno, p.lastError?.message).toBe(errno);
    if (field !== undefined) expect(p.lastError?.field).toBe(field);
  };
  return { p, fd, vm, zaps, call, fails };
}

type Region2 = Parameters<typeof kvmUserspaceMemoryRegion2.encode>[0];
const region1 = (slot: number, flags: number, gpa: number, size: number, uaddr = RAM) =>
  kvmUserspaceMemoryRegion.encode({
    slot,
    flags,
    guest_phys_addr: BigInt(gpa),
    memory_size: BigInt(size),
    userspace_addr: BigInt(uaddr),
  });
const region2 = (r: Region2) => kvmUserspaceMemoryRegion2.encode(r);
const gmemRegion = (slot: number, gpa: number, size: number, fd: number, offset = 0) =>
  region2({
    slot,
    flags: KvmMem.GUEST_MEMFD,
    guest_phys_addr: BigInt(gpa),
    memory_size: BigInt(size),
    userspace_addr: BigInt(RAM + gpa),
    guest_memfd: fd,
    guest_memfd_offset: BigInt(offset),
  });
const createGmem = (size: number | bigint, flags = 0n) =>
  kvmCreateGuestMemfd.encode({ size: BigInt(size), flags });
const attrs = (address: number | bigint, size: number | bigint, attributes: bigint, flags = 0n) =>
  kvmMemoryAttributes.encode({ address: BigInt(address), size: BigInt(size), attributes, flags });

describe("KVM_SET_USER_MEMORY_REGION / REGION2 (raw)", () => {
  it("maps guest RAM onto the VMM's own buffer: writes through user memory are guest-visible", () => {
    const { p, vm, call } = setup(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, 2 * MiB))).toBe(0);
    p.userMemory.writeBytes(RAM + 0x1234, new Uint8Array([0xde, 0xad]));
    expect([...vm.memory.slots.readGuest(0x1234, 2)]).toEqual([0xde, 0xad]);
    vm.memory.slots.writeGuest(0x2000, new Uint8Array([7]));
    expect(p.userMemory.read8(RAM + 0x2000)).toBe(7);
    // the same through REGION2, and passing the struct as a buffer
    expect(
      p.ioctl(
        vm.fd,
        KVM_SET_USER_MEMORY_REGION2,
        region2({
          slot: 1,
          guest_phys_addr: 4n * BigInt(MiB),
          memory_size: BigInt(MiB),
          userspace_addr: BigInt(RAM + 4 * MiB),
        }),
      ),
    ).toBe(0);
    expect(vm.memory.slots.slots().map((s) => s.slot)).toEqual([0, 1]);
    // delete with size 0
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, 4 * MiB, 0))).toBe(0);
    expect(vm.memory.slots.get(1)).toBeUndefined();
  });

  it("refuses what the kernel refuses, with its errno", () => {
    const { p, fd, call, fails } = setup(0);
    fails(p.ioctl(fd, KVM_SET_USER_MEMORY_REGION, 0), Errno.EFAULT);
    fails(p.ioctl(fd, KVM_SET_USER_MEMORY_REGION2, new Uint8Array(32)), Errno.EFAULT);
    // v1 takes only LOG_DIRTY_PAGES | READONLY
    fails(
      call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.GUEST_MEMFD, 0, MiB)),
      Errno.EINVAL,
      "kvm_userspace_memory_region.flags",
    );
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 8, 0, MiB)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(KVM_USER_MEM_SLOTS, 0, 0, MiB)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0x800, MiB)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB + 1)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB, RAM + 1)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, 2 * 4096, TASK_SIZE_MAX - 4096)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(5, 0, 0, 0)), Errno.EINVAL); // delete a missing slot
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(2 << 16, 0, 0, MiB)), Errno.EINVAL); // no address space 2
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, 2 * MiB))).toBe(0);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, MiB, MiB)), Errno.EEXIST);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB)), Errno.EINVAL); // size is immutable
    // a normal VM has the SMM address space and read-only memory, but no guest_memfd
    expect(call(KVM_SET_USER_MEMORY_REGION, region1((1 << 16) | 0, KvmMem.READONLY, 0, MiB))).toBe(0);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(3, 8 * MiB, MiB, 3)), Errno.EINVAL);
  });

  it("a TD: private memory yes, read-only and the SMM address space no", () => {
    const { call, fails } = setup(TDX);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.READONLY, 0, MiB)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(1 << 16, 0, 0, MiB)), Errno.EINVAL);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.LOG_DIRTY_PAGES, 0, MiB))).toBe(0);
  });
});

describe("KVM_CREATE_GUEST_MEMFD and guest_memfd slots (raw)", () => {
  it("creates an fd over host memory, binds it to a slot and faults private pages from it", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const { p, vm, call } = setup(TDX, { physicalMemory: host });
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(4 * MiB));
    expect(gfd).toBeGreaterThan(vm.fd);
    expect(p.file(gfd)?.kind).toBe("kvm-gmem");
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, 2 * MiB, gfd, 2 * MiB))).toBe(0);
    const hpa = vm.memory.privatePfn(0x3000);
    expect(host.isAllocated(hpa)).toBe(true);
    expect(vm.memory.privatePfn(0x3000)).toBe(hpa);
    const gmem = (p.file(gfd) as GuestMemfdFile).gmem;
    expect(gmem.peekPfn(512 + 3)).toBe(hpa); // offset 2 MiB + gfn 3
  });

  it("checks the creation arguments (EINVAL, EFAULT, EMFILE)", () => {
    const { p, fd, call, fails } = setup(TDX, { maxFds: 5 });
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB, 1n)), Errno.EINVAL, "kvm_create_guest_memfd.flags");
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(0)), Errno.EINVAL, "kvm_create_guest_memfd.size");
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB + 512)), Errno.EINVAL, "kvm_create_guest_memfd.size");
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(1n << 63n)), Errno.EINVAL);
    fails(p.ioctl(fd, KVM_CREATE_GUEST_MEMFD, 8), Errno.EFAULT);
    // fds 3 (kvm) and 4 (vm) are taken: one more fits below maxFds 5? no — the table is full
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB)), Errno.EMFILE);
  });

  it("6.16 lets a normal VM create one, but not bind it", () => {
    const { call, fails } = setup(0);
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB));
    expect(gfd).toBeGreaterThan(0);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd)), Errno.EINVAL);
  });

  it("refuses bad bindings: EBADF, not a guest_memfd, another VM's, out of range, double, dirty-logged", () => {
    const { p, fd, call, fails } = setup(TDX);
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(2 * MiB));
    fails(
      call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, 99)),
      Errno.EBADF,
      "kvm_userspace_memory_region2.guest_memfd",
    );
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, fd)), Errno.EINVAL); // the VM fd
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, 0)), Errno.EINVAL); // stdin
    // the fd is looked up where kvm_gmem_bind runs: earlier checks win over EBADF
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0x800, MiB, 99)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(KVM_USER_MEM_SLOTS, 0, MiB, 99)), Errno.EINVAL);
    const other = p.ioctl(p.open("/dev/kvm"), KVM_CREATE_VM, TDX);
    const otherGfd = p.ioctl(other, KVM_CREATE_GUEST_MEMFD, createGmem(2 * MiB));
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, otherGfd)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, 2 * MiB, gfd, MiB)), Errno.EINVAL);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd, 0x800)), Errno.EINVAL);
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd))).toBe(0);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(1, 4 * MiB, MiB, gfd, MiB / 2)), Errno.EINVAL); // bound twice
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, MiB, MiB, gfd, MiB)), Errno.EINVAL); // immutable
    const logged = region2({
      slot: 2,
      flags: KvmMem.GUEST_MEMFD | KvmMem.LOG_DIRTY_PAGES,
      guest_phys_addr: 8n * BigInt(MiB),
      memory_size: BigInt(MiB),
      userspace_addr: BigInt(RAM),
      guest_memfd: gfd,
      guest_memfd_offset: BigInt(MiB),
    });
    fails(call(KVM_SET_USER_MEMORY_REGION2, logged), Errno.EINVAL);
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(1, 4 * MiB, MiB, gfd, MiB))).toBe(0);
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(2, 4 * MiB, MiB, 99)), Errno.EEXIST); // overlap first
    // a guest_memfd slot can be deleted (size 0), which frees its range for another binding
    expect(call(KVM_SET_USER_MEMORY_REGION2, region2({ slot: 0, memory_size: 0n }))).toBe(0);
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(3, 16 * MiB, MiB, gfd))).toBe(0);
  });

  it("after INIT_VM's shared bit is known, a new slot may not reach the shared alias", () => {
    const { vm, call, fails } = setup(TDX);
    const top = 2 ** 47;
    // before INIT_VM nothing forbids it
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, top - MiB, 2 * MiB, RAM))).toBe(0);
    vm.memory.setSharedGpaBit(47);
    fails(
      call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, top + 4 * MiB, MiB, RAM + 4 * MiB)),
      Errno.EINVAL,
      "kvm_userspace_memory_region2.guest_phys_addr",
    );
    // an existing slot is not re-checked on a flags change
    expect(
      call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.LOG_DIRTY_PAGES, top - MiB, 2 * MiB, RAM)),
    ).toBe(0);
    // overlap is reported first (EEXIST), as KVM orders its checks
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, top, MiB, RAM + 4 * MiB)), Errno.EEXIST);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, top - 4 * MiB, MiB, RAM + 4 * MiB))).toBe(0);
    expect(() => vm.memory.setSharedGpaBit(51)).toThrow(RangeError);
  });
});

describe("fallocate on a guest_memfd (raw)", () => {
  it("preallocates and punches holes; the punch zaps the bound slot's private mappings first", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const { p, vm, zaps, call } = setup(TDX, { physicalMemory: host });
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(4 * MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 8 * MiB, 2 * MiB, gfd, MiB))).toBe(0);
    const gmem = (p.file(gfd) as GuestMemfdFile).gmem;
    expect(p.fallocate(gfd, FALLOC_FL_KEEP_SIZE, 0, 2 * MiB)).toBe(0);
    expect(gmem.allocatedPages).toBe(512);
    const before = host.allocatedPages;
    expect(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, 0x2000)).toBe(0);
    expect(gmem.allocatedPages).toBe(510);
    expect(host.allocatedPages).toBe(before - 2);
    expect(zaps).toEqual([
      expect.objectContaining({
        startGpa: 8 * MiB,
        endGpa: 8 * MiB + 0x2000,
        filter: "private",
        cause: "punchHole",
      }),
    ]);
    expect(zaps[0].slot).toBe(vm.memory.slots.get(0));
    // punching past the end is a no-op
    expect(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * MiB, 4096)).toBe(0);
  });

  it("gives vfs_fallocate's and kvm_gmem_fallocate's errnos", () => {
    const { p, fd, call, fails } = setup(TDX);
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB));
    const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    fails(p.fallocate(gfd, PUNCH, -4096, 4096), Errno.EINVAL, "offset");
    fails(p.fallocate(gfd, PUNCH, 0, 0), Errno.EINVAL, "len");
    fails(p.fallocate(gfd, PUNCH, 0, -1n), Errno.EINVAL, "len");
    fails(p.fallocate(gfd, PUNCH, 0, 0xffff_ffff_ffff_f000n), Errno.EINVAL); // negative as loff_t
    fails(p.fallocate(gfd, 0x100, 0, 4096), Errno.EOPNOTSUPP);
    fails(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE, 0, 4096), Errno.EOPNOTSUPP); // without KEEP_SIZE
    fails(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | 1, 0, 4096), Errno.EOPNOTSUPP);
    fails(p.fallocate(gfd, 0, 0, 4096), Errno.EOPNOTSUPP); // guest_memfd needs KEEP_SIZE
    fails(p.fallocate(gfd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), Errno.EOPNOTSUPP);
    fails(p.fallocate(gfd, PUNCH, 0x800, 4096), Errno.EINVAL);
    fails(p.fallocate(gfd, PUNCH, 0, 0x800), Errno.EINVAL);
    fails(p.fallocate(gfd, FALLOC_FL_KEEP_SIZE, 0, 2 * MiB), Errno.EINVAL); // preallocate past the end
    fails(p.fallocate(gfd, PUNCH, 2n ** 62n, 2n ** 62n), Errno.EFBIG);
    // other KVM files are anon inodes: ENODEV; a closed fd: EBADF
    fails(p.fallocate(fd, PUNCH, 0, 4096), Errno.ENODEV);
    fails(p.fallocate(fd, PUNCH, -1, 4096), Errno.EINVAL);
    fails(p.fallocate(77, PUNCH, 0, 4096), Errno.EBADF);
    // guest_memfd has no ioctls and, in 6.16, no mmap
    fails(p.ioctl(gfd, KVM_CHECK_EXTENSION, 0), Errno.ENOTTY);
    expect(p.mmap(gfd, 4096)).toBeUndefined();
    expect(p.errno).toBe(Errno.ENODEV);
  });
});

describe("closing a guest_memfd", () => {
  it("zaps every binding, frees the pages and leaves the slots without private backing", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const { p, vm, zaps, call, fails } = setup(TDX, { physicalMemory: host });
    const baseline = host.allocatedPages;
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(2 * MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd))).toBe(0);
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(1, 4 * MiB, MiB, gfd, MiB))).toBe(0);
    vm.memory.privatePfn(0);
    vm.memory.privatePfn(4 * MiB + 0x5000);
    expect(host.allocatedPages).toBe(baseline + 2);
    expect(p.close(gfd)).toBe(0);
    expect(host.allocatedPages).toBe(baseline);
    expect(zaps.map((z) => [z.slot.slot, z.startGpa, z.endGpa, z.filter, z.cause])).toEqual([
      [0, 0, MiB, "private", "gmemRelease"],
      [1, 4 * MiB, 5 * MiB, "private", "gmemRelease"],
    ]);
    expect(() => vm.memory.privatePfn(0x1000)).toThrow(/closed/);
    expect(vm.memory.slots.get(0)).toBeDefined(); // the memslot itself stays until deleted
    fails(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(2, 8 * MiB, MiB, gfd)), Errno.EBADF);
    expect(call(KVM_SET_USER_MEMORY_REGION2, region2({ slot: 0, memory_size: 0n }))).toBe(0);
    fails(p.close(gfd), Errno.EBADF);
  });
});

describe("pages a TD KeyID still owns (no zap listener reclaimed them)", () => {
  it("a punch refuses with EBUSY and frees nothing; a close marks the TD dead (KVM_BUG_ON) and leaks the page", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const tdxModule = host.takePrivateKeyAccess();
    const { p, vm, call, fails } = setup(TDX, { physicalMemory: host });
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd))).toBe(0);
    const hpa = vm.memory.privatePfn(0x4000);
    tdxModule.initPage(hpa, 7); // what PAGE.AUG does with the TD's HKID
    fails(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB), Errno.EBUSY);
    expect(host.isAllocated(hpa)).toBe(true);
    expect(p.close(gfd)).toBe(0);
    expect(vm.td.state).toBe("dead");
    expect(host.isAllocated(hpa)).toBe(true);
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(1, 0, 4 * MiB, MiB)), Errno.EIO);
  });

  it("a zap listener that reclaims the pages lets the close free them", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const tdxModule = host.takePrivateKeyAccess();
    const { p, vm, call } = setup(TDX, { physicalMemory: host });
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, MiB, gfd))).toBe(0);
    const hpa = vm.memory.privatePfn(0x4000);
    tdxModule.initPage(hpa, 7);
    vm.memory.onZap((z) => {
      // stands in for BLOCK/TRACK/PAGE.REMOVE + reclaim of the zapped private range
      for (let gpa = z.startGpa; gpa < z.endGpa; gpa += 4096) {
        const pfn = z.slot.guestMemfd?.peekPfn(z.slot.gmemFirstIndex + (gpa - z.slot.guestPhysAddr) / 4096);
        if (pfn !== undefined && tdxModule.keyIdOf(pfn) !== 0) tdxModule.releasePage(pfn);
      }
    });
    expect(p.close(gfd)).toBe(0);
    expect(vm.td.state).toBe("uninitialized");
    expect(host.isAllocated(hpa)).toBe(false);
  });
});

describe("KVM_SET_MEMORY_ATTRIBUTES (raw)", () => {
  it("converts ranges of a TD and calls the zap hook for the mappings that become invalid", () => {
    const { vm, zaps, call } = setup(TDX);
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(4 * MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, 4 * MiB, gfd))).toBe(0);
    const P = 8n;
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 2 * MiB, P))).toBe(0);
    expect(vm.memory.attributes.isPrivate(0x1000)).toBe(true);
    expect(vm.memory.attributes.isPrivate(2 * MiB)).toBe(false);
    expect(zaps.map((z) => [z.startGpa, z.endGpa, z.filter, z.cause])).toEqual([
      [0, 2 * MiB, "shared", "attributes"],
    ]);
    // already private: nothing to zap (KVM returns early)
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, MiB, P))).toBe(0);
    expect(zaps).toHaveLength(1);
    // back to shared: private mappings go; only the part inside a memslot is reported
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(MiB, 8 * MiB, 0n))).toBe(0);
    expect(zaps[1]).toMatchObject({ startGpa: MiB, endGpa: 4 * MiB, filter: "private" });
    expect(vm.memory.attributes.classify(0, 2 * MiB)).toBe("mixed");
    // a range with no memslot is just recorded
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(2n ** 40n, 2n ** 30n, P))).toBe(0);
    expect(zaps).toHaveLength(2);
    expect(vm.memory.attributes.isPrivate(2 ** 40)).toBe(true);
  });

  it("checks flags, attributes, size and alignment (EINVAL) and the pointer (EFAULT)", () => {
    const { p, fd, call, fails } = setup(TDX);
    fails(
      call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 4096, 8n, 1n)),
      Errno.EINVAL,
      "kvm_memory_attributes.flags",
    );
    fails(
      call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 4096, 1n)),
      Errno.EINVAL,
      "kvm_memory_attributes.attributes",
    );
    fails(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 0, 8n)), Errno.EINVAL, "kvm_memory_attributes.size");
    fails(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(2n ** 64n - 4096n, 8192, 8n)), Errno.EINVAL);
    fails(
      call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0x800, 4096, 8n)),
      Errno.EINVAL,
      "kvm_memory_attributes.address",
    );
    fails(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 0x1800, 8n)), Errno.EINVAL, "kvm_memory_attributes.size");
    fails(p.ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES, 0x1000), Errno.EFAULT);
  });

  it("a normal VM supports no attribute: PRIVATE is EINVAL, 0 is accepted", () => {
    const { p, fd, vm, call, fails } = setup(0);
    expect(p.ioctl(fd, KVM_CHECK_EXTENSION, KvmCap.MEMORY_ATTRIBUTES)).toBe(0);
    fails(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 4096, 8n)), Errno.EINVAL);
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(0, 4096, 0n))).toBe(0);
    expect(vm.memory.attributes.supported).toBe(0);
    const td = setup(TDX);
    expect(td.p.ioctl(td.fd, KVM_CHECK_EXTENSION, KvmCap.MEMORY_ATTRIBUTES)).toBe(8);
    expect(td.vm.memory.attributes.supported).toBe(8);
  });
});

describe("a VMM's conversion sequence (QEMU kvm_convert_memory)", () => {
  it("to private: attributes; back to shared: attributes, then a hole punch that frees the private pages", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const { p, vm, zaps, call } = setup(TDX, { physicalMemory: host });
    const gfd = call(KVM_CREATE_GUEST_MEMFD, createGmem(2 * MiB));
    expect(call(KVM_SET_USER_MEMORY_REGION2, gmemRegion(0, 0, 2 * MiB, gfd))).toBe(0);
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(MiB, 0x4000, 8n))).toBe(0);
    const hpa = vm.memory.privatePfn(MiB + 0x1000); // the guest faults a private page in
    expect(call(KVM_SET_MEMORY_ATTRIBUTES, attrs(MiB, 0x4000, 0n))).toBe(0);
    expect(p.fallocate(gfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, 0x4000)).toBe(0);
    expect(host.isAllocated(hpa)).toBe(false);
    expect(zaps.map((z) => [z.cause, z.filter, z.startGpa, z.endGpa])).toEqual([
      ["attributes", "shared", MiB, MiB + 0x4000],
      ["attributes", "private", MiB, MiB + 0x4000],
      ["punchHole", "private", MiB, MiB + 0x4000],
    ]);
    // a later private access gets a fresh, zeroed page
    const again = vm.memory.privatePfn(MiB + 0x1000);
    expect(host.host.read32(again)).toBe(0);
  });
});

describe("KVM_GET_DIRTY_LOG (raw)", () => {
  it("copies the slot's bitmap to dirty_bitmap and clears it", () => {
    const { p, vm, call } = setup(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.LOG_DIRTY_PAGES, 0, 128 * 4096))).toBe(0);
    vm.memory.slots.writeGuest(3 * 4096, new Uint8Array([1]));
    vm.memory.slots.writeGuest(70 * 4096, new Uint8Array([1]));
    const BITMAP = 0x30_0000;
    p.userMemory.writeBytes(BITMAP, new Uint8Array(16).fill(0xff));
    expect(call(KVM_GET_DIRTY_LOG, kvmDirtyLog.encode({ slot: 0, dirty_bitmap: BigInt(BITMAP) }))).toBe(0);
    const bits = p.userMemory.readBytes(BITMAP, 16);
    expect(bits[0]).toBe(1 << 3);
    expect(bits[70 >> 3]).toBe(1 << (70 & 7));
    expect(bits.reduce((a, b) => a + b, 0)).toBe(8 + 64);
    expect(call(KVM_GET_DIRTY_LOG, kvmDirtyLog.encode({ slot: 0, dirty_bitmap: BigInt(BITMAP) }))).toBe(0);
    expect([...p.userMemory.readBytes(BITMAP, 16)].every((b) => b === 0)).toBe(true);
  });

  it("EINVAL for a bad slot number, ENOENT without a slot or dirty logging, EFAULT for the pointers", () => {
    const { p, fd, call, fails } = setup(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB))).toBe(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(1, KvmMem.LOG_DIRTY_PAGES, MiB, MiB, RAM + MiB))).toBe(0);
    const log = (slot: number, ptr = 0x30_0000n) => kvmDirtyLog.encode({ slot, dirty_bitmap: ptr });
    fails(call(KVM_GET_DIRTY_LOG, log(KVM_USER_MEM_SLOTS)), Errno.EINVAL);
    fails(call(KVM_GET_DIRTY_LOG, log(2 << 16)), Errno.EINVAL);
    fails(call(KVM_GET_DIRTY_LOG, log(5)), Errno.ENOENT);
    fails(call(KVM_GET_DIRTY_LOG, log(0)), Errno.ENOENT);
    fails(call(KVM_GET_DIRTY_LOG, log(1, 0n)), Errno.EFAULT, "kvm_dirty_log.dirty_bitmap");
    fails(p.ioctl(fd, KVM_GET_DIRTY_LOG, 0), Errno.EFAULT);
  });

  it("has the upstream request number", () => {
    expect(KVM_GET_DIRTY_LOG).toBe(0x4010ae42);
  });
});

describe("memslot changes", () => {
  it("deleting or moving a slot zaps all its mappings; a flags change does not", () => {
    const { zaps, call } = setup(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB))).toBe(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, KvmMem.LOG_DIRTY_PAGES, 0, MiB))).toBe(0);
    expect(zaps).toHaveLength(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 2 * MiB, MiB))).toBe(0);
    expect(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 2 * MiB, 0))).toBe(0);
    expect(zaps.map((z) => [z.startGpa, z.endGpa, z.filter, z.cause])).toEqual([
      [0, MiB, "all", "memslot"],
      [2 * MiB, 3 * MiB, "all", "memslot"],
    ]);
  });
});

describe("typed face", () => {
  it("does the same through Vm and GuestMemfdFile methods", () => {
    const host = new HostPhysicalMemory(2 ** 32);
    const p = new KvmProcess({ physicalMemory: host });
    const vm = p.openKvm().createVm(TDX);
    const gmem = vm.createGuestMemfd({ size: 4 * MiB });
    expect(p.file(gmem.fd)).toBe(gmem);
    expect(gmem.size).toBe(4 * MiB);
    vm.setUserMemoryRegion({
      slot: 0,
      flags: KvmMem.GUEST_MEMFD,
      guestPhysAddr: 0,
      memorySize: 2 * MiB,
      userspaceAddr: RAM,
      guestMemfd: gmem,
      guestMemfdOffset: 0,
    });
    vm.setUserMemoryRegion({
      slot: 1,
      flags: KvmMem.LOG_DIRTY_PAGES,
      guestPhysAddr: 4 * MiB,
      memorySize: MiB,
      userspaceAddr: RAM + 4 * MiB,
    });
    vm.setMemoryAttributes({ address: 0, size: 2 * MiB, attributes: 8n });
    expect(vm.memory.attributes.classify(0, 2 * MiB)).toBe("private");
    gmem.fallocate(FALLOC_FL_KEEP_SIZE, 0, 4096);
    expect(gmem.gmem.allocatedPages).toBe(1);
    vm.memory.slots.writeGuest(4 * MiB, new Uint8Array([1]));
    expect(vm.getDirtyLog(1)[0]).toBe(1);
    gmem.close();
    expect(gmem.released).toBe(true);
    expect(gmem.gmem.allocatedPages).toBe(0);
  });

  it("throws KvmError naming the ioctl and field", () => {
    const vm = new KvmProcess().openKvm().createVm(TDX);
    const expectError = (f: () => unknown, code: string, ioctl: string, field?: string) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(KvmError);
        expect((e as KvmError).code).toBe(code);
        expect((e as KvmError).ioctl).toBe(ioctl);
        if (field !== undefined) expect((e as KvmError).field).toBe(field);
      }
    };
    expectError(
      () => vm.createGuestMemfd({ size: 100 }),
      "EINVAL",
      "KVM_CREATE_GUEST_MEMFD",
      "kvm_create_guest_memfd.size",
    );
    expectError(
      () => vm.createGuestMemfd({ size: -1 }),
      "EINVAL",
      "KVM_CREATE_GUEST_MEMFD",
      "kvm_create_guest_memfd.size",
    );
    expectError(
      () =>
        vm.setUserMemoryRegion({
          slot: 0,
          flags: KvmMem.READONLY,
          guestPhysAddr: 0,
          memorySize: MiB,
          userspaceAddr: RAM,
        }),
      "EINVAL",
      "KVM_SET_USER_MEMORY_REGION2",
    );
    expectError(
      () =>
        vm.setUserMemoryRegion({
          slot: 0,
          flags: KvmMem.GUEST_MEMFD,
          guestPhysAddr: 0,
          memorySize: MiB,
          userspaceAddr: RAM,
          guestMemfd: 50,
        }),
      "EBADF",
      "KVM_SET_USER_MEMORY_REGION2",
    );
    expectError(
      () => vm.setMemoryAttributes({ address: 1, size: 4096, attributes: 8n }),
      "EINVAL",
      "KVM_SET_MEMORY_ATTRIBUTES",
      "kvm_memory_attributes.address",
    );
    expectError(() => vm.getDirtyLog(0), "ENOENT", "KVM_GET_DIRTY_LOG");
    const gmem = vm.createGuestMemfd({ size: MiB });
    expectError(() => gmem.fallocate(FALLOC_FL_PUNCH_HOLE, 0, 4096), "EOPNOTSUPP", "fallocate", "mode");
    expectError(() => gmem.fallocate(FALLOC_FL_KEEP_SIZE, 0, 2 * MiB), "EINVAL", "fallocate");
    gmem.close();
    expectError(() => gmem.close(), "EBADF", "close");
    expectError(
      () =>
        vm.setUserMemoryRegion({
          slot: 0,
          flags: KvmMem.GUEST_MEMFD,
          guestPhysAddr: 0,
          memorySize: MiB,
          userspaceAddr: RAM,
          guestMemfd: gmem,
        }),
      "EBADF",
      "KVM_SET_USER_MEMORY_REGION2",
    );
  });

  it("a dead TD answers EIO on both faces", () => {
    const { p, fd, vm, call, fails } = setup(TDX);
    vm.td.bugged();
    fails(call(KVM_SET_USER_MEMORY_REGION, region1(0, 0, 0, MiB)), Errno.EIO);
    fails(call(KVM_CREATE_GUEST_MEMFD, createGmem(MiB)), Errno.EIO);
    fails(p.ioctl(fd, KVM_GET_DIRTY_LOG, 0), Errno.EIO);
    expect(() => vm.setMemoryAttributes({ address: 0, size: 4096, attributes: 0n })).toThrow(/EIO/);
    expect(() => vm.createGuestMemfd({ size: MiB })).toThrow(/EIO/);
  });
});
