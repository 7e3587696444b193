import { describe, expect, it } from "vitest";
import {
  ACCESS_READ,
  ACCESS_USER,
  linearPageAllocator,
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  PageTableBuilder,
  PageWalker,
  type PagingMode,
  PTE,
  SparseMemory,
  sparsePteMemory,
  WALK_FAULT,
} from "../src/index.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function setup(levels: 4 | 5 = 4, mode: Partial<PagingMode> = {}, builderExtra = {}) {
  const mem = new SparseMemory(2 ** 46);
  const pte = sparsePteMemory(mem);
  let next = 0x100000;
  const builder = new PageTableBuilder({
    levels,
    memory: pte,
    allocTable: () => {
      const p = next;
      next += 4096;
      return p;
    },
    ...builderExtra,
  });
  const walker = new PageWalker(pte, {
    levels,
    cr3: builder.root,
    wp: true,
    nxe: true,
    smep: false,
    smap: false,
    maxPhysAddr: 46,
    ...mode,
  });
  return { mem, pte, builder, walker };
}

function walk(w: PageWalker, va: number | bigint, access = ACCESS_READ): number | string {
  const r = w.translateVa(va, access);
  return "gpa" in r ? r.gpa : `#PF ${r.errorCode}`;
}

/** A 64-bit entry as stored at `gpa`. */
function entryAt(mem: SparseMemory, gpa: number): bigint {
  return mem.read64(gpa);
}

