// Beyond the series, group 14: four vCPUs boot the same guest; each reports NUM_VCPUS and its own
// VCPU_INDEX from TDG.VP.INFO, then succeeds.
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const VCPUS = 4;

export const verifyMultiVcpuVpInfo: TdxVmTestCase = {
  name: "verify_multi_vcpu_vp_info",
  run() {
    const guest = new GuestProgram().fn("guest_vp_index", (f) => {
      const r8 = f.local(0);
      const r9 = f.local(0);
      const ret = f.call("tdg_vp_info", 0, 0, f.addrOf(r8), f.addrOf(r9), 0, 0);
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", r8));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", r9));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: Array.from({ length: VCPUS }, () => "guest_vp_index") });
    // Run them in reverse order: the index comes from TDH.VP.INIT order, not from who runs first.
    for (let i = VCPUS - 1; i >= 0; i--) {
      const r8 = tdxTestRead64bitReportFromGuest(tdxRun(td, i), () => tdxRun(td, i));
      const r9 = tdxTestRead64bitReportFromGuest(tdxRun(td, i), () => tdxRun(td, i));
      testAssertEq(r8 & 0xffff_ffffn, VCPUS, `vCPU ${i} NUM_VCPUS`);
      testAssertEq(r9, i, `vCPU ${i} VCPU_INDEX`);
      tdxTestAssertSuccess(tdxRun(td, i));
    }
  },
};
