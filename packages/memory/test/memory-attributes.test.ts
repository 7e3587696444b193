import { describe, expect, it } from "vitest";
import { ErrnoError, MemoryAttributes, KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIVATE } from "../src/index.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function errnoOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ErrnoError) return e.message;
    throw e;
  }
  throw new Error("no error thrown");
}

describe("KVM_SET_MEMORY_ATTRIBUTES", () => {
  it("every page starts shared (attributes 0)", () => {
    const a = new MemoryAttributes();
    expect(a.get(0)).toBe(0);
    expect(a.isPrivate(123 * GiB)).toBe(false);
    expect(a.classify(0, GiB)).toBe("shared");
  });

  it("sets and clears PRIVATE over ranges; queries by GPA see page granularity", () => {
    const a = new MemoryAttributes();
    a.set({ address: MiB, size: 2 * MiB, attributes: PRIVATE });
    expect(a.isPrivate(MiB - 1)).toBe(false);
    expect(a.isPrivate(MiB)).toBe(true);
    expect(a.get(3 * MiB - 1)).toBe(PRIVATE);
    expect(a.isPrivate(3 * MiB)).toBe(false);
    a.set({ address: 2 * MiB, size: 4096, attributes: 0 });
    expect(a.isPrivate(2 * MiB)).toBe(false);
    expect(a.isPrivate(2 * MiB + 4096)).toBe(true);
    expect(a.intervals()).toEqual([
      { start: 0x100, end: 0x200, attributes: PRIVATE },
      { start: 0x201, end: 0x300, attributes: PRIVATE },
    ]);
  });

  it("classifies ranges as private, shared or mixed", () => {
    const a = new MemoryAttributes();
    a.set({ address: MiB, size: MiB, attributes: PRIVATE });
    expect(a.classify(MiB, MiB)).toBe("private");
    expect(a.classify(MiB + 4096, 4096)).toBe("private");
    expect(a.classify(0, MiB)).toBe("shared");
    expect(a.classify(0, 2 * MiB)).toBe("mixed");
    expect(a.classify(MiB, 2 * MiB)).toBe("mixed");
    expect(a.rangeHas(MiB, MiB, PRIVATE, PRIVATE)).toBe(true);
    expect(a.rangeHas(MiB, MiB, 0, 0)).toBe(true);
  });

  it("merges neighbours and overwrites: a 2^40-byte conversion is one interval", () => {
    const a = new MemoryAttributes();
    a.set({ address: 0, size: 2 ** 40, attributes: PRIVATE });
    expect(a.intervals()).toEqual([{ start: 0, end: 2 ** 28, attributes: PRIVATE }]);
    for (let i = 0; i < 8; i++) a.set({ address: i * 2 * MiB, size: MiB, attributes: 0 });
    expect(a.intervals()).toHaveLength(8);
    a.set({ address: 0, size: 16 * MiB, attributes: PRIVATE });
    expect(a.intervals()).toHaveLength(1);
    a.set({ address: 0, size: 2 ** 40, attributes: 0 });
    expect(a.intervals()).toEqual([]);
    expect(a.classify(0, 2 ** 40)).toBe("shared");
  });

  it("accepts addresses far above 2^52 as u64 bigints (attributes are per gfn, independent of memslots)", () => {
    const a = new MemoryAttributes();
    a.set({ address: 2n ** 63n, size: 4096n, attributes: 8n });
    expect(a.intervals(0, 2 ** 52)).toEqual([]);
    expect(a.get(2 ** 52)).toBe(0);
  });

  it("agrees with a per-page model over random operations", () => {
    const pages = 256;
    const model = new Uint8Array(pages);
    const a = new MemoryAttributes();
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    for (let step = 0; step < 500; step++) {
      const start = rnd(pages);
      const len = 1 + rnd(pages - start);
      const v = rnd(2) ? PRIVATE : 0;
      a.set({ address: start * 4096, size: len * 4096, attributes: v });
      model.fill(v, start, start + len);
      const probe = rnd(pages);
      expect(a.get(probe * 4096)).toBe(model[probe]);
    }
    for (let p = 0; p < pages; p++) expect(a.get(p * 4096)).toBe(model[p]);
    const ivs = a.intervals();
    for (let i = 1; i < ivs.length; i++) expect(ivs[i].start).toBeGreaterThan(ivs[i - 1].end - 1);
  });

  it.each([
    [{ address: 0, size: 4096, attributes: PRIVATE, flags: 1 }, /EINVAL: flags 0x1 must be 0/],
    [
      { address: 0, size: 4096, attributes: 1 << 4 },
      /EINVAL: attributes 0x10 has bits outside the supported 0x8/,
    ],
    [{ address: 0, size: 0, attributes: PRIVATE }, /EINVAL: size is 0/],
    [{ address: 2n ** 64n - 4096n, size: 8192, attributes: PRIVATE }, /EINVAL: address .* wraps/],
    [{ address: 0x800, size: 4096, attributes: PRIVATE }, /EINVAL: address 0x800 is not page aligned/],
    [{ address: 0, size: 100, attributes: PRIVATE }, /EINVAL: size 0x64 is not page aligned/],
    [{ address: -4096, size: 4096, attributes: PRIVATE }, /EINVAL: address -4096 is not a u64/],
  ])("refuses %o and changes nothing", (args, message) => {
    const a = new MemoryAttributes();
    a.set({ address: 0, size: MiB, attributes: PRIVATE });
    const g = a.generation;
    expect(errnoOf(() => a.set(args))).toMatch(message);
    expect(a.generation).toBe(g);
    expect(a.intervals()).toEqual([{ start: 0, end: 256, attributes: PRIVATE }]);
  });

  it("a VM without private memory supports no attributes", () => {
    const a = new MemoryAttributes(0);
    expect(errnoOf(() => a.set({ address: 0, size: 4096, attributes: PRIVATE }))).toMatch(/supported 0x0/);
  });

  it("range queries name a bad range", () => {
    const a = new MemoryAttributes();
    expect(errnoOf(() => a.classify(1, 4096))).toMatch(/EINVAL: gpa 1 is not a page-aligned address/);
    expect(errnoOf(() => a.classify(0, 0))).toMatch(/EINVAL: size 0 is not a positive multiple/);
  });
});
