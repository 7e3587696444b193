import { describe, expect, it } from "vitest";
import { AddressError, checkGpa, GPA_LIMIT, isPageAligned, pageNumber } from "../src/index.js";

describe("checkGpa", () => {
  it("accepts integers from 0 to 2^52 - 1", () => {
    expect(checkGpa(0)).toBe(0);
    expect(checkGpa(GPA_LIMIT - 1)).toBe(GPA_LIMIT - 1);
  });
  it("rejects non-integers, negatives and values at or above 2^52, naming the value", () => {
    expect(() => checkGpa(1.5)).toThrow(/1.5 is not an integer/);
    expect(() => checkGpa(-4096)).toThrow(/-4096 is negative/);
    expect(() => checkGpa(GPA_LIMIT, "guest_phys_addr")).toThrow(
      /guest_phys_addr 0x10000000000000 is not below 2\^52/,
    );
    expect(() => checkGpa(Number.NaN)).toThrow(AddressError);
  });
});

describe("page helpers", () => {
  it("computes page numbers and alignment above 2^32", () => {
    expect(pageNumber(0x1_0000_1fff)).toBe(0x100001);
    expect(isPageAligned(0x1_0000_1000)).toBe(true);
    expect(isPageAligned(0x1_0000_1001)).toBe(false);
  });
});
