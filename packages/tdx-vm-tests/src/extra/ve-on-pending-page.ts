// Beyond the series, group 5 (Yan Zhao on patch 28: the #VE handler aligns the GPA down to 4 KiB
// before ACCEPT). The guest loads 8 bytes at offset 0x123 of a private page that td_finalize never
// added: KVM adds it on the EPT violation (PAGE.AUG, state PENDING), the re-executed load takes #VE
// (EPT violation, VE_INFO.GPA = the exact GPA), the guest's hook reads VE_INFO, accepts
// GPA & ~0xFFF and returns; the load is re-executed and reads the zeroed page. The guest reports
// VE_INFO.GPA, the ACCEPT status and the loaded value; the host checks all three.
import {
  GuestProgram,
  TD_TEST_MEMORY_SIZE,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
  VE_INFO,
  virtMap,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import { TDX_SUCCESS } from "./tdx-status.js";

/** Last page of memslot 0: private, never loaded by td_finalize; mapped at the same GVA. */
const PENDING_GPA = TD_TEST_MEMORY_SIZE - 0x1000;
const OFFSET = 0x123;
const EXIT_REASON_EPT_VIOLATION = 48;
const PAGE_MASK = ~0xfffn;

export const verifyVeOnPendingPageAccept: TdxVmTestCase = {
  name: "verify_ve_on_pending_page_accept",
  run() {
    const guest = new GuestProgram()
      .fn("guest_accept_on_ve", { params: 1 }, (f) => {
        const ve = f.array(VE_INFO.size);
        f.call("tdx_assert_error", f.call("tdg_vp_veinfo_get", ve.address));
        const exitReason = f.load(4, ve.address, VE_INFO.exitReason);
        f.if(f.ne(exitReason, EXIT_REASON_EPT_VIOLATION), () => f.call("tdx_test_fatal", exitReason));
        const gpa = f.load(8, ve.address, VE_INFO.gpa);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", gpa));
        const status = f.call("tdg_mem_page_accept", f.and(gpa, PAGE_MASK), 0);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      })
      .fn("guest_code", (f) => {
        f.store(8, f.symbol("guest_ve_hook"), f.symbol("guest_accept_on_ve"));
        const value = f.load(8, PENDING_GPA + OFFSET);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", value));
        f.call("tdx_test_success");
      });
    const { td } = bootTd(guest, {
      entries: ["guest_code"],
      beforeFinalize: (t) => virtMap(t, PENDING_GPA, PENDING_GPA, 1),
    });
    const read = () => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
    testAssertEq(read(), PENDING_GPA + OFFSET, "VE_INFO.GPA of the #VE on the pending page");
    testAssertEq(read(), TDX_SUCCESS, "ACCEPT of VE_INFO.GPA aligned down to 4 KiB");
    testAssertEq(read(), 0, "value loaded from the freshly accepted page");
    tdxTestAssertSuccess(tdxRun(td));
  },
};
