// Secure-EPT SEAMCALLs: every allowed transition and every refused one with its exact status.
import { describe, expect, it } from "vitest";
import { PageType, SeptState, TdxStatus as T } from "../src/index.js";
import {
  addPage,
  buildTd,
  expectStatus,
  finalize,
  guest,
  type Host,
  makeHost,
  mapSeptFor,
  OK,
  type TdHandle,
  tdcall,
} from "./helpers.js";

const RCX = 1n;
const RDX = 2n;
const R8 = 8n;
const R9 = 9n;
const MiB2 = 0x200000;

function state(host: Host, td: TdHandle, gpa: number, level = 0): number {
  const r = host.tdx.tdhMemSeptRd(gpa, level, td.tdr);
  return Number((r.rdx! >> 8n) & 0xffn);
}
function aug(host: Host, td: TdHandle, gpa: number, level = 0): number {
  const hpa = level === 0 ? host.memory.allocPage() : alloc2M(host);
  expectStatus(host.tdx.tdhMemPageAug(gpa, level, td.tdr, hpa), OK);
  return hpa;
}
let next2M = 0x20000000;
function alloc2M(_host: Host): number {
  next2M += MiB2;
  return next2M;
}
function blockTrack(host: Host, td: TdHandle, gpa: number, level = 0): void {
  expectStatus(host.tdx.tdhMemRangeBlock(gpa, level, td.tdr), OK);
  expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
}

