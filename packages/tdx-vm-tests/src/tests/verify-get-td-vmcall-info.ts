// Patch 12: TDG.VP.VMCALL<GetTdVmCallInfo> with R12 = 0. KVM 6.16 answers it in the kernel with
// SUCCESS and R11..R14 all zero; the guest sends each as a 64-bit report (low half first).
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyGetTdVmcallInfo: TdxVmTestCase = {
  name: "verify_get_td_vmcall_info",
  run() {
    const guest = new GuestProgram().fn("guest_code_get_td_vmcall_info", (f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      const ret = f.call("tdg_vp_vmcall_get_td_vmcall_info", ...regs.map((r) => f.addrOf(r)));
      f.call("tdx_assert_error", ret);
      for (const r of regs) f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", r));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code_get_td_vmcall_info"] });
    for (const reg of ["r11", "r12", "r13", "r14"]) {
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        0n,
        reg,
      );
    }
    tdxTestAssertSuccess(tdxRun(td));
  },
};
