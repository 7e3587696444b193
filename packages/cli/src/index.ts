export { parseCommandLine, UsageError } from "./commands/parse-options.js";
export { MAX_TD_VCPUS, NO_TD_RUNNER, runCommand } from "./commands/run.js";
export { NO_SELFTESTS_REGISTERED, selftestsCommand } from "./commands/selftests.js";
export { EXIT_FAILURE, EXIT_OK, EXIT_SKIP, EXIT_USAGE } from "./commands/usage.js";
export type { TdGuestRunner, TdGuestRunRequest } from "./guest-runner.js";
export type { CliIo, OutputStream } from "./io.js";
export * from "./ktap/format.js";
export { type CliDependencies, defaultDependencies, main } from "./main.js";
export { EXIT_BROKEN_PIPE, exitQuietlyOnClosedStdout, nodeIo } from "./node-io.js";
export { registeredGuestRunner, registeredSelftests } from "./registry.js";
export { globToRegExp, isGlob, nameMatcher } from "./runner/filter.js";
export { createProgress, type Progress, progressEnabled } from "./runner/progress.js";
export { type CaseOutcome, runCase, SelftestTimeout } from "./runner/run-case.js";
export {
  DEFAULT_SELFTEST_TIMEOUT_MS,
  formatMilliseconds,
  formatSeconds,
  type RunSelftestsOptions,
  runSelftests,
  type SelftestResult,
  type SelftestRunSummary,
} from "./runner/run-selftests.js";
export {
  type SelftestCase,
  type SelftestContext,
  SelftestListError,
  type SelftestProvider,
  SelftestSkip,
  validateSelftestList,
} from "./runner/selftest-case.js";
export {
  manualUncaughtTrap,
  processUncaughtTrap,
  type UncaughtKind,
  type UncaughtTrap,
  uncaughtFailure,
} from "./runner/uncaught-trap.js";
export { type BuiltTd, buildTd, TdBuildError, tdMemorySizeFor } from "./td-runner/build-td.js";
export { isSuccessReport, isValueReport, ReportDecoder } from "./td-runner/exit-lines.js";
export {
  createTdGuestRunner,
  DEFAULT_MAX_INSTRUCTIONS,
  DEFAULT_RUN_SLICE,
  RUN_EXIT_GUEST_FAILED,
  RUN_EXIT_SUCCESS,
  RUN_EXIT_UNUSABLE,
  runTdGuest,
  type TdGuestRunnerOptions,
} from "./td-runner/run-td-guest.js";
export { portName, TEST_PORT_NAMES } from "./td-runner/test-ports.js";
export { cliVersion } from "./version.js";
