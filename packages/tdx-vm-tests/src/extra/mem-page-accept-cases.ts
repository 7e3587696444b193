// Beyond the series, group 10: TDG.MEM.PAGE.ACCEPT edge cases, each its own test.
// - a page the host has not added yet: the TDCALL's EPT violation reaches KVM, which adds the
//   page (SEPT.ADD + PAGE.AUG), and the re-executed TDCALL succeeds;
// - the same page twice: the second returns TDX_PAGE_ALREADY_ACCEPTED;
// - a GPA that is not 4 KiB aligned: TDX_OPERAND_INVALID (RCX).
import {
  GuestProgram,
  TD_TEST_MEMORY_SIZE,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import {
  TDX_OPERAND_INVALID_RCX,
  TDX_PAGE_ALREADY_ACCEPTED,
  TDX_PAGE_SIZE_MISMATCH,
  TDX_SUCCESS,
} from "./tdx-status.js";

/** Last page of memslot 0: private, never loaded by td_finalize. */
const SPARE_PRIVATE_GPA = TD_TEST_MEMORY_SIZE - 0x1000;

interface Accept {
  gpa: number | bigint;
  /** 0 = 4 KiB (default), 1 = 2 MiB */
  level?: number;
  expected: bigint;
  /** Compare only the status class (bits 63:32), as the kernel does (TDX_SEAMCALL_STATUS_MASK). */
  statusClassOnly?: boolean;
  what: string;
}

const TDX_STATUS_CLASS_MASK = 0xffff_ffff_0000_0000n;

/** Runs a guest that accepts each GPA in turn and reports every status. */
function acceptCase(name: string, accepts: readonly Accept[]): TdxVmTestCase {
  return {
    name,
    run() {
      const guest = new GuestProgram().fn("guest_accept", (f) => {
        for (const { gpa, level } of accepts) {
          const status = f.call("tdg_mem_page_accept", gpa, level ?? 0);
          f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
        }
        f.call("tdx_test_success");
      });
      const { td } = bootTd(guest, { entries: ["guest_accept"] });
      for (const { expected, statusClassOnly, what } of accepts) {
        const status = tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
        testAssertEq(statusClassOnly ? status & TDX_STATUS_CLASS_MASK : status, expected, what);
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

export const verifyAcceptSharedGpa = acceptCase("verify_accept_shared_gpa", [
  {
    gpa: (1n << 47n) | BigInt(SPARE_PRIVATE_GPA),
    expected: TDX_OPERAND_INVALID_RCX,
    what: "ACCEPT of a GPA with the shared bit (GPAW 48: bit 47)",
  },
]);

/** The guest image's 2 MiB region: td_finalize added it as measured 4 KiB pages. */
const IMAGE_2MIB_GPA = 0x40_0000;

export const verifyAccept2MiBOver4KiB = acceptCase("verify_accept_2mib_over_4kib_mapping", [
  {
    gpa: IMAGE_2MIB_GPA,
    level: 1,
    expected: TDX_PAGE_SIZE_MISMATCH,
    statusClassOnly: true,
    what: "2 MiB ACCEPT of a range the Secure EPT maps as 4 KiB pages",
  },
]);
