// The typed face of the TDX sub-commands and KVM_RUN: same checks and results as the raw face.
import { TdxStatus } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { KvmCap, KvmError, KvmProcess, KvmVmType, type Vcpu } from "../src/index.js";
import { ScriptedGuest, tdvmcall } from "./scripted-guest.js";
import { TdFixture } from "./td-fixture.js";

function typedTd() {
  const guest = new ScriptedGuest();
  const p = new KvmProcess({ tdGuestExecutor: guest });
  const vm = p.openKvm().createVm(KvmVmType.TDX_VM);
  vm.enableCap({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] });
  const caps = vm.tdxCapabilities();
  const cpuid = caps.cpuid.map((e) => ({
    ...e,
    eax: e.function === 1 ? 0 : e.function === 0x80000008 ? 48 << 16 : e.eax,
  }));
  return { p, vm, guest, cpuid };
}

describe("typed TDX face", () => {
  it("KVM_GET_SUPPORTED_CPUID's GuestPhysBits (0x80000008 EAX[23:16]) is a GPAW KVM_TDX_INIT_VM takes: 52", () => {
    const { p, vm, cpuid } = typedTd();
    const supported = p
      .openKvm()
      .getSupportedCpuid(256)
      .find((e) => e.function === 0x80000008)!;
    expect((supported.eax >>> 16) & 0xff).toBe(52);
    vm.tdxInitVm({
      xfam: 3n,
      cpuid: cpuid.map((e) => (e.function === 0x80000008 ? { ...e, eax: supported.eax } : e)),
    });
    const vcpu = vm.createVcpu(0);
    expect((vcpu.tdxGetCpuid().find((e) => e.function === 0x80000008)!.eax >>> 16) & 0xff).toBe(52);
  });
  it("builds, measures and runs a TD; MRTD equals the raw face's for the same image", () => {
    const { vm, guest, cpuid } = typedTd();
    vm.tdxInitVm({ xfam: 3n, cpuid });
    const vcpu: Vcpu = vm.createVcpu(0);
    vcpu.setCpuid2(vcpu.tdxGetCpuid());
    vcpu.tdxInitVcpu(0n);
    expect(vcpu.tdxGetCpuid().find((e) => e.function === 0x21)).toBeDefined();
    const gmem = vm.createGuestMemfd({ size: 2 << 20 });
    vm.setUserMemoryRegion({
      slot: 0,
      flags: 4,
      guestPhysAddr: 0,
      memorySize: 2 << 20,
      userspaceAddr: 0x4000_0000,
      guestMemfd: gmem,
      guestMemfdOffset: 0,
    });
    vm.setMemoryAttributes({ address: 0, size: 2 << 20, attributes: 8 });
    const image = new Uint8Array(4096).fill(0x90);
    vcpu.tdxInitMemRegion({ gpa: 0xf_0000, source: image, measure: true });
    vm.tdxFinalizeVm();
    const raw = TdFixture.runnable(image);
    const mrtd = (t: {
      tdx: { module: { tdhMngRd: (a: number, b: bigint) => { r8?: bigint } }; tdr: number };
    }) => [0n, 1n, 2n, 3n, 4n, 5n].map((i) => t.tdx.module.tdhMngRd(t.tdx.tdr, 0x1310000300000000n + i).r8);
    expect(mrtd(vm)).toEqual(mrtd(raw.vm));
    guest.script(tdvmcall(30, 1n, 1n, 0x3f8n, 0x41n));
    const exit = vcpu.kvmRun();
    expect(exit.kind).toBe("io");
  });
  it("errors are KvmErrors naming the ioctl and field, with hw_error where the module refused", () => {
    const { vm, cpuid } = typedTd();
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as KvmError;
      }
      throw new Error("no error");
    };
    const a = err(() => vm.tdxInitVm({ attributes: 1n, cpuid }));
    expect(a).toBeInstanceOf(KvmError);
    expect([a.code, a.field, a.ioctl]).toEqual(["EINVAL", "kvm_tdx_init_vm.attributes", "KVM_TDX_INIT_VM"]);
    const bad = cpuid.map((e) => (e.function === 1 ? { ...e, eax: 0x12345 } : e));
    const b = err(() => vm.tdxInitVm({ xfam: 3n, cpuid: bad }));
    expect(b.code).toBe("EINVAL");
    expect((b.hwError ?? 0n) >> 32n).toBe(TdxStatus.TDX_OPERAND_INVALID >> 32n);
    expect(err(() => vm.tdxFinalizeVm()).code).toBe("EINVAL");
    vm.tdxInitVm({ xfam: 3n, cpuid });
    const vcpu = vm.createVcpu(0);
    expect(err(() => vcpu.kvmRun()).code).toBe("EINVAL");
    expect(err(() => vcpu.tdxInitMemRegion({ gpa: 0, source: new Uint8Array(4096) })).code).toBe("EINVAL");
    expect(err(() => vcpu.tdxInitVcpu()).message).toMatch(/x2APIC/); // no KVM_SET_CPUID2 yet
    vcpu.setCpuid2(vcpu.tdxGetCpuid());
    vcpu.tdxInitVcpu();
    expect(err(() => vcpu.tdxInitVcpu()).code).toBe("EINVAL");
    vm.tdxFinalizeVm();
    expect(err(() => vcpu.tdxGetCpuid()).message).toMatch(/already finalized/);
    expect(err(() => vm.tdxFinalizeVm()).code).toBe("EINVAL");
  });
});
