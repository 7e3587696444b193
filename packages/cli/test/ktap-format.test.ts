import { describe, expect, it } from "vitest";
import {
  emptyCounts,
  KSFT_FAIL,
  KSFT_PASS,
  ktapDiagnostic,
  ktapExitCode,
  ktapHarnessSummaryLine,
  ktapPlanLine,
  ktapResultLine,
  ktapSkipAllLine,
  ktapTotalsLines,
  ktapVersionLine,
} from "../src/ktap/format.js";

describe("KTAP lines (kselftest.h / kselftest_harness.h)", () => {
  it("header and plan", () => {
    expect(ktapVersionLine()).toBe("TAP version 13\n");
    expect(ktapPlanLine(18)).toBe("1..18\n");
    expect(ktapSkipAllLine("no /dev/kvm")).toBe("1..0 # SKIP no /dev/kvm\n");
  });

  it("result lines: ok, not ok with the double space of ksft_test_result_code, SKIP", () => {
    expect(ktapResultLine(1, "verify_td_lifecycle", "pass")).toBe("ok 1 verify_td_lifecycle\n");
    expect(ktapResultLine(2, "verify_td_ioexit", "fail")).toBe("not ok 2 verify_td_ioexit\n");
    expect(ktapResultLine(2, "verify_td_ioexit", "fail", "got 0xab")).toBe(
      "not ok 2 verify_td_ioexit #  got 0xab\n",
    );
    expect(ktapResultLine(3, "verify_tdcall_vp_info", "skip", "one vCPU")).toBe(
      "ok 3 verify_tdcall_vp_info # SKIP one vCPU\n",
    );
    expect(ktapResultLine(3, "t", "skip")).toBe("ok 3 t # SKIP\n");
  });

  it("a reason never spills onto a second line", () => {
    expect(ktapResultLine(4, "t", "fail", "first\nsecond")).toBe("not ok 4 t #  first\n");
    expect(ktapResultLine(4, "t", "skip", "  padded \r\nmore")).toBe("ok 4 t # SKIP padded\n");
  });

  it("diagnostics: every line prefixed, empty lines as a bare #", () => {
    expect(ktapDiagnostic("one")).toBe("# one\n");
    expect(ktapDiagnostic("a\nb\r\n\nc ")).toBe("# a\n# b\n#\n# c\n");
  });

  it("closing lines: harness summary, planned-vs-run warning, Totals", () => {
    const counts = { ...emptyCounts(), pass: 16, fail: 1, skip: 1 };
    expect(ktapHarnessSummaryLine(counts)).toBe("# FAILED: 17 / 18 tests passed.\n");
    expect(ktapHarnessSummaryLine({ ...counts, fail: 0 })).toBe("# PASSED: 17 / 17 tests passed.\n");
    expect(ktapTotalsLines(18, counts)).toBe("# Totals: pass:16 fail:1 xfail:0 xpass:0 skip:1 error:0\n");
    expect(ktapTotalsLines(20, counts)).toBe(
      "# Planned tests != run tests (20 != 18)\n# Totals: pass:16 fail:1 xfail:0 xpass:0 skip:1 error:0\n",
    );
  });

  it("exit code as ksft_finished(): pass + xfail + skip must cover the plan", () => {
    expect(ktapExitCode(3, { ...emptyCounts(), pass: 2, skip: 1 })).toBe(KSFT_PASS);
    expect(ktapExitCode(3, { ...emptyCounts(), pass: 2, fail: 1 })).toBe(KSFT_FAIL);
    expect(ktapExitCode(3, { ...emptyCounts(), pass: 2 })).toBe(KSFT_FAIL);
    expect(ktapExitCode(1, { ...emptyCounts(), xpass: 1 })).toBe(KSFT_FAIL);
  });
});
