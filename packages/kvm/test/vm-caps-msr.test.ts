import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  KVM_X86_SET_MSR_FILTER,
  KvmCap,
  KvmMsrExitReason,
  KvmMsrFilter,
  KvmMsrRet,
  KvmProcess,
  kvmEnableCap,
  kvmMsrFilter,
  MsrFilter,
  msrExitReason,
  msrFailureOutcome,
  NO_MSR_FILTER,
  tdxHasEmulatedMsr,
  tdxIsReadOnlyMsr,
  type Vm,
} from "../src/index.js";

function setup(type = 5) {
  const p = new KvmProcess();
  const kvm = p.open("/dev/kvm");
  const fd = p.ioctl(kvm, KVM_CREATE_VM, type);
  return { p, fd, vm: p.file(fd) as Vm };
}

const enableCap = (cap: number, args: bigint[] = [], flags = 0) => kvmEnableCap.encode({ cap, flags, args });

describe("KVM_ENABLE_CAP on a VM", () => {
  it("enables split irqchip, user-space MSR exits and MapGPA hypercall exits", () => {
    const { p, fd, vm } = setup();
    expect(p.ioctl(fd, KVM_ENABLE_CAP, enableCap(KvmCap.SPLIT_IRQCHIP, [24n]))).toBe(0);
    expect(vm.irqchipMode).toBe("split");
    expect(vm.nrReservedIoapicPins).toBe(24);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, enableCap(KvmCap.X86_USER_SPACE_MSR, [4n]))).toBe(0);
    expect(vm.userSpaceMsrMask).toBe(KvmMsrExitReason.FILTER);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, enableCap(KvmCap.EXIT_HYPERCALL, [1n << 12n]))).toBe(0);
    expect(vm.hypercallExitEnabled).toBe(0x1000);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, enableCap(KvmCap.X86_APIC_BUS_CYCLES_NS, [40n]))).toBe(0);
    expect(vm.apicBusCycleNs).toBe(40);
  });
  it("refuses bad arguments with the kernel's errno, naming the field", () => {
    const { p, fd, vm } = setup();
    const fail = (bytes: Uint8Array, errno: number, field?: string) => {
      expect(p.ioctl(fd, KVM_ENABLE_CAP, bytes)).toBe(-1);
      expect(p.errno).toBe(errno);
      if (field) expect(p.lastError?.field).toBe(field);
    };
    fail(enableCap(KvmCap.SPLIT_IRQCHIP, [24n], 1), Errno.EINVAL, "kvm_enable_cap.flags");
    fail(enableCap(KvmCap.SPLIT_IRQCHIP, [4097n]), Errno.EINVAL, "kvm_enable_cap.args[0]");
    fail(enableCap(KvmCap.X86_USER_SPACE_MSR, [8n]), Errno.EINVAL, "kvm_enable_cap.args[0]");
    fail(enableCap(KvmCap.EXIT_HYPERCALL, [1n]), Errno.EINVAL, "kvm_enable_cap.args[0]");
    fail(enableCap(KvmCap.X86_APIC_BUS_CYCLES_NS, [40n]), Errno.EINVAL); // no irqchip yet
    fail(enableCap(KvmCap.VM_TYPES), Errno.EINVAL, "kvm_enable_cap.cap");
    expect(p.ioctl(fd, KVM_ENABLE_CAP, enableCap(KvmCap.SPLIT_IRQCHIP, [0n]))).toBe(0);
    fail(enableCap(KvmCap.SPLIT_IRQCHIP, [0n]), Errno.EEXIST);
    fail(enableCap(KvmCap.X86_APIC_BUS_CYCLES_NS, [0n]), Errno.EINVAL);
    fail(enableCap(KvmCap.X86_APIC_BUS_CYCLES_NS, [1n << 33n]), Errno.EINVAL);
    fail(new Uint8Array(8), Errno.EFAULT); // shorter than struct kvm_enable_cap
    expect(vm.userSpaceMsrMask).toBe(0);
    expect(vm.hypercallExitEnabled).toBe(0);
  });
});

