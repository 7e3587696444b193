// Beyond the series: TDG.VP.VEINFO.GET with no #VE pending returns TDX_NO_VALID_VE_INFO.
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import { TDX_NO_VALID_VE_INFO } from "./tdx-status.js";

export const verifyVeinfoGetWithoutVe: TdxVmTestCase = {
  name: "verify_veinfo_get_without_ve",
  run() {
    const guest = new GuestProgram().fn("guest_veinfo_get", (f) => {
      const ve = f.array(48);
      const status = f.call("tdg_vp_veinfo_get", ve.address);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_veinfo_get"] });
    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      TDX_NO_VALID_VE_INFO,
      "TDG.VP.VEINFO.GET status with nothing pending",
    );
    tdxTestAssertSuccess(tdxRun(td));
  },
};