describe("TDH.MEM.SEPT.ADD / SEPT.REMOVE", () => {
  it("adds SEPT pages top-down; walk failures report the level reached", () => {
    const host = makeHost();
    const td = buildTd(host);
    const r = host.tdx.tdhMemSeptAdd(0x40000000, 1, td.tdr, host.memory.allocPage());
    expectStatus(r, T.TDX_EPT_WALK_FAILED + RCX);
    expect(r.rdx).toBe(3n); // level 3 (PML4), state FREE
    expectStatus(host.tdx.tdhMemSeptAdd(0, 3, td.tdr, host.memory.allocPage()), OK);
    expect(state(host, td, 0, 3)).toBe(SeptState.NL_MAPPED);
    expectStatus(
      host.tdx.tdhMemSeptAdd(0, 3, td.tdr, host.memory.allocPage()),
      T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX,
    );
    expectStatus(host.tdx.tdhMemSeptAdd(0, 4, td.tdr, host.memory.allocPage()), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMemSeptAdd(0, 0, td.tdr, host.memory.allocPage()), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(
      host.tdx.tdhMemSeptAdd(0x1000, 1, td.tdr, host.memory.allocPage()),
      T.TDX_OPERAND_INVALID + RCX,
    );
    expectStatus(
      host.tdx.tdhMemSeptAdd(2 ** 47, 2, td.tdr, host.memory.allocPage()),
      T.TDX_OPERAND_INVALID + RCX,
    );
    expectStatus(host.tdx.tdhMemSeptAdd(0, 2, td.tdr, td.tdr), T.TDX_PAGE_METADATA_INCORRECT + R8);
    expectStatus(
      host.tdx.tdhMemSeptAdd(0, 2, td.tdcs[0], host.memory.allocPage()),
      T.TDX_PAGE_METADATA_INCORRECT + RDX,
    );
  });
  it("SEPT.REMOVE: leaf → EPT_ENTRY_LEAF, FREE → STATE_INCORRECT, children → EPT_PAGE_NOT_FREE; runnable needs block+track", () => {
    const host = makeHost();
    const td = buildTd(host);
    addPage(host, td, 0x1000);
    expectStatus(host.tdx.tdhMemSeptRemove(0, 1, td.tdr), T.TDX_EPT_PAGE_NOT_FREE + RCX);
    expectStatus(host.tdx.tdhMemSeptRemove(MiB2, 1, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX);
    mapSeptFor(host, td, 0x400000);
    expectStatus(host.tdx.tdhMemSeptRemove(0x400000, 1, td.tdr), OK); // INIT: no block needed
    aug(host, td, 0x600000, 1);
    expectStatus(host.tdx.tdhMemSeptRemove(0x600000, 1, td.tdr), T.TDX_EPT_ENTRY_LEAF + RCX);
    finalize(host, td);
    mapSeptFor(host, td, 0x800000);
    expectStatus(host.tdx.tdhMemSeptRemove(0x800000, 1, td.tdr), T.TDX_GPA_RANGE_NOT_BLOCKED + RCX);
    expectStatus(host.tdx.tdhMemRangeBlock(0x800000, 1, td.tdr), OK);
    expect(state(host, td, 0x800000, 1)).toBe(SeptState.NL_BLOCKED);
    expectStatus(host.tdx.tdhMemSeptRemove(0x800000, 1, td.tdr), T.TDX_TLB_TRACKING_NOT_DONE + RCX);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemSeptRemove(0x800000, 1, td.tdr), OK);
    expect(state(host, td, 0x800000, 1)).toBe(SeptState.FREE);
  });
});

describe("SEPT walks after the tree changes shape", () => {
  it("a 4 KiB table removed and re-added under the same 2 MiB entry is the one later leaves land in", () => {
    const host = makeHost();
    const td = buildTd(host);
    const hpa = addPage(host, td, MiB2 + 0x3000); // walks (and remembers) the 4 KiB table of [2 MiB, 4 MiB)
    expectStatus(host.tdx.tdhMemPageRemove(MiB2 + 0x3000, 0, td.tdr), OK);
    expectStatus(host.tdx.tdhMemSeptRemove(MiB2, 1, td.tdr), OK);
    expect(state(host, td, MiB2, 1)).toBe(SeptState.FREE);
    // A 4 KiB walk now stops at the free 2 MiB entry: EPT_WALK_FAILED, not the detached table.
    expectStatus(
      host.tdx.tdhMemPageAdd(MiB2 + 0x3000, 0, td.tdr, hpa, host.memory.allocPage()).status,
      T.TDX_EPT_WALK_FAILED + RCX,
    );
    expectStatus(host.tdx.tdhMemSeptAdd(MiB2, 1, td.tdr, host.memory.allocPage()), OK);
    expectStatus(host.tdx.tdhMemPageAdd(MiB2 + 0x3000, 0, td.tdr, hpa, host.memory.allocPage()), OK);
    expect(state(host, td, MiB2 + 0x3000)).toBe(SeptState.MAPPED);
    // The new table holds the page: it cannot be removed.
    expectStatus(host.tdx.tdhMemSeptRemove(MiB2, 1, td.tdr), T.TDX_EPT_PAGE_NOT_FREE + RCX);
  });
});

describe("TDH.MEM.PAGE.ADD / TDH.MR.EXTEND", () => {
  it("PAGE.ADD: FREE → MAPPED, PT_REG owned by the TD", () => {
    const host = makeHost();
    const td = buildTd(host);
    const hpa = addPage(host, td, 0x5000);
    expect(state(host, td, 0x5000)).toBe(SeptState.MAPPED);
    const md = host.tdx.tdhPhymemPageRdmd(hpa);
    expect([md.rcx, md.rdx]).toEqual([BigInt(PageType.PT_REG), BigInt(td.tdr)]);
  });
  it("PAGE.ADD error paths", () => {
    const host = makeHost();
    const td = buildTd(host);
    const src = host.memory.allocPage();
    const page = () => host.memory.allocPage();
    expectStatus(host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, page(), src), T.TDX_EPT_WALK_FAILED + RCX);
    mapSeptFor(host, td, 0x5000);
    expectStatus(host.tdx.tdhMemPageAdd(0x5000, 1, td.tdr, page(), src), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMemPageAdd(0x5800, 0, td.tdr, page(), src), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(
      host.tdx.tdhMemPageAdd(2 ** 47 + 0x5000, 0, td.tdr, page(), src),
      T.TDX_OPERAND_INVALID + RCX,
    );
    expectStatus(host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, page(), src + 8), T.TDX_OPERAND_INVALID + R9);
    expectStatus(
      host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, td.tdcs[0], src),
      T.TDX_PAGE_METADATA_INCORRECT + R8,
    );
    expectStatus(host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, page(), td.tdcs[0]), T.TDX_OPERAND_INVALID + R9);
    expectStatus(host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, page(), src), OK);
    expectStatus(
      host.tdx.tdhMemPageAdd(0x5000, 0, td.tdr, page(), src),
      T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX,
    );
    finalize(host, td);
    expectStatus(host.tdx.tdhMemPageAdd(0x6000, 0, td.tdr, page(), src), T.TDX_OP_STATE_INCORRECT);
  });
  it("MR.EXTEND error paths", () => {
    const host = makeHost();
    const td = buildTd(host);
    addPage(host, td, 0x5000);
    expectStatus(host.tdx.tdhMrExtend(0x5000, td.tdr), OK);
    expectStatus(host.tdx.tdhMrExtend(0x5080, td.tdr), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMrExtend(0x7000, td.tdr), T.TDX_EPT_ENTRY_NOT_PRESENT + RCX);
    const missing = host.tdx.tdhMrExtend(0x40000000, td.tdr);
    expectStatus(missing, T.TDX_EPT_ENTRY_NOT_PRESENT + RCX);
    expect(missing.rdx).toBe(2n); // walk stopped at level 2, state FREE
    aug(host, td, 0x6000);
    expectStatus(host.tdx.tdhMrExtend(0x6000, td.tdr), T.TDX_EPT_ENTRY_NOT_PRESENT); // PENDING leaf
    finalize(host, td);
    expectStatus(host.tdx.tdhMrExtend(0x5000, td.tdr), T.TDX_OP_STATE_INCORRECT);
  });
});

