import { readFile } from "node:fs/promises";
import type { CliIo } from "./io.js";

/** The real process: stdout/stderr, environment, file system, monotonic clock. */
export function nodeIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readFile: (path) => readFile(path),
    now: () => performance.now(),
  };
}