describe("PageTableBuilder", () => {
  it("identity-maps 4 GiB with 2 MiB pages in 6 table pages", () => {
    const { builder, walker } = setup();
    builder.map(0, 0, 4 * GiB, { maxPageSize: PAGE_SIZE_2M });
    expect(builder.tablePages).toBe(6);
    for (const va of [0, 0x1234, 2 * MiB + 5, 3 * GiB + 0x123456, 4 * GiB - 1]) {
      expect(walk(walker, va)).toBe(va);
      expect(walker.pageSize).toBe(PAGE_SIZE_2M);
    }
    expect(walk(walker, 4 * GiB)).toBe("#PF 0");
  });

  it("uses the largest page size that fits alignment and length", () => {
    const { builder, walker } = setup();
    // 4 KiB head, 2 MiB pages up to 1 GiB, a 1 GiB page, 2 MiB and 4 KiB tail.
    const start = GiB - 2 * MiB - 4096;
    const size = 4096 + 2 * MiB + GiB + 2 * MiB + 8192;
    builder.map(start, 8 * GiB + start, size);
    const expectSize = (va: number, s: number) => {
      expect(walk(walker, va)).toBe(8 * GiB + va);
      expect(walker.pageSize).toBe(s);
    };
    expectSize(start, PAGE_SIZE_4K);
    expectSize(GiB - 2 * MiB, PAGE_SIZE_2M);
    expectSize(GiB + 12345, PAGE_SIZE_1G);
    expectSize(2 * GiB + MiB, PAGE_SIZE_2M);
    expectSize(2 * GiB + 2 * MiB + 4096, PAGE_SIZE_4K);
    expect(walk(walker, 2 * GiB + 2 * MiB + 8192)).toBe("#PF 0");
  });

  it("writes the documented entry bits (leaf flags, PS, NX, G, intermediate P|RW|US)", () => {
    const { builder, mem } = setup();
    builder.map(2 * MiB, 0x40000000 + 2 * MiB, 2 * MiB, {
      writable: false,
      user: true,
      executable: false,
      global: true,
    });
    const pml4e = entryAt(mem, builder.root);
    expect(pml4e & 0xfffn).toBe(PTE.P | PTE.RW | PTE.US);
    const pdpt = Number(pml4e & 0xffffffffff000n);
    const pdpte = entryAt(mem, pdpt);
    const pd = Number(pdpte & 0xffffffffff000n);
    const pde = entryAt(mem, pd + 8);
    expect(pde).toBe(PTE.NX | BigInt(0x40200000) | PTE.P | PTE.US | PTE.PS | PTE.G);
  });

  it("maps upper-half (bigint) addresses, and with 5 levels addresses above 2^47", () => {
    const four = setup(4);
    const kernel = 0xffffffff80000000n;
    four.builder.map(kernel, 0x200000, 4 * MiB);
    expect(walk(four.walker, kernel + 0x1234n)).toBe(0x201234);
    expect(() => four.builder.map(2 ** 47, 0, 4096)).toThrow(
      /gva 0x800000000000 is not canonical for 4-level paging/,
    );
    const five = setup(5);
    five.builder.map(2 ** 50, 0x300000, 4096);
    expect(walk(five.walker, 2 ** 50 + 8)).toBe(0x300008);
    five.builder.map(0xff00000000000000n, 0x400000, 2 * MiB);
    expect(walk(five.walker, 0xff00000000000000n + 0x10n)).toBe(0x400010);
    expect(walk(five.walker, 0xff00000000200000n)).toBe("#PF 0");
  });

  it("sets the configured shared GPA bit in shared leaves", () => {
    const { builder, walker } = setup(4, {}, { sharedBit: 45 });
    builder.map(0, 0x10000, 4096, { shared: true });
    builder.map(4096, 0x10000, 4096);
    expect(walk(walker, 0)).toBe(2 ** 45 + 0x10000);
    expect(walk(walker, 4096)).toBe(0x10000);
  });

  it("descends into an existing table instead of overwriting it with a large page", () => {
    const { builder, walker } = setup();
    builder.map(0x1000, 0x1000, 4096);
    builder.map(2 * MiB, 2 * MiB, 2 * MiB);
    builder.map(0, 0x7000_0000, 4096, { maxPageSize: PAGE_SIZE_2M });
    expect(walk(walker, 0)).toBe(0x7000_0000);
    expect(walk(walker, 0x1000)).toBe(0x1000);
  });

  it("refuses an overlapping map() before writing anything", () => {
    const { builder, mem, walker } = setup();
    builder.map(4 * MiB, 4 * MiB, 2 * MiB, { maxPageSize: PAGE_SIZE_2M });
    const tables = builder.tablePages;
    const image = mem.readBytes(0x100000, tables * 4096);
    const pages = mem.allocatedPages;
    // The head (4 KiB below 4 MiB) would need a new page table; the tail hits the 2 MiB page.
    expect(() => builder.map(4 * MiB - 4096, 0x9000_0000, 8192)).toThrow(
      /gva 0x400000 is already mapped \(level 2 entry present\)/,
    );
    expect(builder.tablePages).toBe(tables);
    expect(mem.allocatedPages).toBe(pages);
    expect(mem.readBytes(0x100000, tables * 4096)).toEqual(image);
    expect(walk(walker, 4 * MiB - 4096)).toBe("#PF 0");
    // Mapping the same 4 KiB page twice is refused too.
    builder.map(0, 0, 4096);
    expect(() => builder.map(0, 0x5000, 4096)).toThrow(/gva 0x0 is already mapped \(level 1 entry present\)/);
  });

  it.each([
    [() => [1, 0, 4096], /gva 0x1 is not page aligned/],
    [() => [0, 1, 4096], /gpa 1 is not a page-aligned physical address/],
    [() => [0, 0, 0], /size 0 is not a positive multiple of 4 KiB/],
    [() => [0, 2 ** 52 - 4096, 8192], /goes beyond MAXPHYADDR 52/],
    [() => [-4096, 0, 4096], /gva -4096 is not a linear address/],
    [
      () => [2 ** 47 - 4096, 0, 8192],
      /gva range ends beyond its canonical half of the 4-level address space/,
    ],
    [() => [0xfffffffffffff000n, 0, 8192], /gva range ends beyond its canonical half/],
  ])("refuses bad arguments (%#)", (args, message) => {
    const { builder } = setup();
    const [gva, gpa, size] = args() as [number | bigint, number, number];
    expect(() => builder.map(gva, gpa, size)).toThrow(message);
    expect(builder.tablePages).toBe(1);
  });

  it("refuses bad options and allocator results", () => {
    const { builder, pte } = setup();
    expect(() => builder.map(0, 0, 4096, { maxPageSize: 8192 })).toThrow(/maxPageSize 8192/);
    expect(() => builder.map(0, 0, 4096, { shared: true })).toThrow(/no sharedBit configured/);
    expect(() => new PageTableBuilder({ levels: 4, memory: pte, allocTable: () => 0x1234 })).toThrow(
      /allocTable\(\) result 4660 is not a page-aligned/,
    );
    expect(() => new PageTableBuilder({ levels: 3 as 4, memory: pte, allocTable: () => 0 })).toThrow(
      /levels 3/,
    );
    expect(
      () => new PageTableBuilder({ levels: 4, memory: pte, allocTable: () => 0, sharedBit: 52 }),
    ).toThrow(/sharedBit 52/);
  });
});

