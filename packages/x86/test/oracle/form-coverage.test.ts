// Oracle: every form of the table, encoded with random operands, decodes in iced-x86 to the
// same length, mnemonic and operands (and in our decoder to the same form).
import { describe, expect, it } from "vitest";
import { formCoverage } from "./form-coverage.js";

describe("every table form agrees with iced-x86", () => {
  it("20 random instances per form", () => {
    const r = formCoverage(20, 0xc0ffee);
    expect(r.forms).toBeGreaterThan(900);
    expect(r.checked).toBeGreaterThan(r.forms * 15);
    expect(r.failures.slice(0, 10)).toEqual([]);
  });

  it("in 32-bit code: 10 random instances per form valid there", () => {
    const r = formCoverage(10, 0xbeef, undefined, true);
    expect(r.forms).toBeGreaterThan(800);
    expect(r.failures.slice(0, 10)).toEqual([]);
  });
});
