import { inspect } from "node:util";

/** How a thrown value is reported: one-line KTAP reason plus diagnostic lines. */
export interface FailureReport {
  /** First line of the message, prefixed with the error's class name when it has a specific one. */
  readonly reason: string;
  /** The message's further lines (empty for a one-line message). */
  readonly detail: readonly string[];
  /** The stack frames, for --verbose. */
  readonly stack: readonly string[];
}

export function describeFailure(thrown: unknown): FailureReport {
  if (!(thrown instanceof Error)) {
    const text = inspect(thrown, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
    return { reason: `threw a non-Error value: ${text.split("\n", 1)[0]}`, detail: [], stack: [] };
  }
  const lines = thrown.message.trimEnd().split(/\r?\n/);
  const named = thrown.name && thrown.name !== "Error" ? `${thrown.name}: ` : "";
  const first = lines[0].trim() === "" ? "(no message)" : lines[0].trim();
  const detail = lines.slice(1);
  // KvmError-style wrappers keep the low-level error as `cause`; show it, one line.
  if (thrown.cause instanceof Error) {
    detail.push(`caused by ${thrown.cause.name}: ${thrown.cause.message.split("\n", 1)[0]}`);
  } else if (thrown.cause !== undefined) {
    detail.push(
      `caused by ${inspect(thrown.cause, { breakLength: Number.POSITIVE_INFINITY }).split("\n", 1)[0]}`,
    );
  }
  return {
    reason: `${named}${first}`,
    detail,
    stack: stackFrames(thrown),
  };
}

/** The "    at ..." lines only: the message part of `stack` is already in reason/detail. */
function stackFrames(error: Error): string[] {
  return (error.stack ?? "")
    .split("\n")
    .filter((line) => /^\s+at /.test(line))
    .map((line) => line.trim());
}
