import { inspect } from "node:util";

/**
 * Errors no promise chain caught: a rejection nobody awaited, an exception thrown from a timer
 * callback. Without a trap, Node ends the process with a stack trace; with one, the error fails
 * the case that was running (the way a crash of a forked kselftest child fails only that test).
 */
export type UncaughtKind = "unhandledRejection" | "uncaughtException";

export interface UncaughtTrap {
  /** Called with each uncaught error; the runner sets it per case. */
  onError: ((error: unknown, kind: UncaughtKind) => void) | undefined;
  dispose(): void;
}

/** A trap on the current process's "unhandledRejection" and "uncaughtException" events. */
export function processUncaughtTrap(): UncaughtTrap {
  const trap: UncaughtTrap = {
    onError: undefined,
    dispose() {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    },
  };
  const onRejection = (error: unknown) => trap.onError?.(error, "unhandledRejection");
  const onException = (error: unknown) => trap.onError?.(error, "uncaughtException");
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return trap;
}

/** A trap that never fires by itself (tests call onError to simulate one). */
export function manualUncaughtTrap(): UncaughtTrap {
  return { onError: undefined, dispose() {} };
}

/** The error a case fails with when something it started escaped: "unhandledRejection: boom". */
export function uncaughtFailure(error: unknown, kind: UncaughtKind): Error {
  const inner = error instanceof Error ? error : undefined;
  const wrapped = new Error(
    inner ? inner.message : inspect(error, { breakLength: Number.POSITIVE_INFINITY }),
  );
  wrapped.name = inner && inner.name !== "Error" ? `${kind}: ${inner.name}` : kind;
  if (inner?.stack) wrapped.stack = inner.stack;
  return wrapped;
}
