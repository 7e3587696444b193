import type { CliIo, OutputStream } from "../../src/io.js";

export interface CapturedStream extends OutputStream {
  text: string;
}

export function capturedStream(isTTY = false): CapturedStream {
  const stream = {
    text: "",
    isTTY,
    columns: 80,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

/** A clock that advances by fixed steps, so every printed time is known in advance. */
export function steppingClock(stepMs: number): () => number {
  let t = 0;
  return () => {
    const value = t;
    t += stepMs;
    return value;
  };
}

export interface CapturedIo extends CliIo {
  readonly stdout: CapturedStream;
  readonly stderr: CapturedStream;
}

export function captureIo(
  files: Record<string, Uint8Array> = {},
  options: { stderrIsTTY?: boolean; env?: Record<string, string | undefined>; stepMs?: number } = {},
): CapturedIo {
  return {
    stdout: capturedStream(),
    stderr: capturedStream(options.stderrIsTTY ?? false),
    env: options.env ?? {},
    now: steppingClock(options.stepMs ?? 0.25),
    async readFile(path) {
      const bytes = files[path];
      if (bytes === undefined) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {
          code: "ENOENT",
        });
      }
      return bytes;
    },
  };
}
