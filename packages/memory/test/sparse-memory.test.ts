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

describe("SparseMemory aligned fast path", () => {
  it("refuses fractional, NaN and negative addresses that the aligned path could misread", () => {
    const m = new SparseMemory(0x10000);
    m.write32(4, 0x11223344);
    expect(() => m.read32(4.5)).toThrow(/4.5 is not an integer/);
    expect(() => m.write32(4.5, 1)).toThrow(/4.5 is not an integer/);
    expect(() => m.read32(Number.NaN)).toThrow(/NaN is not an integer/);
    expect(() => m.read32(-4)).toThrow(/-4 is negative/);
    expect(() => m.write32(0x10000, 1)).toThrow(/beyond the memory size/);
    expect(m.read32(4)).toBe(0x11223344);
    m.write32(0xfffc, 0xffffffff);
    expect(m.read32(0xfffc)).toBe(0xffffffff);
    expect(m.read8(0xffff)).toBe(0xff);
  });

  it("aligned and unaligned accesses see the same little-endian bytes above 4 GiB", () => {
    const m = new SparseMemory(64 * GiB);
    const a = 5 * GiB + 0x120;
    m.write32(a, 0x80000001);
    expect(m.read8(a)).toBe(0x01);
    expect(m.read8(a + 3)).toBe(0x80);
    expect(m.read32(a + 1)).toBe(0x00800000);
    m.write32(a + 2, 0xaabbccdd);
    expect(m.read32(a)).toBe(0xccdd0001);
    expect(m.read32(a + 4)).toBe(0x0000aabb);
  });

  it("a 64 GiB space with 1 MiB touched holds exactly 256 pages", () => {
    const m = new SparseMemory(64 * GiB);
    for (let i = 0; i < 256; i++) m.write32(i * 256 * 2 ** 20 + 4096 * (i % 7), i + 1);
    expect(m.allocatedPages).toBe(256);
    for (let i = 0; i < 256; i++) expect(m.read32(i * 256 * 2 ** 20 + 4096 * (i % 7))).toBe(i + 1);
    expect(m.read32(100 * 2 ** 20)).toBe(0);
    expect(m.allocatedPages).toBe(256);
  });

  it("pages sharing a storage slab stay independent, and a discarded page never aliases a later one", () => {
    const m = new SparseMemory(64 * GiB);
    // 40 pages: more than one slab, allocated in an order unrelated to their addresses.
    const addrs = Array.from({ length: 40 }, (_, i) => ((i * 37) % 40) * 0x10_0000 + 7 * GiB);
    const views = addrs.map((a, i) => {
      m.write32(a + 4092, i + 1);
      return m.page(a / 4096);
    });
    for (let i = 0; i < addrs.length; i++) {
      expect(m.read32(addrs[i] + 4092)).toBe(i + 1);
      expect(m.read32(addrs[i])).toBe(0);
      expect(views[i].length).toBe(4096);
    }
    m.discard(addrs[3], 4096);
    expect(m.read32(addrs[3] + 4092)).toBe(0);
    expect(m.read32(addrs[4] + 4092)).toBe(5);
    // New pages get fresh storage: writing through the stale view of the discarded page reaches none of them.
    m.write8(addrs[3], 0x11);
    m.write8(0x1000, 0x22);
    views[3].fill(0xee);
    expect(m.read8(addrs[3])).toBe(0x11);
    expect(m.read8(addrs[3] + 4092)).toBe(0);
    expect(m.read8(0x1000)).toBe(0x22);
    for (let i = 0; i < addrs.length; i++) if (i !== 3) expect(m.read32(addrs[i] + 4092)).toBe(i + 1);
    expect(m.allocatedPages).toBe(41);
  });
});
