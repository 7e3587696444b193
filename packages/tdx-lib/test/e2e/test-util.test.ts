// The guest test_util end to end through KVM_RUN: tdx_test_fatal (and re-entry after it),
// tdx_test_fatal_with_data, tdx_assert_error, tdx_test_send_64bit on a test port. Every other
// test ends with tdx_test_success and reports through tdx_test_report_(64bit_)to_user_space.
import { describe, expect, it } from "vitest";
import {
  TDX_FATAL_ERROR_GPA_VALID,
  TDX_IOEXIT_TEST_PORT,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertSuccess,
  tdxTestRead64bit,
  tdxTestReadReport,
} from "../../src/index.js";
import { bootGuest } from "./boot-td.js";

describe("guest test_util end to end", () => {
  it("tdx_test_fatal(0x0BAAAAAD00000000): SYSTEM_EVENT TDX_FATAL without the GPA bit; the guest resumes to success", () => {
    const td = bootGuest((f) => {
      f.call("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
      f.call("tdx_test_success");
    });
    tdxTestAssertFatal(tdVcpuRun(td), 0x0baa_aaad_0000_0000n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdx_test_fatal_with_data: the code with bit 63 (GPA valid) and the data GPA", () => {
    const td = bootGuest((f) => {
      f.call("tdx_test_fatal_with_data", 0x0baa_aaad_0000_0000n, 0x1000);
      f.call("tdx_test_success");
    });
    tdxTestAssertFatal(tdVcpuRun(td), TDX_FATAL_ERROR_GPA_VALID | 0x0baa_aaad_0000_0000n, 0x1000n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdx_assert_error: 0 passes silently, a non-zero value becomes tdx_test_fatal(value)", () => {
    const td = bootGuest((f) => {
      f.call("tdx_assert_error", 0);
      f.call("tdx_test_report_to_user_space", 1);
      f.call("tdx_assert_error", 0x8000_0000_0000_0003n);
      f.call("tdx_test_success");
    });
    expect(tdxTestReadReport(tdxRun(td))).toBe(1);
    tdxTestAssertFatal(tdVcpuRun(td), 0x8000_0000_0000_0003n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdx_test_send_64bit on a test port: two 4-byte OUTs there, low half first", () => {
    const td = bootGuest((f) => {
      f.call("tdx_assert_error", f.call("tdx_test_send_64bit", TDX_IOEXIT_TEST_PORT, 0x0123_4567_89ab_cdefn));
      f.call("tdx_test_success");
    });
    expect(tdxTestRead64bit(tdxRun(td), TDX_IOEXIT_TEST_PORT, () => tdxRun(td))).toBe(0x0123_4567_89ab_cdefn);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
