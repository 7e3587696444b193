import { UsageError } from "./commands/parse-options.js";
import { runCommand } from "./commands/run.js";
import { selftestsCommand } from "./commands/selftests.js";
import {
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  MAIN_USAGE,
  RUN_USAGE,
  SELFTESTS_USAGE,
} from "./commands/usage.js";
import type { TdGuestRunner } from "./guest-runner.js";
import type { CliIo } from "./io.js";
import { registeredGuestRunner, registeredSelftests } from "./registry.js";
import { SelftestListError, type SelftestProvider } from "./runner/selftest-case.js";
import { cliVersion } from "./version.js";

/** What the commands run; tests pass their own, the binary uses ./registry.ts. */
export interface CliDependencies {
  readonly selftests: SelftestProvider;
  readonly guestRunner?: TdGuestRunner;
}

export const defaultDependencies: CliDependencies = {
  selftests: registeredSelftests,
  guestRunner: registeredGuestRunner,
};

const COMMAND_USAGE: Record<string, string> = { selftests: SELFTESTS_USAGE, run: RUN_USAGE };

/**
 * `tdxsim <command> ...` → exit status. Never throws: a bad command line prints the message and
 * the usage (status 2); anything unexpected prints one line, no stack trace (status 1).
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  deps: CliDependencies = defaultDependencies,
): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "selftests":
        return await selftestsCommand(args, io, deps.selftests);
      case "run":
        return await runCommand(args, io, deps.guestRunner);
      case "--help":
      case "-h":
      case "help":
        return usageOrHelp(args, io);
      case "--version":
        if (args.length > 0) throw new UsageError(`--version takes no arguments, got '${args[0]}'`);
        io.stdout.write(`tdxsim ${cliVersion()}\n`);
        return EXIT_OK;
      case undefined:
        io.stderr.write(`tdxsim: no command given\n\n${MAIN_USAGE}`);
        return EXIT_USAGE;
      default:
        throw new UsageError(
          command.startsWith("-") ? `unknown option '${command}'` : `unknown command '${command}'`,
        );
    }
  } catch (error) {
    return reportError(error, command, io);
  }
}

function usageOrHelp(args: readonly string[], io: CliIo): number {
  if (args.length === 0) {
    io.stdout.write(MAIN_USAGE);
    return EXIT_OK;
  }
  const usage =
    args.length === 1 && Object.hasOwn(COMMAND_USAGE, args[0]) ? COMMAND_USAGE[args[0]] : undefined;
  if (usage === undefined) throw new UsageError(`no help for '${args.join(" ")}'`);
  io.stdout.write(usage);
  return EXIT_OK;
}

function reportError(error: unknown, command: string | undefined, io: CliIo): number {
  const known = command !== undefined && Object.hasOwn(COMMAND_USAGE, command);
  const prefix = known ? `tdxsim ${command}` : "tdxsim";
  if (error instanceof UsageError) {
    io.stderr.write(`${prefix}: ${error.message}\n\n${known ? COMMAND_USAGE[command] : MAIN_USAGE}`);
    return EXIT_USAGE;
  }
  if (error instanceof SelftestListError) {
    io.stderr.write(`${prefix}: invalid selftest list: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.stderr.write(`${prefix}: internal error: ${text.split("\n", 1)[0]}\n`);
  return EXIT_FAILURE;
}
