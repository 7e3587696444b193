// Access sizes, alignment, page-crossing reads and writes (both pages checked before any byte
// is written), and instruction fetch across a page boundary.
import { describe, expect, it } from "vitest";
import { VECTOR_PF } from "../../src/mmu/index.js";
import { faultOf, Guest, split } from "./helpers.js";

const VA = 0x40_0000n;
// Two virtually adjacent pages mapped to physically distant frames.
const GPA0 = 0x80_0000;
const GPA1 = 0x30_0000;

function twoPages(secondOptions: { writable?: boolean; present?: boolean; executable?: boolean } = {}) {
  const g = new Guest();
  g.map(VA, GPA0, 4096);
  if (secondOptions.present !== false) {
    g.map(VA + 0x1000n, GPA1, 4096, {
      writable: secondOptions.writable ?? true,
      executable: secondOptions.executable ?? true,
    });
  }
  return g;
}

describe("access sizes", () => {
  it("reads and writes 1, 2, 4, 8 and 16 bytes little-endian, aligned and not", () => {
    const g = twoPages();
    const m = g.mmu;
    for (const base of [0x100n, 0x101n, 0x103n]) {
      const [lo, hi] = split(VA + base);
      m.write64(lo, hi, 0x44332211, 0x88776655 | 0);
      expect(m.read8(lo, hi)).toBe(0x11);
      expect(m.read16(lo, hi)).toBe(0x2211);
      expect(m.read32(lo, hi)).toBe(0x44332211);
      expect(m.read64(lo, hi)).toBe(0x44332211);
      expect(m.hi).toBe(0x88776655 | 0);
      expect(g.memory.read64(GPA0 + Number(base))).toBe(0x8877665544332211n);
      m.write16(lo, hi, 0xbeef);
      m.write8(lo, hi, 0x7f);
      expect(m.read32(lo, hi) >>> 0).toBe(0x4433be7f);
      m.write32(lo, hi, -2);
      expect(m.read32(lo, hi)).toBe(-2);
      const x = new Int32Array([1, 2, 3, -4, 0, 0, 0, 0]);
      m.write128(lo, hi, x, 0);
      m.read128(lo, hi, x, 4);
      expect([...x.subarray(4)]).toEqual([1, 2, 3, -4]);
      expect(g.memory.read32(GPA0 + Number(base) + 12)).toBe(0xfffffffc);
    }
  });

  it("gives stack and system accessors the same data", () => {
    const g = twoPages();
    const [lo, hi] = split(VA + 0xff8n);
    g.mmu.writeStack64(lo, hi, 5, 6);
    expect(g.mmu.readStack64(lo, hi)).toBe(5);
    expect(g.mmu.hi).toBe(6);
    g.mmu.writeStack32(lo, hi, 9);
    g.mmu.writeStack16(lo + 4, hi, 0x1234);
    expect(g.mmu.readStack32(lo, hi)).toBe(9);
    expect(g.mmu.readStack16(lo + 4, hi)).toBe(0x1234);
    g.mmu.writeSystem64(lo, hi, 1, 2);
    g.mmu.writeSystem8(lo, hi, 0xff);
    expect(g.mmu.readSystem64(lo, hi)).toBe(0xff);
    expect(g.mmu.hi).toBe(2);
    g.mmu.writeSystem16(lo, hi, 0xabcd);
    g.mmu.writeSystem32(lo + 4, hi, 0x77);
    expect(g.mmu.readSystem16(lo, hi)).toBe(0xabcd);
    expect(g.mmu.readSystem32(lo + 4, hi)).toBe(0x77);
  });
});

