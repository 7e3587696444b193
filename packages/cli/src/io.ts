import type { UncaughtTrap } from "./runner/uncaught-trap.js";

/** A text sink: process.stdout / process.stderr, or a string buffer in tests. */
export interface OutputStream {
  write(text: string): unknown;
  /** True only for an interactive terminal (drives the progress line). */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Everything the commands touch in the outside world, so tests can run them in-process. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Promise<Uint8Array>;
  /** Milliseconds from a monotonic clock (performance.now in the real process). */
  now(): number;
  /** Starts catching errors that escape a selftest's promise chain (the real process only). */
  trapUncaught?(): UncaughtTrap;
}
