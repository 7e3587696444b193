// Patch 11: native CPUID leaf 1 inside the TD — virtualized by the TDX module, no exit. The guest
// reports EBX and ECX; the host checks them field by field against each field's TDX class.
// The reference is the vCPU's CPUID entry (vcpu_get_cpuid_entry: KVM_GET_CPUID2, which on 6.16
// holds what td_vcpu_add read with KVM_TDX_GET_CPUID), as the 2025 revision does; v5 read
// KVM_GET_SUPPORTED_CPUID, which matched because v5's library set the vCPU's CPUID from it. FMA
// ("as configured if native") is compared with that entry as in the 2025 revision, not with 1.
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestReadReport } from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyTdCpuid: TdxVmTestCase = {
  name: "verify_td_cpuid",
  run() {
    const guest = new GuestProgram().fn("guest_code_cpuid", (f) => {
      const { ebx, ecx } = f.cpuid(1);
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ebx));
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ecx));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code_cpuid"] });
    const ebx = tdxTestReadReport(tdxRun(td));
    const ecx = tdxTestReadReport(tdxRun(td));
    tdxTestAssertSuccess(tdxRun(td));

    // vcpu_get_cpuid_entry(vcpu, 1)
    const entry = td.vcpus[0]!.vcpu.getCpuid2().find((e) => e.function === 1 && e.index === 0);
    testAssert(entry !== undefined, "CPUID entry missing");
    const hostMaxAddressableIds = (entry!.ebx >>> 16) & 0xff;

    testAssertEq(ecx & 1, 1, "SSE3 (native)");
    testAssertEq((ebx >>> 8) & 0xff, 8, "CLFLUSH line size (fixed)");
    testAssertEq(
      (ebx >>> 16) & 0xff,
      hostMaxAddressableIds,
      "max addressable logical processor IDs (as configured)",
    );
    testAssertEq((ecx >>> 12) & 1, (entry!.ecx >>> 12) & 1, "FMA (as configured if native)");
    testAssertEq(ebx >>> 24, 0, "initial APIC ID (calculated: vCPU index 0)");
  },
};
