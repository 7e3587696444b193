// Secure-EPT and private-memory SEAMCALLs: TDH.MEM.SEPT.ADD/REMOVE, PAGE.ADD/AUG/REMOVE, RANGE.BLOCK/
// UNBLOCK, TRACK, PAGE.PROMOTE/DEMOTE and TDH.MR.EXTEND. Each state rule is spec/tdx-abi.md §7.2-7.4.
import { SeamcallLeaf as L } from "../abi/leaves.js";
import { levelSize, PageType, SeptState, TdOpState } from "../abi/pages.js";
import { OperandId as Op, S } from "../abi/status.js";
import { err, type LeafResult, type ModuleContext, ok } from "../context.js";
import { isLeafState, isNonLeafState, SeptTable, SeptWalk, septEntryValue, septLevelState } from "../sept.js";
import type { TdState } from "../td-state.js";

const walk = new SeptWalk();

/** GPA operand: integer, aligned to its level, private (below the shared bit). */
function checkGpa(td: TdState, gpa: number, level: number, minLevel: number, maxLevel: number): number {
  if (!Number.isInteger(level) || level < minLevel || level > maxLevel) return S.TDX_OPERAND_INVALID + Op.RCX;
  if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % levelSize(level) !== 0)
    return S.TDX_OPERAND_INVALID + Op.RCX;
  if (gpa >= td.sharedBitValue) return S.TDX_OPERAND_INVALID + Op.RCX;
  return S.TDX_SUCCESS;
}

function walkFailed(): LeafResult {
  return err(S.TDX_EPT_WALK_FAILED + Op.RCX, {
    rcx: septEntryValue(walk),
    rdx: septLevelState(walk.level, walk.state),
  });
}
/**
 * The prologue of the GPA-addressed leaves: the GPA/level operand checks, then the Secure-EPT walk
 * to `level` (into `walk`). Returns the leaf's error result, or undefined to go on.
 */
function walkToLevel(
  td: TdState,
  gpa: number,
  level: number,
  minLevel: number,
  maxLevel: number,
): LeafResult | undefined {
  const s = checkGpa(td, gpa, level, minLevel, maxLevel);
  if (s !== S.TDX_SUCCESS) return err(s);
  td.sept!.walk(gpa, level, walk);
  if (walk.level !== level) return walkFailed();
  return undefined;
}
function entryError(status: number): LeafResult {
  return err(status + Op.RCX, { rcx: septEntryValue(walk), rdx: septLevelState(walk.level, walk.state) });
}
function tracked(td: TdState, table: SeptTable, index: number): boolean {
  return td.epoch > table.blockEpoch[index];
}

/** Checks an HPA range of 512^level pages for a new private page: aligned, in TDMR, all PT_NDA. */
function checkNewPages(ctx: ModuleContext, hpa: number, level: number, operand: number): number {
  const size = levelSize(level);
  const s = ctx.checkHpa(hpa, operand, size);
  if (s !== S.TDX_SUCCESS) return s;
  for (let off = 0; off < size; off += 4096) {
    if (ctx.pamt.pt(hpa + off) !== PageType.PT_NDA) return S.TDX_PAGE_METADATA_INCORRECT + operand;
  }
  return S.TDX_SUCCESS;
}

/** TDH.MEM.SEPT.ADD: RCX = GPA | level (1..levels−1), RDX = TDR, R8 = new SEPT page. */
export function tdhMemSeptAdd(
  ctx: ModuleContext,
  gpa: number,
  level: number,
  tdrPa: number,
  septPa: number,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_SEPT_ADD);
  if (!td) return err(status);
  const sept = td.sept!;
  const failed = walkToLevel(td, gpa, level, 1, sept.levels - 1);
  if (failed) return failed;
  // tdx_1.5 checks the entry against its SEPT state table: anything but FREE is ENTRY_STATE_INCORRECT.
  if (walk.state !== SeptState.FREE) return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  const ps = ctx.checkPage(septPa, Op.R8, PageType.PT_NDA);
  if (ps !== S.TDX_SUCCESS) return err(ps);
  ctx.assignPage(septPa, PageType.PT_EPT, tdrPa, td.hkid);
  walk.table.child[walk.index] = new SeptTable(level - 1, septPa);
  walk.table.hpa[walk.index] = septPa;
  sept.setState(walk.table, walk.index, SeptState.NL_MAPPED);
  td.childCount++;
  return ok();
}

