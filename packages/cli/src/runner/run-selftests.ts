import type { OutputStream } from "../io.js";
import {
  emptyCounts,
  type KtapCounts,
  type KtapStatus,
  ktapDiagnostic,
  ktapExitCode,
  ktapHarnessSummaryLine,
  ktapPlanLine,
  ktapResultLine,
  ktapTotalsLines,
  ktapVersionLine,
} from "../ktap/format.js";
import type { Progress } from "./progress.js";
import { runCase } from "./run-case.js";
import { type SelftestCase, validateSelftestList } from "./selftest-case.js";

/** kselftest_harness's default per-test timeout (TEST_TIMEOUT_DEFAULT, 30 s). */
export const DEFAULT_SELFTEST_TIMEOUT_MS = 30_000;

export interface RunSelftestsOptions {
  /** Where the KTAP goes. */
  readonly stdout: OutputStream;
  /** The live progress line (see createProgress); none by default. */
  readonly progress?: Progress;
  /** Print every case's log as it comes and the stack of failures; otherwise a case's log is
   *  printed only when it does not pass. */
  readonly verbose?: boolean;
  /** Monotonic milliseconds; injectable so tests get fixed times. */
  readonly now?: () => number;
  readonly timeoutMs?: number;
}

export interface SelftestResult {
  readonly number: number;
  readonly name: string;
  readonly status: KtapStatus;
  readonly reason?: string;
  readonly durationMs: number;
}

export interface SelftestRunSummary {
  readonly plan: number;
  readonly counts: KtapCounts;
  readonly results: readonly SelftestResult[];
  readonly durationMs: number;
  /** 0 (KSFT_PASS) when nothing failed, else 1 (KSFT_FAIL), as ksft_finished() decides. */
  readonly exitCode: number;
}

/**
 * Runs the cases in order and prints kselftest's KTAP (see ../ktap/format.ts):
 *
 *     TAP version 13
 *     1..N
 *     # <log and failure diagnostics of case k>
 *     # <name>: <time> ms
 *     ok k <name>   |   not ok k <name> #  <reason>   |   ok k <name> # SKIP <reason>
 *     # PASSED: p / N tests passed.
 *     # Total time: <s> s
 *     # Totals: pass:.. fail:.. xfail:0 xpass:0 skip:.. error:0
 *
 * Throws SelftestListError (before printing anything) when the list itself is malformed.
 */
export async function runSelftests(
  cases: readonly SelftestCase[],
  options: RunSelftestsOptions,
): Promise<SelftestRunSummary> {
  validateSelftestList(cases);
  const now = options.now ?? (() => performance.now());
  const verbose = options.verbose ?? false;
  const progress = options.progress ?? { show() {}, clear() {} };
  const emit = (text: string) => {
    progress.clear();
    options.stdout.write(text);
  };

  const counts = emptyCounts();
  const results: SelftestResult[] = [];
  const runStart = now();
  emit(ktapVersionLine() + ktapPlanLine(cases.length));

  for (const [index, testCase] of cases.entries()) {
    const number = index + 1;
    progress.show(`[${number}/${cases.length}] ${testCase.name}`);
    const log: string[] = [];
    const start = now();
    const outcome = await runCase(testCase, {
      verbose,
      timeoutMs: options.timeoutMs ?? DEFAULT_SELFTEST_TIMEOUT_MS,
      onLog: (text) => (verbose ? emit(ktapDiagnostic(text)) : log.push(text)),
    });
    const durationMs = now() - start;

    let lines = "";
    if (outcome.status === "fail") lines += log.map(ktapDiagnostic).join("");
    lines += outcome.diagnostics.map(ktapDiagnostic).join("");
    lines += ktapDiagnostic(`${testCase.name}: ${formatMilliseconds(durationMs)}`);
    lines += ktapResultLine(number, testCase.name, outcome.status, outcome.reason);
    emit(lines);

    counts[outcome.status]++;
    results.push({ number, name: testCase.name, status: outcome.status, reason: outcome.reason, durationMs });
  }

  const durationMs = now() - runStart;
  emit(
    ktapHarnessSummaryLine(counts) +
      ktapDiagnostic(`Total time: ${formatSeconds(durationMs)}`) +
      ktapTotalsLines(cases.length, counts),
  );
  progress.clear();
  return { plan: cases.length, counts, results, durationMs, exitCode: ktapExitCode(cases.length, counts) };
}

export function formatMilliseconds(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}
