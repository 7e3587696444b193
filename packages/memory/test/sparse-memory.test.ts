import { describe, expect, it } from "vitest";
import { SparseMemory } from "../src/index.js";

const GiB = 2 ** 30;

describe("SparseMemory", () => {
  it("reads zeros from untouched memory without allocating", () => {
    const m = new SparseMemory(64 * GiB);
    expect(m.read32(0x12345678)).toBe(0);
    expect(m.read64(60 * GiB)).toBe(0n);
    expect(m.readBytes(0x1000, 16)).toEqual(new Uint8Array(16));
    m.fill(0, 0x10000, 0);
    expect(m.allocatedPages).toBe(0);
  });

  it("stores little-endian values of every width, also across page boundaries", () => {
    const m = new SparseMemory(64 * GiB);
    m.write32(0x1ffe, 0xdeadbeef);
    expect(m.read8(0x1ffe)).toBe(0xef);
    expect(m.read8(0x2001)).toBe(0xde);
    expect(m.read32(0x1ffe)).toBe(0xdeadbeef);
    expect(m.read16(0x1fff)).toBe(0xadbe);
    m.write64(40 * GiB + 0xffc, 0x0123456789abcdefn);
    expect(m.read64(40 * GiB + 0xffc)).toBe(0x0123456789abcdefn);
    expect(m.read32(40 * GiB + 0x1000)).toBe(0x01234567);
    expect(m.allocatedPages).toBe(4);
  });

  it("copies byte ranges in and out and fills them", () => {
    const m = new SparseMemory(1 << 20);
    const data = Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff);
    m.writeBytes(0x800, data);
    expect(m.readBytes(0x800, 10000)).toEqual(data);
    m.fill(0x900, 0x2000, 0xaa);
    expect(m.read8(0x8ff)).toBe(0xff);
    expect(m.read8(0x900)).toBe(0xaa);
    expect(m.read8(0x28ff)).toBe(0xaa);
  });

  it("discards whole pages so they read as zeros again", () => {
    const m = new SparseMemory(1 << 20);
    m.write32(0x3000, 7);
    m.write32(0x5000, 9);
    m.discard(0x3000, 0x2000);
    expect(m.read32(0x3000)).toBe(0);
    expect(m.read32(0x5000)).toBe(9);
    expect(m.allocatedPages).toBe(1);
    expect(() => m.discard(0x3001, 0x1000)).toThrow(/not page aligned/);
  });

  it("refuses accesses beyond its size or at bad addresses, naming them", () => {
    const m = new SparseMemory(0x10000);
    expect(() => m.read32(0xfffe)).toThrow(/0xfffe\+0x4 is beyond the memory size 0x10000/);
    expect(() => m.write8(-1, 0)).toThrow(/-1 is negative/);
    expect(() => new SparseMemory(100)).toThrow(/not a positive multiple of 4096/);
    expect(m.allocatedPages).toBe(0);
  });
});