/** TDH.MEM.SEPT.REMOVE: RCX = GPA | level, RDX = TDR. The SEPT page goes back to PT_NDA. */
export function tdhMemSeptRemove(ctx: ModuleContext, gpa: number, level: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_SEPT_REMOVE);
  if (!td) return err(status);
  const sept = td.sept!;
  const failed = walkToLevel(td, gpa, level, 1, sept.levels - 1);
  if (failed) return failed;
  const state = walk.state;
  if (isLeafState(state)) return entryError(S.TDX_EPT_ENTRY_LEAF);
  if (!isNonLeafState(state)) return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  const runnable = td.opState === TdOpState.OP_STATE_RUNNABLE;
  if (runnable && state !== SeptState.NL_BLOCKED) return entryError(S.TDX_GPA_RANGE_NOT_BLOCKED);
  if (state === SeptState.NL_BLOCKED && !tracked(td, walk.table, walk.index))
    return entryError(S.TDX_TLB_TRACKING_NOT_DONE);
  const child = walk.table.child[walk.index]!;
  if (child.used !== 0) return entryError(S.TDX_EPT_PAGE_NOT_FREE);
  ctx.releasePage(child.tableHpa);
  walk.table.child[walk.index] = undefined;
  walk.table.hpa[walk.index] = 0;
  sept.setState(walk.table, walk.index, SeptState.FREE);
  td.childCount--;
  return ok();
}

/** TDH.MEM.PAGE.ADD: RCX = GPA | 0, RDX = TDR, R8 = target page, R9 = source page (shared memory). */
export function tdhMemPageAdd(
  ctx: ModuleContext,
  gpa: number,
  level: number,
  tdrPa: number,
  hpa: number,
  sourcePa: number,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_PAGE_ADD);
  if (!td) return err(status);
  const s = checkGpa(td, gpa, level, 0, 0);
  if (s !== S.TDX_SUCCESS) return err(s);
  const sept = td.sept!;
  sept.walk(gpa, 0, walk);
  if (walk.level !== 0) return walkFailed();
  if (walk.state !== SeptState.FREE) return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  const src = ctx.checkHpa(sourcePa, Op.R9);
  if (src !== S.TDX_SUCCESS) return err(src);
  if (ctx.priv.keyIdOf(sourcePa) !== 0) return err(S.TDX_OPERAND_INVALID + Op.R9);
  const ps = ctx.checkPage(hpa, Op.R8, PageType.PT_NDA);
  if (ps !== S.TDX_SUCCESS) return err(ps);
  // The source is read with the shared KeyID (the host's view of it).
  const data = ctx.priv.page(sourcePa, 0);
  ctx.pamt.assign(hpa, PageType.PT_REG, tdrPa, 0);
  td.measuredPage = ctx.priv.initPageFrom(hpa, td.hkid, data);
  td.measuredWords = undefined;
  td.measuredPageHpa = hpa;
  td.measuredPageGeneration = ctx.pageGeneration;
  walk.table.hpa[walk.index] = hpa;
  sept.setState(walk.table, walk.index, SeptState.MAPPED);
  td.childCount++;
  td.mrtdStream!.pageAdd(gpa);
  return ok();
}

/** TDH.MR.EXTEND: RCX = GPA of a 256-byte chunk of a MAPPED private page, RDX = TDR. */
export function tdhMrExtend(ctx: ModuleContext, gpa: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MR_EXTEND);
  if (!td) return err(status);
  if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % 256 !== 0 || gpa >= td.sharedBitValue)
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  const sept = td.sept!;
  sept.walk(gpa, 0, walk);
  // As tdx_1.5 does: a walk that ends on a non-present entry reports ENTRY_NOT_PRESENT with the operand
  // and the entry details; a leaf in a state other than MAPPED reports it without either.
  if (!isLeafState(walk.state)) return entryError(S.TDX_EPT_ENTRY_NOT_PRESENT);
  if (walk.state !== SeptState.MAPPED) return err(S.TDX_EPT_ENTRY_NOT_PRESENT);
  const offset = gpa % levelSize(walk.level);
  const pageHpa = walk.hpa + offset - (offset % 4096);
  if (
    pageHpa !== td.measuredPageHpa ||
    td.measuredPageGeneration !== ctx.pageGeneration ||
    !td.measuredPage
  ) {
    td.measuredPage = ctx.priv.page(pageHpa, td.hkid);
    td.measuredWords = undefined;
    td.measuredPageHpa = pageHpa;
    td.measuredPageGeneration = ctx.pageGeneration;
  }
  let words = td.measuredWords;
  if (words === undefined) {
    const page = td.measuredPage;
    words = new Int32Array(page.buffer, page.byteOffset, page.byteLength >> 2);
    td.measuredWords = words;
  }
  td.mrtdStream!.extend(gpa, words, (offset % 4096) >> 2);
  return ok();
}

