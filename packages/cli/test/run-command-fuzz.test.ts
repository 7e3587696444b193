import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
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
  it("answers every one with a single line and status 1 (unusable) or 2 (valid, no TD runner)", async () => {
    const next = random(0x7d5);
    const original = minimalElf();
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const bytes = original.slice(0, 1 + Math.floor(next() * original.length));
      const flips = 1 + Math.floor(next() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const io = captureIo({ "g.elf": bytes });
      const status = await main(["run", "g.elf"], io);
      seen.add(status);
      expect([1, 2]).toContain(status);
      expect(io.stdout.text).toBe("");
      expect(io.stderr.text.split("\n")).toHaveLength(2);
      expect(io.stderr.text).not.toContain("internal error");
      if (status === 1)
        expect(io.stderr.text.startsWith("tdxsim run: g.elf is not a usable guest ELF: ")).toBe(true);
    }
    expect(seen).toContain(1);
  });
});
