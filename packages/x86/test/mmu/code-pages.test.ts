// Code-page tracking for self-modifying code: a store to a guest-physical page marked as holding
// decoded code calls the hook once (before the bytes change) and unmarks the page; stores to other
// pages never call it; aliases and page-table A/D updates are covered.
import { describe, expect, it } from "vitest";
import { CodePageTracker, Mmu } from "../../src/mmu/index.js";
import { faultOf, Guest, split } from "./helpers.js";

const VA = 0x40_0000n;
const ALIAS = 0x60_0000n;
const GPA = 0x80_0000;

function setup() {
  const g = new Guest();
  g.map(VA, GPA, 2 * 4096);
  g.map(ALIAS, GPA, 4096);
  const calls: { page: number; byte: number }[] = [];
  g.mmu.setCodeWriteHook((page) => calls.push({ page, byte: g.memory.read8(GPA + 0x10) }));
  return { g, calls };
}

describe("code pages", () => {
  it("calls the hook once on the first store to a code page, before the bytes change", () => {
    const { g, calls } = setup();
    const [lo, hi] = split(VA + 0x10n);
    g.memory.write8(GPA + 0x10, 0x90);
    expect(g.mmu.fetchBytes(lo, hi, new Uint8Array(1), 0, 1)).toBe(1);
    g.mmu.markCodePage(g.mmu.fetchGpa);
    expect(g.mmu.isCodePage(GPA + 0xfff)).toBe(true);
    g.mmu.write8(lo, hi, 0xcc);
    expect(calls).toEqual([{ page: GPA, byte: 0x90 }]);
    expect(g.memory.read8(GPA + 0x10)).toBe(0xcc);
    expect(g.mmu.isCodePage(GPA)).toBe(false);
    g.mmu.write8(lo, hi, 0xc3);
    expect(calls).toHaveLength(1);
  });

  it("revokes cached write access when a page becomes code, also through aliases", () => {
    const { g, calls } = setup();
    const [alo, ahi] = split(ALIAS + 0x20n);
    g.mmu.write32(alo, ahi, 1); // the alias now caches write access
    g.mmu.markCodePage(GPA + 0x123);
    g.mmu.write32(alo, ahi, 2);
    expect(calls.map((c) => c.page)).toEqual([GPA]);
  });

  it("never calls the hook for stores to pages without code", () => {
    const { g, calls } = setup();
    g.mmu.markCodePage(GPA);
    const [lo, hi] = split(VA + 0x1000n);
    g.mmu.write64(lo, hi, 1, 2);
    g.mmu.write8(lo + 7, hi, 1);
    expect(calls).toEqual([]);
  });

  it("calls the hook for each code page a crossing store touches, and not when the store faults", () => {
    const { g, calls } = setup();
    g.mmu.markCodePage(GPA);
    g.mmu.markCodePage(GPA + 0x1000);
    const [lo, hi] = split(VA + 0xffen);
    g.mmu.write32(lo, hi, -1);
    expect(calls.map((c) => c.page)).toEqual([GPA, GPA + 0x1000]);
    // A store whose second page faults changes nothing and calls nothing.
    g.mmu.markCodePage(GPA + 0x1000);
    const [elo, ehi] = split(VA + 0x1ffen);
    faultOf(() => g.mmu.write32(elo, ehi, 0));
    expect(calls).toHaveLength(2);
    expect(g.mmu.isCodePage(GPA + 0x1000)).toBe(true);
  });

  it("sees A/D updates the page walker stores into a code page", () => {
    const { g, calls } = setup();
    const pte = g.entryAddress(VA);
    g.mmu.markCodePage(pte);
    g.mmu.read8(...split(VA));
    expect(calls.map((c) => c.page)).toEqual([pte - (pte % 4096)]);
  });

  it("shares code pages between the vCPUs of a VM: a store by one reaches code another decoded", () => {
    const g = new Guest();
    g.map(VA, GPA, 4096);
    const codePages = new CodePageTracker();
    const cpu0 = new Mmu({ map: g.flat, codePages });
    const cpu1 = new Mmu({ map: g.flat, codePages });
    for (const cpu of [cpu0, cpu1]) {
      cpu.writeCr3(g.builder.root);
      cpu.setControlRegisters(g.mmu.cr0, g.mmu.cr4, g.mmu.efer);
    }
    const calls: number[] = [];
    cpu0.setCodeWriteHook((page) => calls.push(page));
    const [lo, hi] = split(VA + 8n);
    cpu1.write32(lo, hi, 1); // cpu1 caches write access first
    cpu0.markCodePage(cpu0.codeGpa(lo, hi)); // cpu0 decodes from the page
    cpu1.write32(lo, hi, 2);
    expect(calls).toEqual([GPA]);
    expect(cpu1.isCodePage(GPA)).toBe(false);
  });
});
