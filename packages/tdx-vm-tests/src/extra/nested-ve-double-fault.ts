// Beyond the series, group 11: a #VE while VE_INFO is still valid becomes #DF. The TDX module
// injects the #VE of an intercepted instruction (HLT, IN, ...) only when VE_INFO.VALID is clear,
// else #DF with error code 0 (spec/tdx-abi.md; module 1.5 calls inject_df()). (An EPT-violation
// #VE with VALID set is a TD exit instead; this case uses instruction #VEs.)
// The guest installs a #VE hook that does not call TDG.VP.VEINFO.GET, takes a #VE on HLT, and in
// the hook executes IN, which would be a second #VE. Its own #DF handler reports the error code,
// then calls VEINFO.GET: it succeeds (the info was still valid) and holds the first #VE's exit
// reason (HLT, 12), not the IN's (30). The IN never reaches the host.
import { tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest, VE_INFO } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import { GuestProgramWithAsm } from "../guest-asm.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import { DF_VECTOR, emitExceptionEntry } from "./exception-entry.js";
import { TDX_SUCCESS } from "./tdx-status.js";

const EXIT_REASON_HLT = 12;
const PORT = 0x80;
/** tdx_test_fatal codes for "the guest got past an instruction that had to fault". */
const RETURNED_FROM_HLT = 0x0bad_0001n;
const RETURNED_FROM_IN = 0x0bad_0002n;

export const verifyNestedVeDoubleFault: TdxVmTestCase = {
  name: "verify_nested_ve_double_fault",
  run() {
    const guest = new GuestProgramWithAsm()
      .fn("guest_df_observed", { params: 2 }, (f, errorCode) => {
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", errorCode));
        const ve = f.array(VE_INFO.size);
        const status = f.call("tdg_vp_veinfo_get", ve.address);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
        const exitReason = f.load(4, ve.address, VE_INFO.exitReason);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", exitReason));
        f.call("tdx_test_success");
      })
      .fn("guest_nested_ve_hook", { params: 1 }, (f) => {
        // VE_INFO is still valid (nobody called VEINFO.GET): this IN is a second #VE → #DF.
        f.inb(PORT);
        f.call("tdx_test_fatal", RETURNED_FROM_IN);
      })
      .fn("guest_code", (f) => {
        f.store(8, f.symbol("guest_ve_hook"), f.symbol("guest_nested_ve_hook"));
        f.hlt();
        f.call("tdx_test_fatal", RETURNED_FROM_HLT);
      })
      .asm("guest_df_entry", {}, emitExceptionEntry("guest_df_observed"));
    const { td } = bootTd(guest, {
      entries: ["guest_code"],
      exceptionHandlers: [{ vector: DF_VECTOR, handler: "guest_df_entry" }],
    });
    // Each report must be the next exit: the IN of the hook never reaches the host.
    const read = (what: string, expected: bigint | number) =>
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        expected,
        what,
      );
    read("#DF error code", 0);
    read("TDG.VP.VEINFO.GET status in the #DF handler (VE_INFO still valid)", TDX_SUCCESS);
    read("VE_INFO.EXIT_REASON: the first #VE's (HLT)", EXIT_REASON_HLT);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
