// The walker against hand-written page tables (independent of the builder).
import { describe, expect, it } from "vitest";
import {
  ACCESS_EFLAGS_AC,
  ACCESS_FETCH,
  ACCESS_IMPLICIT,
  ACCESS_READ,
  ACCESS_USER,
  ACCESS_WRITE,
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  PageWalker,
  type PagingMode,
  PF_I,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  PTE,
  type PteMemory,
  SparseMemory,
  sparsePteMemory,
  WALK_FAULT,
} from "../src/index.js";

const { P, RW, US, A, D, PS, G, NX } = PTE;
const ALL = P | RW | US;
// Table pages: PML5 0x5000, PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
const VA = 0x0000_7fab_cdef_1234n; // PML4 index 255, PDPT 175, PD 111, PT 241
const idx = (va: bigint, level: number) => Number((va >> BigInt(12 + 9 * (level - 1))) & 511n);

interface Chain {
  pml5?: bigint;
  pml4?: bigint;
  pdpt?: bigint;
  pd?: bigint;
  pt?: bigint;
}

function setup(chain: Chain, mode: Partial<PagingMode> = {}, va = VA) {
  const mem = new SparseMemory(2 ** 40);
  const five = mode.levels === 5;
  const put = (table: number, level: number, value: bigint | undefined) => {
    if (value !== undefined) mem.write64(table + idx(va, level) * 8, value);
  };
  if (five) put(0x5000, 5, chain.pml5 ?? 0x1000n | ALL);
  put(0x1000, 4, chain.pml4 ?? 0x2000n | ALL);
  put(0x2000, 3, chain.pdpt ?? 0x3000n | ALL);
  put(0x3000, 2, chain.pd ?? 0x4000n | ALL);
  put(0x4000, 1, chain.pt ?? 0x9000n | ALL);
  const walker = new PageWalker(sparsePteMemory(mem), {
    levels: 4,
    cr3: five ? 0x5000 : 0x1000,
    wp: true,
    nxe: true,
    smep: false,
    smap: false,
    maxPhysAddr: 46,
    ...mode,
  });
  const run = (access: number, at = va) => {
    const r = walker.translateVa(at, access);
    return "gpa" in r ? r.gpa : `#PF ${r.errorCode}`;
  };
  const entry = (table: number, level: number) => mem.read64(table + idx(va, level) * 8);
  return { mem, walker, run, entry };
}

describe("translation", () => {
  it("walks 4 levels to a 4 KiB page", () => {
    const { run, walker } = setup({});
    expect(run(ACCESS_READ)).toBe(0x9234);
    expect(walker.pageSize).toBe(PAGE_SIZE_4K);
    expect(walker.writable && walker.user && !walker.executeDisable).toBe(true);
  });

  it("composes 2 MiB and 1 GiB pages and addresses above 4 GiB from both entry halves", () => {
    const two = setup({ pd: 0x3_4560_0000n | ALL | PS });
    expect(two.run(ACCESS_READ)).toBe(0x3_4560_0000 + 0xf1234);
    expect(two.walker.pageSize).toBe(PAGE_SIZE_2M);
    const one = setup({ pdpt: 0x12_c000_0000n | ALL | PS | G });
    expect(one.run(ACCESS_READ)).toBe(0x12_c000_0000 + 0x0def1234);
    expect(one.walker.pageSize).toBe(PAGE_SIZE_1G);
    expect(one.walker.global).toBe(true);
    const high = setup({ pt: 0x2f_ffff_f000n | ALL });
    expect(high.run(ACCESS_READ)).toBe(0x2f_ffff_f234);
  });

  it("walks 5 levels using linear-address bits 56:48", () => {
    const va = 0x00ab_7fab_cdef_1234n;
    const { run } = setup({}, { levels: 5 }, va);
    expect(run(ACCESS_READ, va)).toBe(0x9234);
    expect(run(ACCESS_READ, 0x00ac_7fab_cdef_1234n)).toBe("#PF 0");
  });

  it("takes the PAT bit of a 4 KiB PTE (bit 7) as an ordinary bit, not as PS", () => {
    const { run, walker } = setup({ pt: 0x9000n | ALL | PS });
    expect(run(ACCESS_READ)).toBe(0x9234);
    expect(walker.pageSize).toBe(PAGE_SIZE_4K);
  });
});

