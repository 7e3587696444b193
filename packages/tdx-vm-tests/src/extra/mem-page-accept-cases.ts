// Beyond the series, group 10: TDG.MEM.PAGE.ACCEPT edge cases, each its own test.
// - a page the host has not added yet: the TDCALL's EPT violation reaches KVM, which adds the
//   page (SEPT.ADD + PAGE.AUG), and the re-executed TDCALL succeeds;
// - the same page twice: the second returns TDX_PAGE_ALREADY_ACCEPTED;
// - a GPA that is not 4 KiB aligned: TDX_OPERAND_INVALID (RCX).
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd, TD_MEMORY_SIZE } from "../td-setup.js";
import { TDX_OPERAND_INVALID_RCX, TDX_PAGE_ALREADY_ACCEPTED, TDX_SUCCESS } from "./tdx-status.js";

/** Last page of memslot 0: private, never loaded by td_finalize. */
const SPARE_PRIVATE_GPA = TD_MEMORY_SIZE - 0x1000;

/** Runs a guest that accepts each GPA (4 KiB level) in turn and reports every status. */
function acceptCase(
  name: string,
  accepts: readonly { gpa: number; expected: bigint; what: string }[],
): TdxVmTestCase {
  return {
    name,
    run() {
      const guest = new GuestProgram().fn("guest_accept", (f) => {
        for (const { gpa } of accepts) {
          const status = f.call("tdg_mem_page_accept", gpa, 0);
          f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
        }
        f.call("tdx_test_success");
      });
      const { td } = bootTd(guest, { entries: ["guest_accept"] });
      for (const { expected, what } of accepts) {
        testAssertEq(
          tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
          expected,
          what,
        );
      }
      tdxTestAssertSuccess(tdxRun(td));
    },
  };
}

export const verifyAcceptPageNotAddedByHost = acceptCase("verify_accept_page_not_added_by_host", [
  { gpa: SPARE_PRIVATE_GPA, expected: TDX_SUCCESS, what: "ACCEPT of a page KVM adds on the EPT violation" },
]);

export const verifyAcceptTwice = acceptCase("verify_accept_twice", [
  { gpa: SPARE_PRIVATE_GPA, expected: TDX_SUCCESS, what: "first ACCEPT" },
  { gpa: SPARE_PRIVATE_GPA, expected: TDX_PAGE_ALREADY_ACCEPTED, what: "second ACCEPT of the same page" },
]);

export const verifyAcceptMisaligned = acceptCase("verify_accept_misaligned_gpa", [
  {
    gpa: SPARE_PRIVATE_GPA + 0x800,
    expected: TDX_OPERAND_INVALID_RCX,
    what: "ACCEPT of a GPA not 4 KiB aligned",
  },
]);
