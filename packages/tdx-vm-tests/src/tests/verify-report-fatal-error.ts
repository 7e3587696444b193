// Patch 09: TDG.VP.VMCALL<ReportFatalError>. Mainline 6.16 exits KVM_EXIT_SYSTEM_EVENT with type
// KVM_SYSTEM_EVENT_TDX_FATAL, data[12] = R12 (error code), data[13] = R13 (data GPA); bit 63 of
// the code says the GPA is valid. The guest resumes after the report and succeeds.
import {
  GuestProgram,
  TDX_FATAL_ERROR_GPA_VALID,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertSuccess,
} from "@tdxsim/tdx-lib";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const ERROR_CODE = 0x0baa_aaad_0000_0000n;
const DATA_GPA = 0x1000n;

export const verifyReportFatalError: TdxVmTestCase = {
  name: "verify_report_fatal_error",
  run() {
    const guest = new GuestProgram().fn("guest_code_report_fatal_error", (f) => {
      f.call("tdx_test_fatal", ERROR_CODE);
      f.call("tdx_test_fatal_with_data", ERROR_CODE, DATA_GPA);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code_report_fatal_error"] });
    tdxTestAssertFatal(tdVcpuRun(td), ERROR_CODE);
    tdxTestAssertFatal(tdVcpuRun(td), TDX_FATAL_ERROR_GPA_VALID | ERROR_CODE, DATA_GPA);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