describe("accessed and dirty flags", () => {
  it("a read sets A in every entry used, a write also sets D in the leaf only", () => {
    const { run, entry } = setup({});
    run(ACCESS_READ);
    for (const [table, level] of [
      [0x1000, 4],
      [0x2000, 3],
      [0x3000, 2],
      [0x4000, 1],
    ]) {
      expect(entry(table, level) & (A | D)).toBe(A);
    }
    run(ACCESS_WRITE);
    expect(entry(0x4000, 1) & (A | D)).toBe(A | D);
    expect(entry(0x3000, 2) & D).toBe(0n);
  });

  it("sets D in a 2 MiB leaf and leaves the address bits alone", () => {
    const { run, entry, walker } = setup({ pd: 0x3_4560_0000n | ALL | PS | NX });
    expect(run(ACCESS_WRITE)).toBe(0x3_4560_0000 + 0xf1234);
    expect(entry(0x3000, 2)).toBe(0x3_4560_0000n | ALL | PS | NX | A | D);
    expect(walker.dirty).toBe(true);
  });

  it("a faulting access changes no entry", () => {
    const { run, entry } = setup({ pt: 0x9000n | P | US });
    expect(run(ACCESS_WRITE)).toBe(`#PF ${PF_P | PF_W}`);
    expect(entry(0x1000, 4) & A).toBe(0n);
    expect(entry(0x4000, 1) & (A | D)).toBe(0n);
  });

  it("a PTE fetch that throws (an EPT violation in the CPU layer) aborts the walk with nothing written", () => {
    const mem = new SparseMemory(2 ** 30);
    const inner = sparsePteMemory(mem);
    mem.write64(0x1000, 0x2000n | ALL);
    const failing: PteMemory = {
      read64: (gpa, out) => {
        if (gpa >= 0x2000) throw new Error(`EPT violation at ${gpa}`);
        inner.read64(gpa, out);
      },
      write64: inner.write64,
    };
    const w = new PageWalker(failing, {
      levels: 4,
      cr3: 0x1000,
      wp: true,
      nxe: true,
      smep: false,
      smap: false,
      maxPhysAddr: 46,
    });
    expect(() => w.translate(0, 0, ACCESS_READ)).toThrow(/EPT violation at 8192/);
    expect(mem.read64(0x1000)).toBe(0x2000n | ALL);
  });
});

describe("not-present faults", () => {
  it.each([
    ["PML4E", { pml4: 0x2000n | RW | US }],
    ["PDPTE", { pdpt: 0n }],
    ["PDE", { pd: 0x3000n }],
    ["PTE", { pt: 0x9000n | RW | US }],
  ])("at the %s: error code from the access alone", (_level, chain) => {
    const { run } = setup(chain as Chain);
    expect(run(ACCESS_READ)).toBe("#PF 0");
    expect(run(ACCESS_WRITE | ACCESS_USER)).toBe(`#PF ${PF_W | PF_U}`);
    expect(run(ACCESS_FETCH)).toBe(`#PF ${PF_I}`);
  });

  it("I/D is set only with EFER.NXE or CR4.SMEP", () => {
    expect(setup({ pt: 0n }, { nxe: false }).run(ACCESS_FETCH)).toBe("#PF 0");
    expect(setup({ pt: 0n }, { nxe: false, smep: true }).run(ACCESS_FETCH)).toBe(`#PF ${PF_I}`);
  });

  it("reserved bits of a non-present entry are ignored", () => {
    expect(setup({ pd: 0xffff_ffff_ffff_fffen }).run(ACCESS_READ)).toBe("#PF 0");
  });
});

