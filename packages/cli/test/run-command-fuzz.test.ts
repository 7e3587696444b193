import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { createTdGuestRunner } from "../src/td-runner/run-td-guest.js";
import { captureIo } from "./helpers/capture-io.js";
import { minimalElf } from "./helpers/minimal-elf.js";

/** xorshift32: the same mutations on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("tdxsim run on corrupted ELF files", () => {
  // A mutation that still loads runs for real, on a short instruction limit: whatever its bytes
  // do, the answer is a result line (0 or 1), never an internal error or a stack trace.
  const guestRunner = createTdGuestRunner({ maxInstructions: 20_000, slice: 5_000 });

  it("answers every one with one line and status 2 (unusable), or runs it to a result (0/1)", async () => {
    const next = random(0x7d5);
    const original = minimalElf();
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const bytes = original.slice(0, 1 + Math.floor(next() * original.length));
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const io = captureIo({ "g.elf": bytes });
      const status = await main(["run", "g.elf"], io, { selftests: () => [], guestRunner });
      seen.add(status);
      expect([0, 1, 2]).toContain(status);
      expect(io.stderr.text).not.toContain("internal error");
      expect(io.stderr.text).not.toMatch(/\s+at /);
      if (status === 2) {
        expect(io.stdout.text).toBe("");
        expect(io.stderr.text.split("\n")).toHaveLength(2);
        expect(io.stderr.text).toMatch(
          /^tdxsim run: (g\.elf is not a usable guest ELF|cannot build a TD for g\.elf): /,
        );
      } else {
        expect(io.stderr.text).toBe("");
        expect(io.stdout.text).toMatch(/\nresult: (PASS|FAIL) — .*\n$/);
      }
    }
    expect(seen).toContain(2);
  });

  it("runs valid ELF files whose code is random bytes to a result line, never an internal error", async () => {
    const next = random(0x51ab);
    const original = minimalElf();
    const codeOffset = original.length - 3;
    for (let i = 0; i < 40; i++) {
      const bytes = original.slice();
      for (let b = codeOffset; b < bytes.length; b++) bytes[b] = Math.floor(next() * 256);
      const io = captureIo({ "g.elf": bytes });
      const status = await main(["run", "g.elf"], io, { selftests: () => [], guestRunner });
      expect([0, 1]).toContain(status);
      expect(io.stderr.text).toBe("");
      expect(io.stdout.text).toMatch(/\nresult: (PASS|FAIL) — .*\n$/);
    }
  });
});
