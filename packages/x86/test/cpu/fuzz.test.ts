// CI slice of the CPU robustness fuzz (the full ≥ 10 M run: tools/fuzz-cpu.ts).
import { describe, expect, it } from "vitest";
import { newFuzzGuest, Rng, randomStream, runStream, STOP_REASONS } from "./fuzz-streams.js";

const STREAMS = Number(process.env.X86_CPU_FUZZ ?? 20_000);

describe("random instruction streams", () => {
  it(`${STREAMS} streams end in a stop, never a JS exception`, () => {
    const rng = new Rng(2026);
    let g = newFuzzGuest();
    const seen = new Map<string, number>();
    for (let n = 0; n < STREAMS; n++) {
      if (n % 500 === 0) g = newFuzzGuest(); // random stores may wreck the tables; start clean now and then
      const bytes = randomStream(rng);
      let stops: ReturnType<typeof runStream>;
      try {
        stops = runStream(g, rng, bytes, 48);
      } catch (e) {
        const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
        throw new Error(`stream ${n} (${hex}) threw: ${(e as Error).stack ?? e}`);
      }
      for (const s of stops) {
        expect(STOP_REASONS.has(s.reason)).toBe(true);
        seen.set(s.reason, (seen.get(s.reason) ?? 0) + 1);
      }
    }
    // The generator reaches the common outcomes (guards against a generator that only makes #UD).
    for (const r of ["hlt", "budget-exhausted", "io", "mmio", "unsupported"])
      expect(seen.get(r) ?? 0).toBeGreaterThan(0);
  }, 170_000);
});