describe("reserved-bit faults (P|RSVD)", () => {
  const RSVD = `#PF ${PF_P | PF_RSVD}`;
  it.each<[string, Chain, Partial<PagingMode>]>([
    ["PS in a PML4E", { pml4: 0x2000n | ALL | PS }, {}],
    ["PS in a PML5E", { pml5: 0x1000n | ALL | PS }, { levels: 5 }],
    ["an address bit at MAXPHYADDR in a PDPTE", { pdpt: (1n << 46n) | 0x3000n | ALL }, {}],
    ["address bit 51 with MAXPHYADDR 48", { pt: (1n << 51n) | 0x9000n | ALL }, { maxPhysAddr: 48 }],
    ["XD with EFER.NXE = 0", { pd: 0x4000n | ALL | NX }, { nxe: false }],
    ["bit 13 of a 2 MiB PDE", { pd: 0x200000n | (1n << 13n) | ALL | PS }, {}],
    ["bit 20 of a 2 MiB PDE", { pd: 0x200000n | (1n << 20n) | ALL | PS }, {}],
    ["bit 29 of a 1 GiB PDPTE", { pdpt: 0x40000000n | (1n << 29n) | ALL | PS }, {}],
  ])("%s", (_what, chain, mode) => {
    const va = VA & (mode.levels === 5 ? 0xffff_ffff_ffffn : -1n);
    const { run, entry } = setup(chain, mode, va);
    expect(run(ACCESS_READ, va)).toBe(RSVD);
    expect(entry(0x1000, 4) & A).toBe(0n);
  });

  it("carries the access bits: a user write gives P|W|U|RSVD", () => {
    expect(setup({ pml4: 0x2000n | ALL | PS }).run(ACCESS_WRITE | ACCESS_USER)).toBe(
      `#PF ${PF_P | PF_W | PF_U | PF_RSVD}`,
    );
  });

  it("bit 12 (PAT) of a 2 MiB page and bits 51:46 under MAXPHYADDR 52 are not reserved", () => {
    expect(setup({ pd: 0x200000n | (1n << 12n) | ALL | PS }).run(ACCESS_READ)).toBe(0x200000 + 0xf1234);
    expect(setup({ pt: (1n << 51n) | 0x9000n | ALL }, { maxPhysAddr: 52 }).run(ACCESS_READ)).toBe(
      2 ** 51 + 0x9234,
    );
  });
});