describe("TDH.MEM.PAGE.AUG / RANGE.BLOCK / UNBLOCK / TRACK / PAGE.REMOVE", () => {
  it("AUG: FREE → PENDING at 4 KiB and 2 MiB; refusals", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    mapSeptFor(host, td, 0x10000);
    aug(host, td, 0x10000);
    expect(state(host, td, 0x10000)).toBe(SeptState.PENDING);
    expectStatus(
      host.tdx.tdhMemPageAug(0x10000, 0, td.tdr, host.memory.allocPage()),
      T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX,
    );
    expectStatus(host.tdx.tdhMemPageAug(0, 1, td.tdr, alloc2M(host)), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX); // NL_MAPPED
    expectStatus(host.tdx.tdhMemPageAug(MiB2, 2, td.tdr, alloc2M(host)), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMemPageAug(MiB2, 1, td.tdr, alloc2M(host) + 0x1000), T.TDX_OPERAND_INVALID + R8);
    const busy = alloc2M(host);
    expectStatus(host.tdx.tdhMemPageAug(0x11000, 0, td.tdr, busy), OK);
    expectStatus(host.tdx.tdhMemPageAug(MiB2, 1, td.tdr, busy), T.TDX_PAGE_METADATA_INCORRECT + R8);
    aug(host, td, MiB2, 1);
    expect(state(host, td, MiB2, 1)).toBe(SeptState.PENDING);
    expectStatus(
      host.tdx.tdhMemPageAug(0x40000000, 0, td.tdr, host.memory.allocPage()),
      T.TDX_EPT_WALK_FAILED + RCX,
    );
  });
  it("BLOCK/UNBLOCK: the allowed transitions, ALREADY_BLOCKED, NOT_BLOCKED, TLB tracking", () => {
    const host = makeHost();
    const td = buildTd(host);
    addPage(host, td, 0x1000);
    finalize(host, td);
    mapSeptFor(host, td, 0x2000);
    aug(host, td, 0x2000);
    const cases: [number, number, number, number][] = [
      [0x1000, 0, SeptState.MAPPED, SeptState.BLOCKED],
      [0x2000, 0, SeptState.PENDING, SeptState.PENDING_BLOCKED],
      [0, 1, SeptState.NL_MAPPED, SeptState.NL_BLOCKED],
    ];
    for (const [gpa, level, from, to] of cases) {
      expect(state(host, td, gpa, level)).toBe(from);
      expectStatus(host.tdx.tdhMemRangeUnblock(gpa, level, td.tdr), T.TDX_GPA_RANGE_NOT_BLOCKED + RCX);
      expectStatus(host.tdx.tdhMemRangeBlock(gpa, level, td.tdr), OK);
      expect(state(host, td, gpa, level)).toBe(to);
      const again = host.tdx.tdhMemRangeBlock(gpa, level, td.tdr);
      expect(again.rdx).toBe(BigInt(level | (to << 8))); // error details: level and state
      expectStatus(host.tdx.tdhMemRangeBlock(gpa, level, td.tdr), T.TDX_GPA_RANGE_ALREADY_BLOCKED + RCX);
      expectStatus(host.tdx.tdhMemRangeUnblock(gpa, level, td.tdr), T.TDX_TLB_TRACKING_NOT_DONE + RCX);
      expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
      expectStatus(host.tdx.tdhMemRangeUnblock(gpa, level, td.tdr), OK);
      expect(state(host, td, gpa, level)).toBe(from);
    }
    expectStatus(host.tdx.tdhMemRangeBlock(0x3000, 0, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX);
    expectStatus(host.tdx.tdhMemRangeUnblock(0x3000, 0, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX);
    expectStatus(host.tdx.tdhMemRangeBlock(0x40000000, 0, td.tdr), T.TDX_EPT_WALK_FAILED + RCX);
    expectStatus(host.tdx.tdhMemTrack(td.tdcs[1]), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
  it("PAGE.REMOVE: a mapped page of a runnable TD needs BLOCK + TRACK; returns the HPA; page back to PT_NDA", () => {
    const host = makeHost();
    const td = buildTd(host);
    const early = addPage(host, td, 0x1000);
    expectStatus(host.tdx.tdhMemPageRemove(0x1000, 0, td.tdr), OK); // INIT: no block needed
    expect(host.tdx.tdhPhymemPageRdmd(early).rcx).toBe(BigInt(PageType.PT_NDA));
    const hpa = addPage(host, td, 0x3000);
    finalize(host, td);
    expectStatus(host.tdx.tdhMemPageRemove(0x3000, 0, td.tdr), T.TDX_GPA_RANGE_NOT_BLOCKED + RCX);
    expectStatus(host.tdx.tdhMemRangeBlock(0x3000, 0, td.tdr), OK);
    const untracked = host.tdx.tdhMemPageRemove(0x3000, 0, td.tdr);
    expectStatus(untracked, T.TDX_TLB_TRACKING_NOT_DONE + RCX);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    const removed = host.tdx.tdhMemPageRemove(0x3000, 0, td.tdr);
    expectStatus(removed, OK);
    expect(removed.rcx).toBe(BigInt(hpa));
    expect(state(host, td, 0x3000)).toBe(SeptState.FREE);
    expect(host.tdx.tdhPhymemPageRdmd(hpa).rcx).toBe(BigInt(PageType.PT_NDA));
    expectStatus(host.tdx.tdhMemPageRemove(0x3000, 0, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX);
    expectStatus(host.tdx.tdhMemPageRemove(0, 1, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX); // non-leaf
    expectStatus(host.tdx.tdhMemPageRemove(0, 3, td.tdr), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMemPageRemove(0x40000000, 0, td.tdr), T.TDX_EPT_WALK_FAILED + RCX);
    // never-accepted pages need no block or tracking, blocked or not
    mapSeptFor(host, td, 0x4000);
    aug(host, td, 0x4000);
    expectStatus(host.tdx.tdhMemPageRemove(0x4000, 0, td.tdr), OK);
    aug(host, td, 0x5000);
    expectStatus(host.tdx.tdhMemRangeBlock(0x5000, 0, td.tdr), OK);
    expectStatus(host.tdx.tdhMemPageRemove(0x5000, 0, td.tdr), OK);
  });
});

describe("TDH.MEM.PAGE.DEMOTE / PROMOTE", () => {
  it("demotes a blocked 2 MiB leaf into 512 leaves and promotes them back", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    mapSeptFor(host, td, MiB2, 2);
    const hpa = aug(host, td, MiB2, 1);
    const sept = host.memory.allocPage();
    expectStatus(host.tdx.tdhMemPageDemote(MiB2, 1, td.tdr, sept), T.TDX_GPA_RANGE_NOT_BLOCKED + RCX);
    expectStatus(host.tdx.tdhMemRangeBlock(MiB2, 1, td.tdr), OK);
    expectStatus(host.tdx.tdhMemPageDemote(MiB2, 1, td.tdr, sept), T.TDX_TLB_TRACKING_NOT_DONE + RCX);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemPageDemote(MiB2, 1, td.tdr, td.tdr), T.TDX_PAGE_METADATA_INCORRECT + R8);
    expectStatus(host.tdx.tdhMemPageDemote(MiB2, 1, td.tdr, sept), OK);
    expect(state(host, td, MiB2, 1)).toBe(SeptState.NL_MAPPED);
    expect(state(host, td, MiB2 + 0x5000)).toBe(SeptState.PENDING);
    expect(host.tdx.tdhPhymemPageRdmd(sept).rcx).toBe(BigInt(PageType.PT_EPT));
    expectStatus(
      host.tdx.tdhMemPageDemote(MiB2, 1, td.tdr, host.memory.allocPage()),
      T.TDX_EPT_ENTRY_NOT_LEAF + RCX,
    );
    expectStatus(host.tdx.tdhMemPagePromote(MiB2, 1, td.tdr), T.TDX_GPA_RANGE_NOT_BLOCKED + RCX);
    expectStatus(host.tdx.tdhMemRangeBlock(MiB2, 1, td.tdr), OK);
    expectStatus(host.tdx.tdhMemPagePromote(MiB2, 1, td.tdr), T.TDX_TLB_TRACKING_NOT_DONE + RCX);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemPagePromote(MiB2, 1, td.tdr), OK);
    expect(state(host, td, MiB2, 1)).toBe(SeptState.PENDING);
    expect(host.tdx.tdhMemSeptRd(MiB2, 1, td.tdr).rcx! & 0xffff_ffff_f000n).toBe(BigInt(hpa));
    expect(host.tdx.tdhPhymemPageRdmd(sept).rcx).toBe(BigInt(PageType.PT_NDA));
    expectStatus(host.tdx.tdhMemPagePromote(MiB2, 1, td.tdr), T.TDX_EPT_ENTRY_LEAF + RCX);
    expectStatus(host.tdx.tdhMemPageDemote(MiB2, 0, td.tdr, sept), T.TDX_OPERAND_INVALID + RCX);
  });
  it("refuses to promote mixed or scattered children", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    mapSeptFor(host, td, 0x400000);
    for (let i = 0; i < 512; i++) aug(host, td, 0x400000 + i * 0x1000);
    blockTrack(host, td, 0x400000, 1);
    expectStatus(host.tdx.tdhMemPagePromote(0x400000, 1, td.tdr), T.TDX_EPT_INVALID_PROMOTE_CONDITIONS + RCX);
    expectStatus(host.tdx.tdhMemPagePromote(0x600000, 1, td.tdr), T.TDX_EPT_ENTRY_STATE_INCORRECT + RCX);
  });
});

describe("5-level Secure EPT (GPAW 52)", () => {
  it("needs SEPT pages from level 4 down; shared bit is 51", () => {
    const host = makeHost();
    const td = buildTd(host, { configFlags: 1n, eptpControls: 6n | (4n << 3n) });
    const gpa = 2 ** 48 + 0x1000; // above the 4-level range, below the shared bit 51
    const src = host.memory.allocPage();
    const walk = host.tdx.tdhMemPageAdd(gpa, 0, td.tdr, host.memory.allocPage(), src);
    expectStatus(walk, T.TDX_EPT_WALK_FAILED + RCX);
    expect(walk.rdx).toBe(4n); // stopped at the PML5 entry
    mapSeptFor(host, td, gpa, 1, 5);
    expectStatus(host.tdx.tdhMemPageAdd(gpa, 0, td.tdr, host.memory.allocPage(), src), OK);
    expectStatus(host.tdx.tdhMemSeptAdd(0, 5, td.tdr, host.memory.allocPage()), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(
      host.tdx.tdhMemPageAdd(2 ** 51, 0, td.tdr, host.memory.allocPage(), src),
      T.TDX_OPERAND_INVALID + RCX,
    );
    finalize(host, td);
    const v = guest(host, td.vcpus[0]);
    expect(v.translate(gpa + 5, 1)).not.toBeNull();
    expect(v.translate(2 ** 51 + 0x1000, 1)).toBeNull(); // shared, no shared EPT installed
    expect(tdcall(v, 1n).reg("rcx")).toBe(52n);
  });
});
