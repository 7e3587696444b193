import type { OutputStream } from "../io.js";
import {
  emptyCounts,
  KSFT_FAIL,
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
import { describeFailure } from "./describe-failure.js";
import type { Progress } from "./progress.js";
import { runCase } from "./run-case.js";
import { type SelftestCase, validateSelftestList } from "./selftest-case.js";
import { type UncaughtKind, type UncaughtTrap, uncaughtFailure } from "./uncaught-trap.js";

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
  /** Catches errors that escape a case's promise chain (processUncaughtTrap() in the CLI). */
  readonly uncaught?: UncaughtTrap;
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
  /** Uncaught errors that arrived while no case was running (each also a diagnostic line). */
  readonly strayErrors: number;
  /** 0 (KSFT_PASS) when nothing failed, else 1 (KSFT_FAIL), as ksft_finished() decides; also 1
   *  when an uncaught error arrived between cases. */
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

  const trap = options.uncaught;
  const stray: string[] = [];
  const collectStray = (error: unknown, kind: UncaughtKind) =>
    stray.push(`uncaught error outside any test: ${describeFailure(uncaughtFailure(error, kind)).reason}`);
  const takeStray = () => stray.splice(0).map(ktapDiagnostic).join("");
  if (trap) trap.onError = collectStray;

  const counts = emptyCounts();
  let strayErrors = 0;
  const results: SelftestResult[] = [];
  const runStart = now();
  emit(ktapVersionLine() + ktapPlanLine(cases.length));

  for (const [index, testCase] of cases.entries()) {
    const number = index + 1;
    const status = `[${number}/${cases.length}] ${testCase.name}`;
    progress.show(status);
    const log: string[] = [];
    const start = now();
    const outcome = await runCase(testCase, {
      verbose,
      timeoutMs: options.timeoutMs ?? DEFAULT_SELFTEST_TIMEOUT_MS,
      onLog: (text) => {
        if (!verbose) return void log.push(text);
        emit(ktapDiagnostic(text));
        progress.show(status); // a live log line must not leave the terminal without its progress line
      },
      uncaught: trap ? armTrap(trap) : undefined,
    });
    if (trap) trap.onError = collectStray;
    const durationMs = now() - start;

    strayErrors += stray.length;
    let lines = takeStray();
    if (outcome.status === "fail") lines += log.map(ktapDiagnostic).join("");
    lines += outcome.diagnostics.map(ktapDiagnostic).join("");
    lines += ktapDiagnostic(`${testCase.name}: ${formatMilliseconds(durationMs)}`);
    lines += ktapResultLine(number, testCase.name, outcome.status, outcome.reason);
    emit(lines);

    counts[outcome.status]++;
    results.push({ number, name: testCase.name, status: outcome.status, reason: outcome.reason, durationMs });
  }

  const durationMs = now() - runStart;
  strayErrors += stray.length;
  emit(
    takeStray() +
      ktapHarnessSummaryLine(counts) +
      ktapDiagnostic(`Total time: ${formatSeconds(durationMs)}`) +
      ktapTotalsLines(cases.length, counts),
  );
  progress.clear();
  const exitCode = strayErrors > 0 ? KSFT_FAIL : ktapExitCode(cases.length, counts);
  return { plan: cases.length, counts, results, durationMs, strayErrors, exitCode };
}

/** A promise that rejects with the next uncaught error while this case runs. */
function armTrap(trap: UncaughtTrap): Promise<never> {
  const uncaught = new Promise<never>((_, reject) => {
    trap.onError = (error, kind) => reject(uncaughtFailure(error, kind));
  });
  uncaught.catch(() => {}); // raced by runCase; never itself an unhandled rejection
  return uncaught;
}

export function formatMilliseconds(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}