describe("access rights", () => {
  const PFP = (bits: number) => `#PF ${PF_P | bits}`;
  it("user accesses need U/S at every level, and R/W for writes", () => {
    expect(setup({ pt: 0x9000n | P | RW }).run(ACCESS_USER)).toBe(PFP(PF_U));
    expect(setup({ pml4: 0x2000n | P | RW }).run(ACCESS_USER)).toBe(PFP(PF_U));
    expect(setup({ pt: 0x9000n | P | US }).run(ACCESS_USER | ACCESS_WRITE)).toBe(PFP(PF_W | PF_U));
    expect(setup({ pd: 0x4000n | P | US }).run(ACCESS_USER | ACCESS_WRITE)).toBe(PFP(PF_W | PF_U));
    expect(setup({ pt: 0x9000n | P | US }).run(ACCESS_USER)).toBe(0x9234);
    // CR0.WP does not help user writes.
    expect(setup({ pt: 0x9000n | P | US }, { wp: false }).run(ACCESS_USER | ACCESS_WRITE)).toBe(
      PFP(PF_W | PF_U),
    );
  });

  it("supervisor writes to read-only pages fault only with CR0.WP", () => {
    expect(setup({ pt: 0x9000n | P }).run(ACCESS_WRITE)).toBe(PFP(PF_W));
    const { run, entry } = setup({ pt: 0x9000n | P }, { wp: false });
    expect(run(ACCESS_WRITE)).toBe(0x9234);
    expect(entry(0x4000, 1) & D).toBe(D);
  });

  it("execute-disable at any level forbids fetches", () => {
    expect(setup({ pdpt: 0x3000n | ALL | NX }).run(ACCESS_FETCH)).toBe(PFP(PF_I));
    expect(setup({ pdpt: 0x3000n | ALL | NX }).run(ACCESS_FETCH | ACCESS_USER)).toBe(PFP(PF_I | PF_U));
    expect(setup({ pdpt: 0x3000n | ALL | NX }).run(ACCESS_READ)).toBe(0x9234);
    expect(setup({ pt: 0x9000n | P }).run(ACCESS_FETCH | ACCESS_USER)).toBe(PFP(PF_I | PF_U));
  });

  it("SMEP forbids supervisor fetches from user pages", () => {
    expect(setup({}, { smep: true }).run(ACCESS_FETCH)).toBe(PFP(PF_I));
    expect(setup({}, { smep: false }).run(ACCESS_FETCH)).toBe(0x9234);
    expect(setup({ pt: 0x9000n | P | RW }, { smep: true }).run(ACCESS_FETCH)).toBe(0x9234);
    expect(setup({}, { smep: true }).run(ACCESS_FETCH | ACCESS_USER)).toBe(0x9234);
  });

  it("SMAP forbids supervisor data accesses to user pages unless EFLAGS.AC (explicit accesses only)", () => {
    const smap = { smap: true };
    expect(setup({}, smap).run(ACCESS_READ)).toBe(PFP(0));
    expect(setup({}, smap).run(ACCESS_WRITE)).toBe(PFP(PF_W));
    expect(setup({}, smap).run(ACCESS_READ | ACCESS_EFLAGS_AC)).toBe(0x9234);
    expect(setup({}, smap).run(ACCESS_READ | ACCESS_EFLAGS_AC | ACCESS_IMPLICIT)).toBe(PFP(0));
    // An implicit supervisor access made at CPL 3 is not a user access: no U in the error code.
    expect(setup({}, smap).run(ACCESS_READ | ACCESS_USER | ACCESS_IMPLICIT)).toBe(PFP(0));
    expect(setup({}, { smap: false }).run(ACCESS_READ | ACCESS_IMPLICIT)).toBe(0x9234);
    expect(setup({ pt: 0x9000n | P | RW }, smap).run(ACCESS_READ)).toBe(0x9234);
  });

  it("with SMAP and EFLAGS.AC, writes to read-only user pages follow CR0.WP", () => {
    const ro = { pt: 0x9000n | P | US };
    expect(setup(ro, { smap: true, wp: true }).run(ACCESS_WRITE | ACCESS_EFLAGS_AC)).toBe(PFP(PF_W));
    expect(setup(ro, { smap: true, wp: false }).run(ACCESS_WRITE | ACCESS_EFLAGS_AC)).toBe(0x9234);
  });

  it("reports the combined rights for the TLB", () => {
    const { run, walker } = setup({ pd: 0x4000n | P | US | NX });
    run(ACCESS_READ);
    expect([walker.writable, walker.user, walker.executeDisable]).toEqual([false, true, true]);
  });
});

describe("mode", () => {
  it("refuses bad modes", () => {
    const pte = sparsePteMemory(new SparseMemory(2 ** 30));
    const base: PagingMode = {
      levels: 4,
      cr3: 0,
      wp: true,
      nxe: true,
      smep: false,
      smap: false,
      maxPhysAddr: 46,
    };
    expect(() => new PageWalker(pte, { ...base, levels: 3 as 4 })).toThrow(/paging levels 3 is not 4 or 5/);
    expect(() => new PageWalker(pte, { ...base, maxPhysAddr: 53 })).toThrow(
      /maxPhysAddr 53 is not in 36..52/,
    );
    expect(() => new PageWalker(pte, { ...base, cr3: -1 })).toThrow(/cr3 -1/);
  });

  it("ignores CR3's low 12 bits (PCID or PWT/PCD) and picks up a new mode", () => {
    const { walker } = setup({});
    walker.setMode({ ...walker.mode, cr3: 0x1000 | 0x18 });
    expect(walker.translate(0xcdef1234 | 0, 0x7fab, ACCESS_READ)).toBe(0x9234);
    walker.setMode({ ...walker.mode, cr3: 0x6000 });
    expect(walker.translate(0xcdef1234 | 0, 0x7fab, ACCESS_READ)).toBe(WALK_FAULT);
    expect(walker.errorCode).toBe(0);
  });
});
