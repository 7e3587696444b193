import type { OutputStream } from "../io.js";

/**
 * The live "[3/18] verify_td_ioexit" line on stderr. Only on an interactive terminal: never in
 * a pipe, a file, under CI=... or TERM=dumb, so logs and KTAP consumers never see control codes.
 */
export interface Progress {
  show(text: string): void;
  /** Erases the line (before anything else is printed to the terminal, and at the end). */
  clear(): void;
}

const ERASE_LINE = "\r\x1b[2K";

export function progressEnabled(stderr: OutputStream, env: Readonly<Record<string, string | undefined>>) {
  return stderr.isTTY === true && !env.CI && env.TERM !== "dumb";
}

export function createProgress(
  stderr: OutputStream,
  env: Readonly<Record<string, string | undefined>>,
): Progress {
  if (!progressEnabled(stderr, env)) return { show() {}, clear() {} };
  let visible = false;
  const width = Math.max(20, (stderr.columns || 80) - 1); // a pty may report 0 columns
  return {
    show(text) {
      stderr.write(`${ERASE_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      visible = true;
    },
    clear() {
      if (visible) stderr.write(ERASE_LINE);
      visible = false;
    },
  };
}