/** TDH.MEM.PAGE.AUG: RCX = GPA | level (0 or 1), RDX = TDR, R8 = page (2 MiB-aligned for level 1). */
export function tdhMemPageAug(
  ctx: ModuleContext,
  gpa: number,
  level: number,
  tdrPa: number,
  hpa: number,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_PAGE_AUG);
  if (!td) return err(status);
  const failed = walkToLevel(td, gpa, level, 0, 1);
  if (failed) return failed;
  const sept = td.sept!;
  if (walk.state !== SeptState.FREE && walk.state !== SeptState.REMOVED)
    return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  const ps = checkNewPages(ctx, hpa, level, Op.R8);
  if (ps !== S.TDX_SUCCESS) return err(ps);
  const pages = 512 ** level;
  // The page is tagged with the TD's key now (host reads see zeros); TDG.MEM.PAGE.ACCEPT zeroes it.
  for (let i = 0; i < pages; i++) ctx.assignPage(hpa + 4096 * i, PageType.PT_REG, tdrPa, td.hkid, level);
  walk.table.hpa[walk.index] = hpa;
  sept.setState(walk.table, walk.index, SeptState.PENDING);
  td.childCount += pages;
  return ok();
}

const BLOCK: Record<number, number> = {
  [SeptState.MAPPED]: SeptState.BLOCKED,
  [SeptState.PENDING]: SeptState.PENDING_BLOCKED,
  [SeptState.NL_MAPPED]: SeptState.NL_BLOCKED,
};
const UNBLOCK: Record<number, number> = {
  [SeptState.BLOCKED]: SeptState.MAPPED,
  [SeptState.PENDING_BLOCKED]: SeptState.PENDING,
  [SeptState.NL_BLOCKED]: SeptState.NL_MAPPED,
};

/** TDH.MEM.RANGE.BLOCK: RCX = GPA | level, RDX = TDR. Records the TD epoch for TLB tracking. */
export function tdhMemRangeBlock(ctx: ModuleContext, gpa: number, level: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_RANGE_BLOCK);
  if (!td) return err(status);
  const sept = td.sept!;
  const failed = walkToLevel(td, gpa, level, 0, sept.levels - 1);
  if (failed) return failed;
  const next = BLOCK[walk.state];
  if (next === undefined) {
    if (UNBLOCK[walk.state] !== undefined) return entryError(S.TDX_GPA_RANGE_ALREADY_BLOCKED);
    return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  }
  sept.setState(walk.table, walk.index, next);
  walk.table.blockEpoch[walk.index] = td.epoch;
  return ok();
}

/** TDH.MEM.RANGE.UNBLOCK: RCX = GPA | level, RDX = TDR. Needs TLB tracking since the block. */
export function tdhMemRangeUnblock(
  ctx: ModuleContext,
  gpa: number,
  level: number,
  tdrPa: number,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_RANGE_UNBLOCK);
  if (!td) return err(status);
  const sept = td.sept!;
  const failed = walkToLevel(td, gpa, level, 0, sept.levels - 1);
  if (failed) return failed;
  const next = UNBLOCK[walk.state];
  if (next === undefined) {
    if (BLOCK[walk.state] !== undefined) return entryError(S.TDX_GPA_RANGE_NOT_BLOCKED);
    return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  }
  if (!tracked(td, walk.table, walk.index)) return entryError(S.TDX_TLB_TRACKING_NOT_DONE);
  sept.setState(walk.table, walk.index, next);
  return ok();
}

/** TDH.MEM.TRACK: RCX = TDR. vCPUs never run concurrently with a SEAMCALL here, so the epoch advances at once. */
export function tdhMemTrack(ctx: ModuleContext, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RCX, L.TDH_MEM_TRACK);
  if (!td) return err(status);
  td.epoch++;
  return ok();
}

/**
 * TDH.MEM.PAGE.REMOVE: RCX = GPA | level (0..2), RDX = TDR → RCX = the removed page's HPA. As in tdx_1.5:
 * a non-leaf or otherwise disallowed entry is EPT_ENTRY_STATE_INCORRECT; in a runnable TD a page the
 * guest may have in its TLB (MAPPED) must be blocked and TLB-tracked first, while never-accepted
 * (PENDING*) pages need neither. The page returns to PT_NDA, zeroed.
 */
export function tdhMemPageRemove(ctx: ModuleContext, gpa: number, level: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_PAGE_REMOVE);
  if (!td) return err(status);
  const failed = walkToLevel(td, gpa, level, 0, 2);
  if (failed) return failed;
  const sept = td.sept!;
  const state = walk.state;
  if (!isLeafState(state)) return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  const trackingRequired = state === SeptState.MAPPED || state === SeptState.BLOCKED;
  if (trackingRequired && td.opState === TdOpState.OP_STATE_RUNNABLE) {
    if (state !== SeptState.BLOCKED) return entryError(S.TDX_GPA_RANGE_NOT_BLOCKED);
    if (!tracked(td, walk.table, walk.index)) return err(S.TDX_TLB_TRACKING_NOT_DONE + Op.RCX);
  }
  const hpa = walk.hpa;
  const pages = 512 ** level;
  for (let i = 0; i < pages; i++) ctx.releasePage(hpa + 4096 * i);
  walk.table.hpa[walk.index] = 0;
  sept.setState(walk.table, walk.index, SeptState.FREE);
  td.childCount -= pages;
  return ok({ rcx: BigInt(hpa), rdx: 0n });
}

