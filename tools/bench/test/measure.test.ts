import { describe, expect, it } from "vitest";
import { formatRate, measure } from "../src/measure.js";

describe("measure", () => {
  it("counts the operations the body performs", () => {
    let calls = 0;
    const f = measure(
      "loop",
      " ops/s",
      (n) => {
        for (let i = 0; i < n; i++) calls++;
      },
      5,
      2,
    );
    expect(calls).toBeGreaterThan(0);
    expect(f.rate).toBeGreaterThan(0);
    expect(f.unit).toBe(" ops/s");
  });
  it("formats rates with SI prefixes", () => {
    expect(formatRate(2.5e9)).toBe("2.50 G");
    expect(formatRate(123.4e6)).toBe("123.4 M");
    expect(formatRate(1500)).toBe("1.5 k");
  });
});
