// KTAP lines exactly as kselftest prints them. Sources checked (facts only, no code copied):
// - tools/testing/selftests/kselftest.h: ksft_print_header() prints "TAP version 13";
//   ksft_set_plan() "1..%u"; ksft_print_msg() prefixes "# "; ksft_print_cnts() ends with
//   "# Totals: pass:%u fail:%u xfail:%u xpass:%u skip:%u error:%u" (preceded by
//   "# Planned tests != run tests (%u != %u)" when the counts differ); ksft_exit_skip() before
//   any plan prints "1..0 # SKIP <reason>" and exits KSFT_SKIP (4).
// - kselftest.h ksft_test_result_code() (Linux 6.10+, used by kselftest_harness.h):
//   "<ok|not ok> <n> <name>" then " # SKIP " / " # XFAIL " / " # XPASS " + reason for those
//   codes, or " #  " + reason when there is no directive ("Docs seem to call for double space
//   if directive is absent": the KTAP grammar is `# [<directive>] [<diagnostic data>]`).
// - kselftest_harness.h test_harness_run(): "# PASSED: %u / %u tests passed." (or FAILED)
//   before the totals; a test counts as passed unless its code is FAIL (skip passes).
// - Documentation/dev-tools/ktap.rst: diagnostic lines are "# <text>" and the ones about a
//   test go directly before its result line.

/** kselftest exit codes (kselftest.h). */
export const KSFT_PASS = 0;
export const KSFT_FAIL = 1;
export const KSFT_XFAIL = 2;
export const KSFT_XPASS = 3;
export const KSFT_SKIP = 4;

export type KtapStatus = "pass" | "fail" | "skip";

/** The counters of kselftest's ksft_count, in the order ksft_print_cnts prints them. */
export interface KtapCounts {
  pass: number;
  fail: number;
  xfail: number;
  xpass: number;
  skip: number;
  error: number;
}

export function emptyCounts(): KtapCounts {
  return { pass: 0, fail: 0, xfail: 0, xpass: 0, skip: 0, error: 0 };
}

export function ktapVersionLine(): string {
  return "TAP version 13\n";
}

export function ktapPlanLine(count: number): string {
  return `1..${count}\n`;
}

/** `1..0 # SKIP reason`: ksft_exit_skip() when nothing could run. */
export function ktapSkipAllLine(reason: string): string {
  return `1..0 # SKIP ${oneLine(reason)}\n`;
}

/** One "# " line per line of `text` (a bare "#" for an empty line). */
export function ktapDiagnostic(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => `# ${line}`.trimEnd())
    .join("\n")
    .concat("\n");
}

/** `ok N name`, `not ok N name #  reason`, `ok N name # SKIP reason`. */
export function ktapResultLine(number: number, name: string, status: KtapStatus, reason?: string): string {
  const head = `${status === "fail" ? "not ok" : "ok"} ${number} ${name}`;
  if (status === "skip") return `${head} # SKIP ${oneLine(reason ?? "")}`.trimEnd().concat("\n");
  if (reason === undefined || reason === "") return `${head}\n`;
  return `${head} #  ${oneLine(reason)}\n`;
}

/** kselftest_harness's closing summary: "# PASSED: 3 / 3 tests passed." (skips count as passed). */
export function ktapHarnessSummaryLine(counts: KtapCounts): string {
  const run = totalRun(counts);
  const passed = run - counts.fail - counts.error;
  return `# ${passed === run ? "PASSED" : "FAILED"}: ${passed} / ${run} tests passed.\n`;
}

/** ksft_print_cnts(): the planned-vs-run warning when they differ, then the Totals line. */
export function ktapTotalsLines(plan: number, counts: KtapCounts): string {
  const run = totalRun(counts);
  const mismatch = plan === run ? "" : `# Planned tests != run tests (${plan} != ${run})\n`;
  return (
    mismatch +
    `# Totals: pass:${counts.pass} fail:${counts.fail} xfail:${counts.xfail} ` +
    `xpass:${counts.xpass} skip:${counts.skip} error:${counts.error}\n`
  );
}

/** ksft_finished(): KSFT_PASS when every planned test passed, was skipped or xfailed. */
export function ktapExitCode(plan: number, counts: KtapCounts): number {
  return plan === counts.pass + counts.xfail + counts.skip ? KSFT_PASS : KSFT_FAIL;
}

function totalRun(counts: KtapCounts): number {
  return counts.pass + counts.fail + counts.xfail + counts.xpass + counts.skip + counts.error;
}

/** A result line must stay one line: later lines of a reason are dropped (they go in diagnostics). */
function oneLine(text: string): string {
  return text.split(/\r?\n/, 1)[0].trim();
}
