// Patch 15: TDG.VP.VMCALL<Instruction.RDMSR/WRMSR> under a KVM MSR filter. The filter denies by
// default and allows MISC_ENABLE for reads only and POWER_CTL for writes only; x2APIC MSRs cannot
// be filtered, so ICR stays readable and writable. An allowed access is emulated by KVM, a denied
// one fails in the kernel with TDG_VP_VMCALL_INVALID_OPERAND, which the guest reports.
//
// 6.16 (spec "Target" table) and the 2025 revision: v5 also enabled KVM_CAP_X86_USER_SPACE_MSR with
// KVM_MSR_EXIT_REASON_FILTER, yet expected no userspace exit. On mainline that cap sends every
// filtered access to userspace as KVM_EXIT_X86_RDMSR/WRMSR, so the test only checks and sets the
// filter, as the 2025 revision does; what the cap does is verify_guest_msr_user_space_exits
// (src/extra/msr-cases.ts). As Yan Zhao asked (beyond the series, group 3), the write test saves
// MISC_ENABLE with KVM_GET_MSRS before the run and compares with it, not with KVM's reset value.
import { KvmCap, KvmMsrFilter, type MsrEntry, type MsrFilterRangeInput, type Vm } from "@tdxsim/kvm";
import {
  GuestProgram,
  TDG_VP_VMCALL_INVALID_OPERAND,
  type TdVm,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const MSR_X2APIC_APIC_ICR = 0x830;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_IA32_POWER_CTL = 0x1fc;

/** tdx_test_fatal(-99): the denied access succeeded. */
const DENIED_ACCESS_SUCCEEDED = -99n;

/** The 64-bit all-ones bitmap of each one-MSR range (~0ULL). */
const ALLOW_BITS = new Uint8Array(8).fill(0xff);

/** tdx_msr_test_filter: default deny; MISC_ENABLE read-only, POWER_CTL write-only. */
export const TDX_MSR_TEST_FILTER_RANGES: readonly MsrFilterRangeInput[] = [
  { flags: KvmMsrFilter.READ, base: MSR_IA32_MISC_ENABLE, nmsrs: 1, bitmap: ALLOW_BITS },
  { flags: KvmMsrFilter.WRITE, base: MSR_IA32_POWER_CTL, nmsrs: 1, bitmap: ALLOW_BITS },
];

/**
 * The host half of the filter setup both tests share. Upstream installs it between td_initialize
 * and td_vcpu_add; bootTd's hook runs after td_vcpu_add, which changes nothing: the filter is per
 * VM and consulted on each access.
 */
export function setTestMsrFilter(td: TdVm): void {
  testAssert(td.kvm.checkExtension(KvmCap.X86_MSR_FILTER) !== 0, "KVM_CAP_X86_MSR_FILTER is unavailable");
  setFilter(td.vm);
}

function setFilter(vm: Vm): void {
  vm.setMsrFilter(KvmMsrFilter.DEFAULT_DENY, TDX_MSR_TEST_FILTER_RANGES);
}

/** vcpu_get_msr(): one KVM_GET_MSRS entry. */
export function vcpuGetMsr(td: TdVm, index: number): bigint {
  const [entry] = td.vcpus[0]!.vcpu.getMsrs([index]);
  testAssert(entry !== undefined, `KVM_GET_MSRS could not read MSR 0x${index.toString(16)}`);
  return entry!.data;
}

/** vcpu_set_msr(): one KVM_SET_MSRS entry, which must be written. */
export function vcpuSetMsr(td: TdVm, index: number, data: bigint): void {
  const entries: MsrEntry[] = [{ index, data }];
  testAssertEq(td.vcpus[0]!.vcpu.setMsrs(entries), 1, `KVM_SET_MSRS of MSR 0x${index.toString(16)}`);
}

export const verifyGuestMsrWrites: TdxVmTestCase = {
  name: "verify_guest_msr_writes",
  run() {
    const guest = new GuestProgram().fn("guest_msr_write", (f) => {
      let ret = f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_X2APIC_APIC_ICR, 4);
      f.call("tdx_assert_error", ret);
      // expected to fail: MISC_ENABLE is read-only for the guest
      ret = f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_IA32_MISC_ENABLE, 5);
      f.if(
        ret,
        () => f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret)),
        () => f.call("tdx_test_fatal", DENIED_ACCESS_SUCCEEDED),
      );
      ret = f.call("tdg_vp_vmcall_instruction_wrmsr", MSR_IA32_POWER_CTL, 6);
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_msr_write"], beforeFinalize: setTestMsrFilter });
    const miscEnableBefore = vcpuGetMsr(td, MSR_IA32_MISC_ENABLE);

    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      TDG_VP_VMCALL_INVALID_OPERAND,
      "status of the guest's MISC_ENABLE write",
    );
    tdxTestAssertSuccess(tdxRun(td));

    testAssertEq(vcpuGetMsr(td, MSR_X2APIC_APIC_ICR), 4, "ICR written by the guest");
    testAssertEq(vcpuGetMsr(td, MSR_IA32_MISC_ENABLE), miscEnableBefore, "MISC_ENABLE (write denied)");
    testAssertEq(vcpuGetMsr(td, MSR_IA32_POWER_CTL), 6, "POWER_CTL written by the guest");
  },
};

export const verifyGuestMsrReads: TdxVmTestCase = {
  name: "verify_guest_msr_reads",
  run() {
    const guest = new GuestProgram().fn("guest_msr_read", (f) => {
      const data = f.local(0);
      for (const msr of [MSR_X2APIC_APIC_ICR, MSR_IA32_MISC_ENABLE]) {
        const ret = f.call("tdg_vp_vmcall_instruction_rdmsr", msr, f.addrOf(data));
        f.call("tdx_assert_error", ret);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", data));
      }
      // expected to fail: POWER_CTL is write-only for the guest
      const ret = f.call("tdg_vp_vmcall_instruction_rdmsr", MSR_IA32_POWER_CTL, f.addrOf(data));
      f.if(
        ret,
        () => f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret)),
        () => f.call("tdx_test_fatal", DENIED_ACCESS_SUCCEEDED),
      );
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_msr_read"], beforeFinalize: setTestMsrFilter });
    vcpuSetMsr(td, MSR_X2APIC_APIC_ICR, 4n);
    vcpuSetMsr(td, MSR_IA32_MISC_ENABLE, 5n);
    vcpuSetMsr(td, MSR_IA32_POWER_CTL, 6n);

    const report = () => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
    testAssertEq(report(), 4, "ICR the guest read");
    testAssertEq(report(), 5, "MISC_ENABLE the guest read");
    testAssertEq(report(), TDG_VP_VMCALL_INVALID_OPERAND, "status of the guest's POWER_CTL read");
    tdxTestAssertSuccess(tdxRun(td));
  },
};
