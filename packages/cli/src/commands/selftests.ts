import type { CliIo } from "../io.js";
import { ktapSkipAllLine, ktapVersionLine } from "../ktap/format.js";
import { nameMatcher } from "../runner/filter.js";
import { createProgress } from "../runner/progress.js";
import { runSelftests } from "../runner/run-selftests.js";
import { type SelftestProvider, validateSelftestList } from "../runner/selftest-case.js";
import { parseCommandLine, UsageError } from "./parse-options.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_SKIP, SELFTESTS_USAGE } from "./usage.js";

const OPTIONS = {
  list: { type: "boolean" },
  filter: { type: "string", multiple: true },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const NO_SELFTESTS_REGISTERED =
  "no selftests are registered: the @tdxsim/tdx-vm-tests suite is not part of this build";

/** `tdxsim selftests [--list] [--filter PATTERN]... [--verbose]`. */
export async function selftestsCommand(
  args: readonly string[],
  io: CliIo,
  provider: SelftestProvider,
): Promise<number> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (values.help) {
    io.stdout.write(SELFTESTS_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `takes no arguments, got '${positionals[0]}' (to select tests: --filter ${positionals[0]})`,
    );
  }
  const filters = (values.filter as string[] | undefined) ?? [];

  const all = await provider();
  validateSelftestList(all);
  if (all.length === 0) {
    // Honest empty result, as ksft_exit_skip() does when nothing can run: KSFT_SKIP, not a pass.
    if (!values.list) io.stdout.write(ktapVersionLine() + ktapSkipAllLine(NO_SELFTESTS_REGISTERED));
    io.stderr.write(`tdxsim selftests: ${NO_SELFTESTS_REGISTERED}\n`);
    return EXIT_SKIP;
  }
  const matches = nameMatcher(filters);
  const selected = all.filter((testCase) => matches(testCase.name));
  if (selected.length === 0) {
    const shown = filters.map((f) => `'${f}'`).join(", ");
    io.stderr.write(`tdxsim selftests: no selftest name matches --filter ${shown} (see --list)\n`);
    return EXIT_FAILURE;
  }
  if (values.list) {
    io.stdout.write(selected.map((testCase) => `${testCase.name}\n`).join(""));
    return EXIT_OK;
  }
  const uncaught = io.trapUncaught?.();
  try {
    const summary = await runSelftests(selected, {
      stdout: io.stdout,
      progress: createProgress(io.stderr, io.env),
      verbose: values.verbose === true,
      now: () => io.now(),
      uncaught,
    });
    return summary.exitCode;
  } finally {
    uncaught?.dispose();
  }
}
