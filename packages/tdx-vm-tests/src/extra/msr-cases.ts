// Beyond the series, group 3 (MSR cases; Yan Zhao's saved-MISC_ENABLE comparison is part of
// verify_guest_msr_writes):
// - verify_guest_msr_user_space_exits: patch 15's filter with KVM_CAP_X86_USER_SPACE_MSR enabled for
//   KVM_MSR_EXIT_REASON_FILTER, as v5 did. On 6.16 a filtered RDMSR/WRMSR TDVMCALL then exits to
//   userspace (KVM_EXIT_X86_RDMSR/WRMSR, reason FILTER, the MSR index and, for a write, the data);
//   msr.error = 0 completes it (a read returns msr.data in R11), msr.error = 1 fails it with
//   TDG_VP_VMCALL_INVALID_OPERAND (tdx_complete_emulated_msr). Allowed MSRs still never exit.
// - verify_guest_msr_x2apic_unfilterable: a deny-all filter range over 0x800-0x8ff changes nothing
//   for ICR: KVM never filters x2APIC MSRs (kvm_msr_allowed), Binbin Wu's point on patch 15.
import { KvmCap, KvmExit, KvmMsrExitReason, KvmMsrFilter } from "@tdxsim/kvm";
import {
  GuestProgram,
  TDG_VP_VMCALL_INVALID_OPERAND,
  type TdVm,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import {
  MSR_IA32_MISC_ENABLE,
  MSR_IA32_POWER_CTL,
  MSR_X2APIC_APIC_ICR,
  setTestMsrFilter,
  vcpuGetMsr,
} from "../tests/verify-guest-msrs.js";

const USER_SPACE_POWER_CTL = 0x1234_5678_9abc_def0n;

/** The KVM_EXIT_X86_RDMSR/WRMSR the last KVM_RUN stopped at: kvm_run.msr after checking exit_reason. */
function assertMsrExit(td: TdVm, exitReason: number, index: number) {
  const run = td.vcpus[0]!.vcpu.run;
  const name = exitReason === KvmExit.X86_RDMSR ? "KVM_EXIT_X86_RDMSR" : "KVM_EXIT_X86_WRMSR";
  testAssertEq(run.exitReason, exitReason, `exit reason (expected ${name})`);
  testAssertEq(run.msr.reason, KvmMsrExitReason.FILTER, `${name} msr.reason`);
  testAssertEq(run.msr.index, index, `${name} msr.index`);
  return run.msr;
}

export const verifyGuestMsrUserSpaceExits: TdxVmTestCase = {
  name: "verify_guest_msr_user_space_exits",
  run() {
    const guest = new GuestProgram().fn("guest_msr_user_space", (f) => {
      const data = f.local(0);
      // filtered read, completed by userspace with a value
      let ret = f.call("tdg_vp_vmcall_instruction_rdmsr", MSR_IA32_POWER_CTL, f.addrOf(data));
      f.call("tdx_assert_error", ret);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", data));
      // allowed read: emulated by KVM, no exit
      ret = f.call("tdg_vp_vmcall_instruction_rdmsr", MSR_IA32_MISC_ENABLE, f.addrOf(data));
      f.call("tdx_assert_error", ret);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", data));
      // filtered write, refused by userspace
      ret = f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_IA32_MISC_ENABLE, 5);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, {
      entries: ["guest_msr_user_space"],
      beforeFinalize: (t) => {
        setTestMsrFilter(t);
        testAssert(
          t.kvm.checkExtension(KvmCap.X86_USER_SPACE_MSR) !== 0,
          "KVM_CAP_X86_USER_SPACE_MSR is unavailable",
        );
        t.vm.enableCap({ cap: KvmCap.X86_USER_SPACE_MSR, args: [BigInt(KvmMsrExitReason.FILTER)] });
      },
    });
    const miscEnable = vcpuGetMsr(td, MSR_IA32_MISC_ENABLE);
    const report = () => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));

    tdVcpuRun(td);
    const read = assertMsrExit(td, KvmExit.X86_RDMSR, MSR_IA32_POWER_CTL);
    read.data = USER_SPACE_POWER_CTL;
    read.error = 0;
    testAssertEq(report(), USER_SPACE_POWER_CTL, "POWER_CTL value supplied by userspace");
    testAssertEq(report(), miscEnable, "MISC_ENABLE read without an exit");

    tdVcpuRun(td);
    const write = assertMsrExit(td, KvmExit.X86_WRMSR, MSR_IA32_MISC_ENABLE);
    testAssertEq(write.data, 5, "KVM_EXIT_X86_WRMSR msr.data");
    write.error = 1;
    testAssertEq(report(), TDG_VP_VMCALL_INVALID_OPERAND, "status of the write userspace refused");
    tdxTestAssertSuccess(tdxRun(td));
    testAssertEq(vcpuGetMsr(td, MSR_IA32_MISC_ENABLE), miscEnable, "MISC_ENABLE after the refused write");
  },
};

export const verifyGuestMsrX2apicUnfilterable: TdxVmTestCase = {
  name: "verify_guest_msr_x2apic_unfilterable",
  run() {
    const guest = new GuestProgram().fn("guest_msr_x2apic", (f) => {
      const data = f.local(0);
      f.call("tdx_assert_error", f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_X2APIC_APIC_ICR, 4));
      f.call(
        "tdx_assert_error",
        f.call("tdg_vp_vmcall_instruction_rdmsr", MSR_X2APIC_APIC_ICR, f.addrOf(data)),
      );
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", data));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, {
      entries: ["guest_msr_x2apic"],
      beforeFinalize: (t) =>
        t.vm.setMsrFilter(KvmMsrFilter.DEFAULT_DENY, [
          {
            flags: KvmMsrFilter.READ | KvmMsrFilter.WRITE,
            base: 0x800,
            nmsrs: 0x100,
            bitmap: new Uint8Array(0x100 / 8), // every bit clear: deny
          },
        ]),
    });
    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      4,
      "ICR read back through a deny-all x2APIC filter range",
    );
    tdxTestAssertSuccess(tdxRun(td));
    testAssertEq(vcpuGetMsr(td, MSR_X2APIC_APIC_ICR), 4, "ICR seen by KVM_GET_MSRS");
  },
};
