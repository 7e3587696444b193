import type { KtapStatus } from "../ktap/format.js";
import { describeFailure } from "./describe-failure.js";
import { type SelftestCase, type SelftestContext, SelftestSkip } from "./selftest-case.js";

export interface CaseOutcome {
  readonly status: KtapStatus;
  /** KTAP reason: the failure's first line, or the skip reason. */
  readonly reason?: string;
  /** Diagnostic text to print before the result line (the log is handled by the caller). */
  readonly diagnostics: readonly string[];
}

export interface RunCaseOptions {
  /** Receives each ctx.log() text while the case runs. */
  readonly onLog: (text: string) => void;
  /** Adds the stack of a thrown error to the diagnostics. */
  readonly verbose: boolean;
  /** Fails a case whose promise has not settled after this many ms (0: no limit). */
  readonly timeoutMs: number;
  /** Rejects when an error escapes the case's promise chain (see uncaught-trap.ts). */
  readonly uncaught?: Promise<never>;
}

/**
 * Runs one case, isolated: whatever it throws or rejects with becomes a `fail` outcome, never
 * an exception out of here. A synchronous endless loop cannot be interrupted in-process; the
 * simulator's instruction budgets are what keep guest runs bounded.
 */
export async function runCase(testCase: SelftestCase, options: RunCaseOptions): Promise<CaseOutcome> {
  let finished = false;
  const ctx: SelftestContext = {
    name: testCase.name,
    log(text) {
      if (!finished) options.onLog(String(text));
    },
    skip(reason) {
      throw new SelftestSkip(reason);
    },
  };
  try {
    const running = Promise.resolve().then(() => testCase.run(ctx));
    const { uncaught } = options;
    await withTimeout(uncaught ? Promise.race([running, uncaught]) : running, options.timeoutMs);
    // Node reports a rejection nobody awaited only after the microtask queue drains: give it
    // one macrotask turn, so a promise the case left behind fails this case, not the next one.
    if (uncaught) await Promise.race([new Promise((resolve) => setImmediate(resolve)), uncaught]);
    return { status: "pass", diagnostics: [] };
  } catch (thrown) {
    if (thrown instanceof SelftestSkip) return { status: "skip", reason: thrown.reason, diagnostics: [] };
    const failure = describeFailure(thrown);
    const diagnostics: string[] = [];
    if (failure.detail.length > 0) diagnostics.push(failure.reason, ...failure.detail);
    if (options.verbose) diagnostics.push(...failure.stack);
    return { status: "fail", reason: failure.reason, diagnostics };
  } finally {
    finished = true;
  }
}

export class SelftestTimeout extends Error {
  override name = "SelftestTimeout";
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (timeoutMs <= 0) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SelftestTimeout(`did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
