// Read-only host views the real module offers: TDH.MEM.SEPT.RD (a SEPT entry and its state) and
// TDH.PHYMEM.PAGE.RDMD (a page's PAMT metadata). Neither exposes page contents.
import { levelSize } from "../abi/pages.js";
import { OperandId as Op, S } from "../abi/status.js";
import { err, KEYID_SHIFT, type LeafResult, type ModuleContext, ok } from "../context.js";
import { SeptWalk, septEntryValue, septLevelState } from "../sept.js";

const walk = new SeptWalk();

/** TDH.MEM.SEPT.RD: RCX = GPA | level, RDX = TDR → RCX entry, RDX level/state. */
export function tdhMemSeptRd(ctx: ModuleContext, gpa: number, level: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RDX);
  if (!td) return err(status);
  const s = ctx.buildState(td);
  if (s !== S.TDX_SUCCESS) return err(s);
  if (!td.sept) return err(S.TDX_OP_STATE_INCORRECT);
  if (!Number.isInteger(level) || level < 0 || level >= td.sept.levels)
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % levelSize(level) !== 0 || gpa >= td.sharedBitValue)
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  td.sept.walk(gpa, level, walk);
  const out = { rcx: septEntryValue(walk), rdx: septLevelState(walk.level, walk.state) };
  if (walk.level !== level) return err(S.TDX_EPT_WALK_FAILED + Op.RCX, out);
  return ok(out);
}

/** TDH.PHYMEM.PAGE.RDMD: RCX = page → RCX page type, RDX owner, R8 size. */
export function tdhPhymemPageRdmd(ctx: ModuleContext, pa: number): LeafResult {
  if (!Number.isSafeInteger(pa) || pa < 0 || pa % 4096 !== 0 || pa >= 2 ** KEYID_SHIFT)
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  if (!ctx.pamt.covers(pa) || pa >= ctx.memory.size) return err(S.TDX_OPERAND_ADDR_RANGE_ERROR + Op.RCX);
  const e = ctx.pamt.get(pa);
  return ok({ rcx: BigInt(e.pt), rdx: BigInt(e.owner), r8: BigInt(e.level) });
}