describe("KVM_X86_SET_MSR_FILTER", () => {
  /** Put a bitmap in user memory and return its address. */
  function bitmapAt(p: KvmProcess, addr: number, bytes: number[]): bigint {
    p.userMemory.writeBytes(addr, new Uint8Array(bytes));
    return BigInt(addr);
  }

  it("parses ranges with bitmaps from user memory and evaluates default deny", () => {
    const { p, fd, vm } = setup();
    const bitmap = bitmapAt(p, 0x30000, [0b0000_0101, 0, 0, 0, 0, 0, 0, 0]);
    const filter = kvmMsrFilter.encode({
      flags: KvmMsrFilter.DEFAULT_DENY,
      ranges: [{ flags: KvmMsrFilter.READ, nmsrs: 8, base: 0x10, bitmap }],
    });
    expect(p.ioctl(fd, KVM_X86_SET_MSR_FILTER, filter)).toBe(0);
    const f = vm.msrFilter;
    expect(f.allows(0x10, "read")).toBe(true);
    expect(f.allows(0x11, "read")).toBe(false);
    expect(f.allows(0x12, "read")).toBe(true);
    expect(f.allows(0x10, "write")).toBe(false); // range is READ only → default deny
    expect(f.allows(0x18, "read")).toBe(false); // past the range
    expect(f.allows(0x808, "write")).toBe(true); // x2APIC is never filtered
    expect(f.allows(0x8ff, "read")).toBe(true);
    expect(f.allows(0x900, "read")).toBe(false);
  });
  it("first matching range wins; default allow; u32 wrap of base + nmsrs", () => {
    const f = new MsrFilter(true, [
      { flags: 3, base: 0xc0000080, nmsrs: 1, bitmap: new Uint8Array(8) },
      { flags: 3, base: 0xc0000000, nmsrs: 0x100, bitmap: new Uint8Array(32).fill(0xff) },
      { flags: 1, base: 0xffffffc0, nmsrs: 0x80, bitmap: new Uint8Array(16) },
    ]);
    expect(f.allows(0xc0000080, "write")).toBe(false);
    expect(f.allows(0xc0000081, "write")).toBe(true);
    expect(f.allows(0xffffffd0, "read")).toBe(true); // end wrapped to 0x40: never matches
    expect(NO_MSR_FILTER.allows(0x10, "write")).toBe(true);
  });
  it("refuses what the kernel refuses", () => {
    const { p, fd } = setup(0);
    const bm = bitmapAt(p, 0x30000, new Array(0x600).fill(0xff));
    const fail = (value: Parameters<typeof kvmMsrFilter.encode>[0], errno: number, field: string) => {
      expect(p.ioctl(fd, KVM_X86_SET_MSR_FILTER, kvmMsrFilter.encode(value))).toBe(-1);
      expect(p.errno).toBe(errno);
      expect(p.lastError?.field).toBe(field);
    };
    fail({ flags: 2 }, Errno.EINVAL, "kvm_msr_filter.flags");
    fail({ flags: 1 }, Errno.EINVAL, "kvm_msr_filter.ranges");
    const r = { flags: 1, nmsrs: 1, base: 0, bitmap: bm };
    fail({ flags: 0, ranges: [r, { ...r, flags: 0 }] }, Errno.EINVAL, "kvm_msr_filter.ranges[1].flags");
    fail({ flags: 0, ranges: [{ ...r, flags: 4 }] }, Errno.EINVAL, "kvm_msr_filter.ranges[0].flags");
    fail(
      { flags: 0, ranges: [{ ...r, nmsrs: 0x600 * 8 + 1 }] },
      Errno.EINVAL,
      "kvm_msr_filter.ranges[0].nmsrs",
    );
    fail({ flags: 0, ranges: [{ ...r, bitmap: 0n }] }, Errno.EFAULT, "kvm_msr_filter.ranges[0].bitmap");
    // the largest bitmap is fine; an empty range's garbage flags are ignored
    const ok = kvmMsrFilter.encode({
      flags: 0,
      ranges: [
        { ...r, nmsrs: 0x600 * 8 },
        { ...r, nmsrs: 0, flags: 0xff },
      ],
    });
    expect(p.ioctl(fd, KVM_X86_SET_MSR_FILTER, ok)).toBe(0);
    // all-empty with default allow clears the filter
    expect(p.ioctl(fd, KVM_X86_SET_MSR_FILTER, kvmMsrFilter.encode({ flags: 0 }))).toBe(0);
  });
  it("has the same rules on the typed face", () => {
    const { vm } = setup();
    expect(() => vm.setMsrFilter(0, [{ flags: 1, base: 0, nmsrs: 65, bitmap: new Uint8Array(8) }])).toThrow(
      /ranges\[0\].bitmap has 8 bytes, 16 are read/,
    );
    vm.setMsrFilter(1, [{ flags: 2, base: 0x1b, nmsrs: 1, bitmap: new Uint8Array(8).fill(1) }]);
    expect(vm.msrFilter.allows(0x1b, "write")).toBe(true);
    expect(vm.msrFilter.allows(0x1b, "read")).toBe(false);
  });
});

describe("KVM_CAP_X86_USER_SPACE_MSR reasons", () => {
  it("maps KVM's failure codes to exit reasons and decides exit vs fault", () => {
    expect(msrExitReason(KvmMsrRet.UNSUPPORTED)).toBe(KvmMsrExitReason.UNKNOWN);
    expect(msrExitReason(KvmMsrRet.FILTERED)).toBe(KvmMsrExitReason.FILTER);
    expect(msrExitReason(KvmMsrRet.ERROR)).toBe(KvmMsrExitReason.INVAL);
    expect(msrFailureOutcome(KvmMsrRet.FILTERED, KvmMsrExitReason.FILTER)).toEqual({
      kind: "exit",
      reason: 4,
    });
    expect(msrFailureOutcome(KvmMsrRet.FILTERED, KvmMsrExitReason.UNKNOWN)).toEqual({ kind: "fault" });
    expect(msrFailureOutcome(KvmMsrRet.UNSUPPORTED, 7)).toEqual({ kind: "exit", reason: 2 });
    expect(msrFailureOutcome(KvmMsrRet.ERROR, 0)).toEqual({ kind: "fault" });
  });
  it("knows the TDX allow-list", () => {
    for (const msr of [
      0x8b, 0x10a, 0x1b, 0xc0000080, 0x3a, 0x200, 0x26f, 0x2ff, 0x400, 0x47f, 0x280, 0x6e0, 0x802,
    ]) {
      expect(tdxHasEmulatedMsr(msr), msr.toString(16)).toBe(true);
    }
    for (const msr of [0x10, 0xc0000081, 0x480, 0x2a0, 0x808, 0x80a, 0x80b, 0x810, 0x827, 0x900]) {
      expect(tdxHasEmulatedMsr(msr), msr.toString(16)).toBe(false);
    }
    expect(tdxIsReadOnlyMsr(0x1b)).toBe(true);
    expect(tdxIsReadOnlyMsr(0x277)).toBe(false);
  });
});
