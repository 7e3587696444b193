import { describe, expect, it } from "vitest";
import {
  AddressError,
  checkGpa,
  GPA_LIMIT,
  hasSharedBit,
  isPageAligned,
  pageNumber,
  sharedBitValue,
  stripSharedBit,
} from "../src/index.js";

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

describe("TDX shared GPA bit", () => {
  it("tests and strips bit 47 or 51", () => {
    expect(hasSharedBit(2 ** 47 + 0x1000, 47)).toBe(true);
    expect(hasSharedBit(0x1000, 47)).toBe(false);
    expect(stripSharedBit(2 ** 47 + 0x1000, 47)).toBe(0x1000);
    expect(stripSharedBit(2 ** 51 + 2 ** 47, 51)).toBe(2 ** 47);
    expect(stripSharedBit(0x5000, 51)).toBe(0x5000);
    expect(sharedBitValue(51)).toBe(2 ** 51);
    expect(() => sharedBitValue(52)).toThrow(/shared bit 52 is not in 12..51/);
  });
});
