// TLB semantics: translations are cached until a flush (a changed PTE is not seen before
// INVLPG/CR3 write, exactly like the CPU), global pages survive CR3 writes with CR4.PGE, INVLPG
// inside a large page drops the whole page, mode changes flush everything, the second stage's
// generation invalidates, and flushes cost O(used entries).
import { describe, expect, it } from "vitest";
import { CR0_PE, CR0_PG, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE } from "../../src/mmu/index.js";
import { Guest, split } from "./helpers.js";

const VA = 0x40_0000n;
const GPA_A = 0x80_0000;
const GPA_B = 0x90_0000;

/** Maps VA → GPA_A, primes the TLB with a read, then repoints the PTE at GPA_B in memory. */
function stale(options: { global?: boolean; pge?: boolean } = {}) {
  const g = new Guest({ pge: options.pge });
  g.map(VA, GPA_A, 4096, { global: options.global });
  g.memory.write32(GPA_A, 0xaaaa);
  g.memory.write32(GPA_B, 0xbbbb);
  const [lo, hi] = split(VA);
  expect(g.mmu.read32(lo, hi)).toBe(0xaaaa);
  g.setEntry(VA, (g.entry(VA) & ~0x000f_ffff_ffff_f000n) | BigInt(GPA_B));
  return { g, lo, hi, read: () => g.mmu.read32(lo, hi) };
}