describe("linearPageAllocator", () => {
  it("hands out consecutive pages and says when the area is full", () => {
    const alloc = linearPageAllocator(0x10000, 0x12000);
    expect([alloc(), alloc()]).toEqual([0x10000, 0x11000]);
    expect(() => alloc()).toThrow(/page-table area \[0x10000, 0x12000\) is full/);
    expect(() => linearPageAllocator(0x10, 0x2000)).toThrow(/not a page-aligned GPA range/);
  });
});

describe("builder and walker agree with a model", () => {
  it.each([4, 5] as const)("random mappings, %i levels", (levels) => {
    const { builder, walker } = setup(levels, { maxPhysAddr: 52 });
    let seed = levels * 7919;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    // Mapped ranges in virtual pages: [vpage, vpage+pages) -> ppage.
    const model: { vpage: number; pages: number; ppage: number }[] = [];
    const lookup = (v: number) => {
      const m = model.find((r) => v >= r.vpage && v < r.vpage + r.pages);
      return m === undefined ? WALK_FAULT : (m.ppage + v - m.vpage) * 4096;
    };
    const sizes = [4096, PAGE_SIZE_2M, PAGE_SIZE_1G];
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const unit = sizes[rnd(3)] / 4096;
      const pages = (1 + rnd(3)) * unit;
      const vpage = rnd(2 ** 9) * unit * 8 + (rnd(4) === 0 ? 1 : 0);
      const ppage = rnd(2 ** 12) * unit;
      if (model.some((r) => vpage < r.vpage + r.pages && r.vpage < vpage + pages)) {
        expect(() => builder.map(vpage * 4096, ppage * 4096, pages * 4096)).toThrow(/already mapped/);
        refused++;
        continue;
      }
      builder.map(vpage * 4096, ppage * 4096, pages * 4096, { user: true });
      model.push({ vpage, pages, ppage });
    }
    expect(refused).toBeGreaterThan(0);
    const probe = (v: number, access: number) =>
      walker.translate(((v % 2 ** 20) * 4096 + 0x7f8) | 0, Math.floor(v / 2 ** 20), access);
    for (const r of model) {
      for (const v of [r.vpage, r.vpage + r.pages - 1, r.vpage + rnd(r.pages)]) {
        expect(probe(v, ACCESS_USER)).toBe(lookup(v) + 0x7f8);
      }
      expect(probe(r.vpage + r.pages, ACCESS_READ)).toBe(
        lookup(r.vpage + r.pages) === WALK_FAULT ? WALK_FAULT : lookup(r.vpage + r.pages) + 0x7f8,
      );
    }
    for (let i = 0; i < 3000; i++) {
      const v = rnd(2 ** 9 * 8 * 262144);
      const want = lookup(v);
      expect(probe(v, ACCESS_READ)).toBe(want === WALK_FAULT ? WALK_FAULT : want + 0x7f8);
    }
  });
});