/**
 * TDH.MEM.PAGE.DEMOTE: RCX = GPA | level (1 or 2), RDX = TDR, R8 = new SEPT page. The large leaf must be
 * blocked and tracked; it becomes a non-leaf entry over 512 smaller leaves in the unblocked state.
 */
export function tdhMemPageDemote(
  ctx: ModuleContext,
  gpa: number,
  level: number,
  tdrPa: number,
  septPa: number,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_PAGE_DEMOTE);
  if (!td) return err(status);
  const failed = walkToLevel(td, gpa, level, 1, 2);
  if (failed) return failed;
  const sept = td.sept!;
  const state = walk.state;
  if (!isLeafState(state))
    return entryError(isNonLeafState(state) ? S.TDX_EPT_ENTRY_NOT_LEAF : S.TDX_EPT_ENTRY_STATE_INCORRECT);
  if (state !== SeptState.BLOCKED && state !== SeptState.PENDING_BLOCKED)
    return entryError(S.TDX_GPA_RANGE_NOT_BLOCKED);
  if (!tracked(td, walk.table, walk.index)) return entryError(S.TDX_TLB_TRACKING_NOT_DONE);
  const ps = ctx.checkPage(septPa, Op.R8, PageType.PT_NDA);
  if (ps !== S.TDX_SUCCESS) return err(ps);
  ctx.assignPage(septPa, PageType.PT_EPT, tdrPa, td.hkid);
  const childState = state === SeptState.BLOCKED ? SeptState.MAPPED : SeptState.PENDING;
  const child = new SeptTable(level - 1, septPa);
  const base = walk.hpa;
  const step = levelSize(level - 1);
  for (let i = 0; i < 512; i++) {
    child.hpa[i] = base + i * step;
    child.state[i] = childState;
  }
  child.used = 512;
  for (let off = 0; off < levelSize(level); off += 4096)
    ctx.pamt.assign(base + off, PageType.PT_REG, tdrPa, level - 1);
  walk.table.child[walk.index] = child;
  walk.table.hpa[walk.index] = septPa;
  sept.setState(walk.table, walk.index, SeptState.NL_MAPPED);
  td.childCount++;
  return ok();
}

/**
 * TDH.MEM.PAGE.PROMOTE: RCX = GPA | level (1 or 2), RDX = TDR. The non-leaf entry must be blocked and
 * tracked, and its 512 children all MAPPED (or all PENDING) over one contiguous, aligned HPA range.
 * The freed SEPT page returns to PT_NDA (UNCONFIRMED: where 1.5 reports it).
 */
export function tdhMemPagePromote(ctx: ModuleContext, gpa: number, level: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_MEM_PAGE_PROMOTE);
  if (!td) return err(status);
  const failed = walkToLevel(td, gpa, level, 1, 2);
  if (failed) return failed;
  const sept = td.sept!;
  const state = walk.state;
  if (isLeafState(state)) return entryError(S.TDX_EPT_ENTRY_LEAF);
  if (state === SeptState.NL_MAPPED) return entryError(S.TDX_GPA_RANGE_NOT_BLOCKED);
  if (state !== SeptState.NL_BLOCKED) return entryError(S.TDX_EPT_ENTRY_STATE_INCORRECT);
  if (!tracked(td, walk.table, walk.index)) return entryError(S.TDX_TLB_TRACKING_NOT_DONE);
  const child = walk.table.child[walk.index]!;
  const first = child.state[0];
  const base = child.hpa[0];
  const step = levelSize(level - 1);
  let promotable =
    (first === SeptState.MAPPED || first === SeptState.PENDING) && base % levelSize(level) === 0;
  for (let i = 0; promotable && i < 512; i++) {
    if (child.state[i] !== first || child.hpa[i] !== base + i * step || child.child[i]) promotable = false;
  }
  if (!promotable) return entryError(S.TDX_EPT_INVALID_PROMOTE_CONDITIONS);
  ctx.releasePage(child.tableHpa);
  for (let off = 0; off < levelSize(level); off += 4096)
    ctx.pamt.assign(base + off, PageType.PT_REG, tdrPa, level);
  walk.table.child[walk.index] = undefined;
  walk.table.hpa[walk.index] = base;
  sept.setState(walk.table, walk.index, first);
  td.childCount--;
  return ok();
}
