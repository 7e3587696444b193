// KVM_CAP_X2APIC_API: the selftests' tdx_enable_capabilities() order (check, enable with both flags).
import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  KvmCap,
  KvmProcess,
  KvmVmType,
  kvmEnableCap,
  type Vm,
} from "../src/index.js";
import { KvmX2apicApi } from "../src/x2apic-api.js";

describe("KVM_CAP_X2APIC_API", () => {
  it("a TD VM reports both flags and enables them (then SPLIT_IRQCHIP); unknown flags or KVM_ENABLE_CAP.flags → EINVAL", () => {
    const p = new KvmProcess({ cpus: 2 });
    const vmFd = p.ioctl(p.open("/dev/kvm"), KVM_CREATE_VM, KvmVmType.TDX_VM);
    expect(p.ioctl(vmFd, KVM_CHECK_EXTENSION, KvmCap.X2APIC_API)).toBe(3);
    const enable = (args0: bigint, flags = 0) =>
      p.ioctl(vmFd, KVM_ENABLE_CAP, kvmEnableCap.encode({ cap: KvmCap.X2APIC_API, flags, args: [args0] }));
    expect(enable(4n)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toMatch(/KVM_X2APIC_API_VALID_FLAGS/);
    expect(enable(1n, 1)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    const vm = p.file(vmFd) as Vm;
    expect(vm.x2apicApiFlags).toBe(0);
    expect(enable(BigInt(KvmX2apicApi.USE_32BIT_IDS | KvmX2apicApi.DISABLE_BROADCAST_QUIRK))).toBe(0);
    expect(vm.x2apicApiFlags).toBe(3);
    expect(enable(0n)).toBe(0); // flags are only ever set
    expect(vm.x2apicApiFlags).toBe(3);
    const split = kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] });
    expect(p.ioctl(vmFd, KVM_ENABLE_CAP, split)).toBe(0);
  });
});