describe("page-crossing accesses", () => {
  it("reads and writes across two pages mapped to distant frames", () => {
    const g = twoPages();
    for (const [off, size] of [
      [0xfff, 2],
      [0xffd, 4],
      [0xffe, 4],
      [0xff9, 8],
      [0xffc, 8],
      [0xff1, 16],
      [0xff8, 16],
    ]) {
      const [lo, hi] = split(VA + BigInt(off));
      const bytes = Array.from({ length: size }, (_, k) => (off + k * 37) & 0xff);
      const padded = new Uint8Array(16);
      padded.set(bytes);
      const words = new Int32Array(padded.buffer);
      if (size === 2) g.mmu.write16(lo, hi, words[0]);
      if (size === 4) g.mmu.write32(lo, hi, words[0]);
      if (size === 8) g.mmu.write64(lo, hi, words[0], words[1]);
      if (size === 16) g.mmu.write128(lo, hi, words, 0);
      const inFirst = 4096 - off;
      const physical = [
        ...g.memory.readBytes(GPA0 + off, inFirst),
        ...g.memory.readBytes(GPA1, size - inFirst),
      ];
      expect(physical).toEqual(bytes);
      if (size === 2) expect(g.mmu.read16(lo, hi)).toBe(words[0] & 0xffff);
      if (size === 4) expect(g.mmu.read32(lo, hi)).toBe(words[0]);
      if (size === 8) {
        expect(g.mmu.read64(lo, hi)).toBe(words[0]);
        expect(g.mmu.hi).toBe(words[1]);
      }
      if (size === 16) {
        const out = new Int32Array(4);
        g.mmu.read128(lo, hi, out, 0);
        expect([...out]).toEqual([...words]);
      }
    }
  });

  it("leaves memory unchanged when the second page is not present", () => {
    const g = twoPages({ present: false });
    g.memory.write32(GPA0 + 0xffc, 0x11111111);
    const [lo, hi] = split(VA + 0xffen);
    const f = faultOf(() => g.mmu.write64(lo, hi, -1, -1));
    expect([f.vector, f.errorCode, f.cr2]).toEqual([VECTOR_PF, 0x2, VA + 0x1000n]);
    expect(g.memory.read32(GPA0 + 0xffc)).toBe(0x11111111);
    // The dirty flag of the first page is set by its (successful) translation, as on the CPU.
    expect(g.entry(VA) & 0x40n).toBe(0x40n);
  });

  it("leaves memory unchanged when the second page is read-only", () => {
    const g = twoPages({ writable: false });
    const [lo, hi] = split(VA + 0xfffn);
    const f = faultOf(() => g.mmu.write16(lo, hi, 0xffff));
    expect([f.errorCode, f.cr2]).toEqual([0x3, VA + 0x1000n]);
    expect(g.memory.read8(GPA0 + 0xfff)).toBe(0);
    expect(g.memory.read8(GPA1)).toBe(0);
  });

  it("faults on the first page first", () => {
    const g = new Guest();
    g.map(VA + 0x1000n, GPA1, 4096);
    const [lo, hi] = split(VA + 0xffcn);
    expect(faultOf(() => g.mmu.read64(lo, hi)).cr2).toBe(VA + 0xffcn);
  });

  it("carries the next page's address into bits 63:32", () => {
    const g = new Guest();
    g.map(0xffff_ffff_ffff_e000n, GPA0, 8192);
    const [lo, hi] = split(0xffff_ffff_ffff_effen);
    g.mmu.write32(lo, hi, 0x04030201);
    expect(g.memory.read32(GPA0 + 0xffe)).toBe(0x04030201);
    const g2 = new Guest();
    g2.map(0x0000_0000_ffff_f000n, GPA0, 4096);
    g2.map(0x0000_0001_0000_0000n, GPA1, 4096);
    const [lo2, hi2] = split(0x0000_0000_ffff_fffen);
    g2.mmu.write32(lo2, hi2, 0x04030201);
    expect(g2.memory.read16(GPA0 + 0xffe)).toBe(0x0201);
    expect(g2.memory.read16(GPA1)).toBe(0x0403);
  });
});

describe("instruction fetch", () => {
  it("copies bytes up to the page end and reports the GPA", () => {
    const g = twoPages();
    g.memory.writeBytes(GPA0 + 0xffa, new Uint8Array([1, 2, 3, 4, 5, 6]));
    g.memory.writeBytes(GPA1, new Uint8Array([7, 8, 9]));
    const out = new Uint8Array(16);
    const [lo, hi] = split(VA + 0xffan);
    expect(g.mmu.fetchBytes(lo, hi, out, 0, 15)).toBe(6);
    expect(g.mmu.fetchGpa).toBe(GPA0 + 0xffa);
    const [lo2, hi2] = split(VA + 0x1000n);
    expect(g.mmu.fetchBytes(lo2, hi2, out, 6, 9)).toBe(9);
    expect(g.mmu.fetchGpa).toBe(GPA1);
    expect([...out.subarray(0, 9)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(g.mmu.codeGpa(lo, hi)).toBe(GPA0 + 0xffa);
  });

  it("faults on the next page only when it is asked for, with CR2 at its first byte", () => {
    const g = twoPages({ executable: false });
    const out = new Uint8Array(16);
    const [lo, hi] = split(VA + 0xffen);
    expect(g.mmu.fetchBytes(lo, hi, out, 0, 15)).toBe(2);
    const [lo2, hi2] = split(VA + 0x1000n);
    const f = faultOf(() => g.mmu.fetchBytes(lo2, hi2, out, 2, 13));
    expect([f.errorCode, f.cr2]).toEqual([0x11, VA + 0x1000n]);
  });
});
