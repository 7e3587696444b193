/**
 * The contract between the `tdxsim selftests` runner and a test suite.
 *
 * @tdxsim/tdx-vm-tests implements it: one `SelftestCase` per upstream test (name = the upstream
 * function name, e.g. "verify_td_lifecycle") plus one per extra case, in the order they should
 * run. The suite sits below the CLI in the layering, so it does not import this file: it exports
 * objects of the same shape (TypeScript checks the shape when the CLI imports the list), or this
 * interface moves down into the suite package and the CLI re-exports it.
 *
 * A case passes when `run` returns (or its promise resolves). It fails when `run` throws or its
 * promise rejects; the first line of the error message becomes the KTAP reason, and the whole
 * message, the test's log and (with --verbose) the stack go in `# ` diagnostic lines. Each case
 * must build its own VM: the runner shares nothing between cases.
 */
export interface SelftestCase {
  /** KTAP description: non-empty, one line, no "#" (it would start a directive). Unique in a suite. */
  readonly name: string;
  run(ctx: SelftestContext): Promise<void> | void;
}

/** What a running case may do besides pass or throw. */
export interface SelftestContext {
  /** The running case's name. */
  readonly name: string;
  /** A diagnostic line (printed as "# text"; multi-line text gives one "# " line per line). */
  log(text: string): void;
  /** Ends the case as skipped (`ok N name # SKIP reason`), like kselftest's SKIP(). */
  skip(reason: string): never;
}

/** Where the command takes its test list from; the suite package supplies the real one. */
export type SelftestProvider = () => readonly SelftestCase[] | Promise<readonly SelftestCase[]>;

/** Thrown by `ctx.skip`; the runner reports it as SKIP, never as a failure. */
export class SelftestSkip extends Error {
  override name = "SelftestSkip";
  readonly reason: string;

  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/** A suite that cannot be run as given (bad name, duplicate, missing run function). */
export class SelftestListError extends Error {
  override name = "SelftestListError";
}

/** Checks the list before any KTAP is printed, so a broken suite never yields half a report. */
export function validateSelftestList(cases: readonly SelftestCase[]): void {
  const seen = new Set<string>();
  cases.forEach((testCase, index) => {
    const where = `selftest #${index + 1}`;
    if (typeof testCase?.name !== "string" || testCase.name.trim() === "") {
      throw new SelftestListError(`${where} has no name`);
    }
    const name = testCase.name;
    if (/[\r\n#]/.test(name) || name !== name.trim()) {
      throw new SelftestListError(
        `${where} name ${JSON.stringify(name)} must be one line without "#" or surrounding spaces`,
      );
    }
    if (typeof testCase.run !== "function") {
      throw new SelftestListError(`${where} (${name}) has no run function`);
    }
    if (seen.has(name)) throw new SelftestListError(`${where}: duplicate name ${name}`);
    seen.add(name);
  });
}
