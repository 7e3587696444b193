import { readFile } from "node:fs/promises";
import type { CliIo } from "./io.js";
import { processUncaughtTrap } from "./runner/uncaught-trap.js";

/** The real process: stdout/stderr, environment, file system, monotonic clock. */
export function nodeIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readFile: (path) => readFile(path),
    now: () => performance.now(),
    trapUncaught: processUncaughtTrap,
  };
}

/** 128 + SIGPIPE: the status a C kselftest binary gets when its reader goes away. */
export const EXIT_BROKEN_PIPE = 141;

/**
 * `tdxsim selftests | head` closes the pipe early: stop quietly, with the status a C program
 * killed by SIGPIPE has, instead of an EPIPE stack trace.
 */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(EXIT_BROKEN_PIPE);
  });
}