describe("TLB caching and flushes", () => {
  it("keeps using a cached translation until INVLPG", () => {
    const { g, lo, hi, read } = stale();
    expect(read()).toBe(0xaaaa);
    g.mmu.invlpg(lo + 0x123, hi); // any address inside the page
    expect(read()).toBe(0xbbbb);
  });

  it("INVLPG of another page keeps this one", () => {
    const { g, lo, hi, read } = stale();
    g.mmu.invlpg(lo + 0x1000, hi);
    expect(read()).toBe(0xaaaa);
  });

  it("flushes non-global entries on a CR3 write; global ones only with CR4.PGE", () => {
    let s = stale({ global: true, pge: true });
    s.g.mmu.writeCr3(s.g.builder.root);
    expect(s.read()).toBe(0xaaaa);
    s.g.mmu.flushAll();
    expect(s.read()).toBe(0xbbbb);

    s = stale({ global: false, pge: true });
    s.g.mmu.writeCr3(s.g.builder.root);
    expect(s.read()).toBe(0xbbbb);

    s = stale({ global: true, pge: false });
    s.g.mmu.writeCr3(s.g.builder.root);
    expect(s.read()).toBe(0xbbbb);
  });

  it("maps the INVPCID types onto flushes", () => {
    let s = stale({ global: true, pge: true });
    s.g.mmu.invpcid(3, 0, 0);
    expect(s.read()).toBe(0xaaaa);
    s.g.mmu.invpcid(1, 0, 0);
    expect(s.read()).toBe(0xaaaa);
    s.g.mmu.invpcid(0, s.lo, s.hi);
    expect(s.read()).toBe(0xbbbb);
    s = stale({ global: true, pge: true });
    s.g.mmu.invpcid(2, 0, 0);
    expect(s.read()).toBe(0xbbbb);
    s = stale();
    s.g.mmu.invpcid(1, 0, 0);
    expect(s.read()).toBe(0xbbbb);
    expect(() => s.g.mmu.invpcid(4, 0, 0)).toThrow(/INVPCID type 4/);
  });

  it("INVLPG drops global entries too", () => {
    const s = stale({ global: true, pge: true });
    s.g.mmu.invlpg(s.lo, s.hi);
    expect(s.read()).toBe(0xbbbb);
  });

  it("flushes everything, global entries included, when CR4.PGE is toggled", () => {
    const s = stale({ global: true, pge: true });
    s.g.setMode({ pge: false });
    expect(s.read()).toBe(0xbbbb);
  });

  it("does not flush on a control-register write that changes no paging bit", () => {
    const s = stale();
    s.g.mmu.setControlRegisters(
      CR0_PE | CR0_PG | (1 << 16) | (1 << 1),
      CR4_PAE | (1 << 9),
      EFER_LME | EFER_LMA | EFER_NXE,
    );
    expect(s.read()).toBe(0xaaaa);
  });

  it("INVLPG anywhere in a 2 MiB page drops every cached piece of it", () => {
    const g = new Guest();
    g.builder.map(0x20_0000n, 0x40_0000, 0x20_0000, { maxPageSize: 0x20_0000 });
    g.memory.write32(0x40_0000, 1);
    g.memory.write32(0x41_0000, 2);
    g.memory.write32(0xa0_0000, 3);
    g.memory.write32(0xa1_0000, 4);
    const [lo, hi] = split(0x20_0000n);
    expect(g.mmu.read32(lo, hi)).toBe(1);
    expect(g.mmu.read32(lo + 0x1_0000, hi)).toBe(2);
    const pde = g.entry(0x20_0000n, 2);
    g.setEntry(0x20_0000n, (pde & ~0x000f_ffff_ffe0_0000n) | 0xa0_0000n, 2);
    g.mmu.invlpg(lo + 0x1f_f000, hi); // last 4 KiB of the large page
    expect(g.mmu.read32(lo, hi)).toBe(3);
    expect(g.mmu.read32(lo + 0x1_0000, hi)).toBe(4);
  });

  it("keeps kernel and user pages with equal low address bits at the same time", () => {
    const g = new Guest({ tlbSize: 1024 });
    const kernel = 0xffff_ffff_8100_0000n;
    const user = 0x40_0000n;
    g.map(kernel, GPA_A, 4096);
    g.map(user, GPA_B, 4096, { user: true });
    g.memory.write32(GPA_A, 1);
    g.memory.write32(GPA_B, 2);
    const k = split(kernel);
    const u = split(user);
    expect(g.mmu.read32(...k)).toBe(1);
    expect(g.mmu.read32(...u)).toBe(2);
    // Unmap both without INVLPG: both translations are still cached, so neither evicted the other.
    g.setEntry(kernel, 0n);
    g.setEntry(user, 0n);
    expect(g.mmu.read32(...k)).toBe(1);
    expect(g.mmu.read32(...u)).toBe(2);
  });

  it("keeps separate entries per access context", () => {
    const g = new Guest();
    g.map(VA, GPA_A, 4096, { user: true });
    const [lo, hi] = split(VA);
    g.mmu.read32(lo, hi);
    g.mmu.setPrivilege(3, false);
    g.mmu.read32(lo, hi); // refills in user context (same index: replaces the entry)
    g.mmu.setPrivilege(0, false);
    expect(g.mmu.read32(lo, hi)).toBe(0);
  });

  it("flushes when the second stage's generation changes", () => {
    const { g, read } = stale();
    g.flat.invalidate();
    // The next fill notices; syncSecondStage() (run() entry) flushes even before any miss.
    g.mmu.syncSecondStage();
    expect(read()).toBe(0xbbbb);
    g.memory.write32(GPA_A, 0x1111);
    g.setEntry(VA, (g.entry(VA) & ~0x000f_ffff_ffff_f000n) | BigInt(GPA_A));
    g.flat.invalidate();
    expect(read()).toBe(0xbbbb); // a hit does not look at the generation...
    const [lo, hi] = split(VA + 0x5000n);
    try {
      g.mmu.read32(lo, hi); // ...but any fill does
    } catch {}
    expect(read()).toBe(0x1111);
  });

  it("counts used entries so flushes are O(used)", () => {
    const g = new Guest({ tlbSize: 4096 });
    g.map(VA, GPA_A, 16 * 4096);
    for (let p = 0; p < 16; p++) g.mmu.read32(...split(VA + BigInt(p * 4096)));
    expect(g.mmu.usedEntries).toBe(16);
    g.mmu.writeCr3(g.builder.root);
    expect(g.mmu.usedEntries).toBe(0);
  });

  it("caches write and fetch rights separately from read", () => {
    const g = new Guest();
    g.map(VA, GPA_A, 4096);
    const [lo, hi] = split(VA);
    g.mmu.read32(lo, hi);
    expect(g.entry(VA) & 0x40n).toBe(0n);
    g.mmu.write32(lo, hi, 5); // a read hit gives no write right: this walks and sets D
    expect(g.entry(VA) & 0x40n).toBe(0x40n);
    expect(g.mmu.codeGpa(lo, hi)).toBe(GPA_A);
  });
});
