// The RDMSR/WRMSR and HLT TDVMCALL wrappers end to end through KVM_RUN. The MSR accesses go to
// user space through KVM_CAP_X86_USER_SPACE_MSR and a default-deny MSR filter (KVM_EXIT_X86_*MSR,
// reason FILTER); HLT halts the vCPU until the host makes it runnable.
import { KvmCap, KvmExit, KvmMpState, KvmMsrExitReason, KvmMsrFilter } from "@tdxsim/kvm";
import { describe, expect, it } from "vitest";
import {
  TDG_VP_VMCALL_INVALID_OPERAND,
  type TdVm,
  tdVcpuRun,
  tdxRun,
  tdxTestAnswerMsr,
  tdxTestAssertMsr,
  tdxTestAssertSuccess,
} from "../../src/index.js";
import { bootGuest, read64 } from "./boot-td.js";

const MSR_IA32_MISC_ENABLE = 0x1a0;
const MSR_IA32_POWER_CTL = 0x1fc;

const MSR_IA32_TSC = 0x10;

/**
 * Every MSR access but reads of IA32_TSC (KVM wants one range with DEFAULT_DENY) is denied by
 * the filter and sent to user space.
 */
function sendMsrsToUserSpace(td: TdVm): void {
  td.vm.enableCap({ cap: KvmCap.X86_USER_SPACE_MSR, args: [BigInt(KvmMsrExitReason.FILTER)] });
  td.vm.setMsrFilter(KvmMsrFilter.DEFAULT_DENY, [
    { flags: KvmMsrFilter.READ, base: MSR_IA32_TSC, nmsrs: 1, bitmap: new Uint8Array(8).fill(0xff) },
  ]);
}

describe("MSR and HLT TDVMCALLs end to end", () => {
  it("tdg_vp_vmcall_instruction_wrmsr: KVM_EXIT_X86_WRMSR with index and value; msr.error decides the status", () => {
    const td = bootGuest(
      (f) => {
        f.call("tdx_assert_error", f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_IA32_MISC_ENABLE, 0x1801));
        const refused = f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_IA32_POWER_CTL, 6);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", refused));
        f.call("tdx_test_success");
      },
      { beforeFinalize: sendMsrsToUserSpace },
    );
    const first = tdxTestAssertMsr(tdxRun(td), MSR_IA32_MISC_ENABLE, true);
    expect([first.data, first.msrReason]).toEqual([0x1801n, KvmMsrExitReason.FILTER]);
    tdxTestAnswerMsr(first, { error: false });
    const second = tdxTestAssertMsr(tdxRun(td), MSR_IA32_POWER_CTL, true);
    expect(second.data).toBe(6n);
    tdxTestAnswerMsr(second, { error: true });
    expect(read64(td)).toBe(TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_rdmsr: KVM_EXIT_X86_RDMSR; the value user space supplies reaches *ret_value", () => {
    const td = bootGuest(
      (f) => {
        const value = f.local(0);
        f.call(
          "tdx_assert_error",
          f.call("tdg_vp_vmcall_instruction_rdmsr", MSR_IA32_MISC_ENABLE, f.addrOf(value)),
        );
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", value));
        f.call("tdx_test_success");
      },
      { beforeFinalize: sendMsrsToUserSpace },
    );
    const exit = tdxTestAssertMsr(tdxRun(td), MSR_IA32_MISC_ENABLE, false);
    tdxTestAnswerMsr(exit, { data: 0x8000_0000_0000_1800n });
    expect(read64(td)).toBe(0x8000_0000_0000_1800n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_rdmsr of an MSR outside KVM's TDX list, no user-space MSRs: INVALID_OPERAND", () => {
    const td = bootGuest((f) => {
      const value = f.local(0);
      f.call(
        "tdx_test_report_64bit_to_user_space",
        f.call("tdg_vp_vmcall_instruction_rdmsr", 0xc001_1234, f.addrOf(value)),
      );
      f.call("tdx_test_success");
    });
    expect(read64(td)).toBe(TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("native WRMSR/RDMSR: #VE, the default handler's TDVMCALLs reach user space the same way", () => {
    const td = bootGuest(
      (f) => {
        f.wrmsr(MSR_IA32_POWER_CTL, 0x6_0000_0007n);
        f.call(
          "tdx_assert_error",
          f.call("tdx_test_report_64bit_to_user_space", f.rdmsr(MSR_IA32_POWER_CTL)),
        );
        f.call("tdx_test_success");
      },
      { beforeFinalize: sendMsrsToUserSpace },
    );
    const write = tdxTestAssertMsr(tdxRun(td), MSR_IA32_POWER_CTL, true);
    expect(write.data).toBe(0x6_0000_0007n);
    tdxTestAnswerMsr(write, {});
    tdxTestAnswerMsr(tdxTestAssertMsr(tdxRun(td), MSR_IA32_POWER_CTL, false), { data: 0x42n });
    expect(read64(td)).toBe(0x42n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_hlt(0): KVM_RUN returns KVM_EXIT_INTR with the vCPU HALTED; RUNNABLE resumes it", () => {
    const td = bootGuest((f) => {
      const ret = f.call("tdg_vp_vmcall_instruction_hlt", 0);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      f.call("tdx_test_success");
    });
    const interrupted = tdVcpuRun(td);
    expect(interrupted).toEqual({ kind: "other", reason: KvmExit.INTR });
    const vcpu = td.vcpus[0]!.vcpu;
    expect(vcpu.getMpState()).toBe(KvmMpState.HALTED);
    vcpu.setMpState(KvmMpState.RUNNABLE);
    expect(read64(td)).toBe(0n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("a native HLT: the #VE handler issues Instruction.HLT and the vCPU halts the same way", () => {
    const td = bootGuest((f) => {
      f.hlt();
      f.call("tdx_test_success");
    });
    expect(tdVcpuRun(td)).toEqual({ kind: "other", reason: KvmExit.INTR });
    const vcpu = td.vcpus[0]!.vcpu;
    expect(vcpu.getMpState()).toBe(KvmMpState.HALTED);
    vcpu.setMpState(KvmMpState.RUNNABLE);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
