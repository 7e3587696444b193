// A CI-sized slice of the random SEAMCALL/TDCALL fuzzer (the full ≥ 1 M run: `pnpm fuzz`).
import { describe, expect, it } from "vitest";
import { fuzz } from "./fuzz-engine.js";

describe("fuzz slice", () => {
  for (const seed of [1, 2, 3, 0xdecade]) {
    it(`seed ${seed}: no exception, invariants hold after every call`, () => {
      expect(fuzz(seed, 1500)).toBeGreaterThan(1500);
    });
  }
  it("reaches interrupted 2 MiB ACCEPTs (progress kept in PENDING entries, checked by the invariants)", () => {
    const stats = { interruptedAccepts: 0 };
    fuzz(7, 6000, 50, stats);
    expect(stats.interruptedAccepts).toBeGreaterThan(0);
  });
});
