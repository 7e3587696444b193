/**
 * One test of the suite, in the shape the `tdxsim selftests` runner consumes (@tdxsim/cli's
 * SelftestCase). Declared here structurally because the suite sits below the CLI: the CLI imports
 * this list and TypeScript checks the shape there. `run` throws to fail.
 */
export interface TdxVmTestCase {
  /** The upstream test function's name, e.g. "verify_td_lifecycle". */
  readonly name: string;
  run(ctx: TdxVmTestContext): void | Promise<void>;
}

/** The part of the runner's context a case may use. */
export interface TdxVmTestContext {
  readonly name: string;
  log(text: string): void;
}
