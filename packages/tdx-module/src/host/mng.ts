// TD management SEAMCALLs: TDH.SYS.INFO/RD, TDH.MNG.CREATE, KEY.CONFIG, ADDCX, INIT, RD/WR, VPFLUSHDONE,
// KEY.FREEID, TDH.MR.FINALIZE and TDH.PHYMEM.PAGE.RECLAIM.
import { SeamcallLeaf as L } from "../abi/leaves.js";
import { HkidState, MIN_NUM_TDCS_PAGES, PageType, TdLifecycle, TdOpState } from "../abi/pages.js";
import { OperandId as Op, S } from "../abi/status.js";
import {
  ConfigFlag,
  CPUID_CONFIG_LEAVES,
  MAX_NUM_CPUID_CONFIG,
  TD_CTLS_PENDING_VE_DISABLE,
  TD_PARAMS_SIZE,
  TdAttribute,
} from "../abi/td-attributes.js";
import { err, KEYID_SHIFT, type LeafResult, type ModuleContext, ok } from "../context.js";
import { configurableMask } from "../cpuid.js";
import { MrtdStream } from "../measurement.js";
import { tdFieldRead, tdFieldWrite } from "../metadata-access.js";
import { SecureEpt } from "../sept.js";
import { parseTdParams } from "../td-params.js";
import { TdState } from "../td-state.js";

/** TDH.SYS.RD: RDX = field id → R8 value, RDX next id. */
export function tdhSysRd(ctx: ModuleContext, fieldId: bigint): LeafResult {
  const r = ctx.sys.read(fieldId);
  return { status: r.status, rdx: r.next, r8: r.value };
}

/**
 * TDH.SYS.INFO: writes TDSYSINFO_STRUCT (1024 bytes, 1024-aligned, RCX/RDX = PA/size) and the CMR array
 * (R8/R9 = PA/entries, 512-aligned, ≥ 32 entries). Layout as in Linux's struct tdsysinfo_struct (TDX 1.0 ABI).
 */
export function tdhSysInfo(
  ctx: ModuleContext,
  infoPa: number,
  infoSize: number,
  cmrPa: number,
  cmrEntries: number,
): LeafResult {
  let s = ctx.checkHpa(infoPa, Op.RCX, 1024);
  if (s !== S.TDX_SUCCESS) return err(s);
  if (infoSize < 1024) return err(S.TDX_OPERAND_INVALID + Op.RDX);
  s = ctx.checkHpa(cmrPa, Op.R8, 512);
  if (s !== S.TDX_SUCCESS) return err(s);
  if (cmrEntries < 32) return err(S.TDX_OPERAND_INVALID + Op.R9);
  const info = new Uint8Array(1024);
  const dv = new DataView(info.buffer);
  dv.setUint32(4, 0x8086, true);
  dv.setUint16(14, 5, true); // minor
  dv.setUint16(16, 1, true); // major
  dv.setUint16(32, 64, true); // max_tdmrs
  dv.setUint16(34, 16, true); // max_reserved_per_tdmr
  dv.setUint16(36, 16, true); // pamt_entry_size
  dv.setUint16(48, MIN_NUM_TDCS_PAGES * 4096, true);
  dv.setUint16(52, MIN_NUM_TDCS_PAGES * 4096, true);
  const r = (id: bigint) => ctx.sys.read(id).value;
  dv.setBigUint64(64, r(0x1900000300000000n), true);
  dv.setBigUint64(72, r(0x1900000300000001n), true);
  dv.setBigUint64(80, r(0x1900000300000002n), true);
  dv.setBigUint64(88, r(0x1900000300000003n), true);
  dv.setUint32(128, MAX_NUM_CPUID_CONFIG, true);
  for (let i = 0; i < MAX_NUM_CPUID_CONFIG; i++) {
    const o = 132 + 24 * i;
    const [leaf, sub] = CPUID_CONFIG_LEAVES[i];
    const m = configurableMask(i);
    dv.setUint32(o, leaf, true);
    dv.setUint32(o + 4, sub, true);
    for (let k = 0; k < 4; k++) dv.setUint32(o + 8 + 4 * k, m[k], true);
  }
  ctx.memory.host.writeBytes(infoPa, info);
  const cmr = new Uint8Array(16);
  const cdv = new DataView(cmr.buffer);
  cdv.setBigUint64(0, 0n, true);
  cdv.setBigUint64(8, BigInt(ctx.memory.size), true);
  ctx.memory.host.writeBytes(cmrPa, cmr);
  return ok({ rdx: 1024n, r9: 1n });
}

/** TDH.MNG.CREATE: RCX = TDR page, RDX = HKID. */
export function tdhMngCreate(ctx: ModuleContext, tdrPa: number, hkid: number): LeafResult {
  if (!Number.isInteger(hkid) || hkid < 0 || hkid > 0xffff || !ctx.isPrivateKeyId(hkid))
    return err(S.TDX_OPERAND_INVALID + Op.RDX);
  const s = ctx.checkPage(tdrPa, Op.RCX, PageType.PT_NDA);
  if (s !== S.TDX_SUCCESS) return err(s);
  if ((ctx.kot.get(hkid) ?? HkidState.HKID_FREE) !== HkidState.HKID_FREE) return err(S.TDX_HKID_NOT_FREE);
  ctx.kot.set(hkid, HkidState.HKID_ASSIGNED);
  ctx.assignPage(tdrPa, PageType.PT_TDR, 0, ctx.globalKeyId);
  ctx.tds.set(tdrPa, new TdState(tdrPa, hkid));
  return ok();
}

/** TDH.MNG.KEY.CONFIG: RCX = TDR. One package in the simulation: the first call configures the key. */
export function tdhMngKeyConfig(ctx: ModuleContext, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RCX);
  if (!td) return err(status);
  if (td.lifecycle === TdLifecycle.TD_KEYS_CONFIGURED) return err(S.TDX_KEY_CONFIGURED);
  if (td.lifecycle !== TdLifecycle.TD_HKID_ASSIGNED) return err(S.TDX_LIFECYCLE_STATE_INCORRECT);
  td.lifecycle = TdLifecycle.TD_KEYS_CONFIGURED;
  return ok();
}

/** TDH.MNG.ADDCX: RCX = TDCS page, RDX = TDR. */
export function tdhMngAddcx(ctx: ModuleContext, tdcxPa: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RDX);
  if (!td) return err(status);
  if (td.fatal) return err(S.TDX_TD_FATAL);
  if (td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED) return err(S.TDX_TD_KEYS_NOT_CONFIGURED);
  // UNCONFIRMED operand: the module refuses a TDCS page beyond the required count.
  if (td.tdcxPages.length >= MIN_NUM_TDCS_PAGES) return err(S.TDX_TDCX_NUM_INCORRECT + Op.RDX);
  const s = ctx.checkPage(tdcxPa, Op.RCX, PageType.PT_NDA);
  if (s !== S.TDX_SUCCESS) return err(s);
  ctx.assignPage(tdcxPa, PageType.PT_TDCX, tdrPa, td.hkid);
  td.tdcxPages.push(tdcxPa);
  td.childCount++;
  return ok();
}

/** TDH.MNG.INIT: RCX = TDR, RDX = TD_PARAMS (1024 bytes, 1024-aligned, read with the shared KeyID). */
export function tdhMngInit(ctx: ModuleContext, tdrPa: number, tdParamsPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RCX, L.TDH_MNG_INIT);
  if (!td) return err(status);
  const s = ctx.checkHpa(tdParamsPa, Op.RDX, TD_PARAMS_SIZE);
  if (s !== S.TDX_SUCCESS) return err(s);
  const parsed = parseTdParams(ctx.memory.host.readBytes(tdParamsPa, TD_PARAMS_SIZE));
  if (!parsed.ok) return err(parsed.status, parsed.rcx === undefined ? {} : { rcx: parsed.rcx });
  const p = parsed.params;
  td.attributes = p.attributes;
  td.xfam = p.xfam;
  td.maxVcpus = p.maxVcpus;
  td.eptp = p.eptpControls;
  td.configFlags = p.configFlags;
  td.noRbpMod = (p.configFlags & ConfigFlag.NO_RBP_MOD) !== 0n;
  td.setGpaw(p.gpaw);
  td.tscFrequency = p.tscFrequency;
  // Virtual TSC: offset 0 and multiplier 1.0 in the 48-bit fixed-point format (1 << 48); the
  // simulation's TSC runs at the configured frequency by construction.
  td.tscOffset = 0n;
  td.tscMultiplier = 1n << 48n;
  td.tdCtls = (p.attributes & TdAttribute.SEPT_VE_DISABLE) !== 0n ? TD_CTLS_PENDING_VE_DISABLE : 0n;
  td.notifyEnables = 0n;
  td.cpuidConfig.set(p.cpuidValues);
  td.mrConfigId.set(p.mrConfigId);
  td.mrOwner.set(p.mrOwner);
  td.mrOwnerConfig.set(p.mrOwnerConfig);
  td.rtmr.fill(0);
  td.mrtd.fill(0);
  td.mrtdStream = new MrtdStream(ctx.hash.sha384Stream());
  // The SEPT root lives in a TDCS page (the last one here).
  td.sept = new SecureEpt(p.septLevels, td.tdcxPages[td.tdcxPages.length - 1]);
  td.opState = TdOpState.OP_STATE_INITIALIZED;
  return ok();
}

/** TDH.MNG.RD: RCX = TDR, RDX = field id → R8. */
export function tdhMngRd(ctx: ModuleContext, tdrPa: number, fieldId: bigint): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RCX);
  if (!td) return err(status);
  const s = ctx.buildState(td);
  if (s !== S.TDX_SUCCESS) return err(s);
  if (td.opState === TdOpState.OP_STATE_UNINITIALIZED) return err(S.TDX_OP_STATE_INCORRECT);
  const m = tdFieldRead(td, fieldId, "host");
  return { status: m.status, rdx: m.next, r8: m.status === S.TDX_SUCCESS ? m.value : 0n };
}

/** TDH.MNG.WR: RCX = TDR, RDX = field id, R8 = value, R9 = mask → R8 old value. */
export function tdhMngWr(
  ctx: ModuleContext,
  tdrPa: number,
  fieldId: bigint,
  value: bigint,
  mask: bigint,
): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RCX, L.TDH_MNG_WR);
  if (!td) return err(status);
  const m = tdFieldWrite(td, fieldId, value, mask, "host");
  return { status: m.status, r8: m.status === S.TDX_SUCCESS ? m.value : 0n };
}

/** TDH.MR.FINALIZE: RCX = TDR. */
export function tdhMrFinalize(ctx: ModuleContext, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RCX, L.TDH_MR_FINALIZE);
  if (!td) return err(status);
  if (td.numVcpus === 0) return err(S.TDX_NO_VCPUS);
  td.mrtd.set(td.mrtdStream!.digest());
  td.mrtdStream = undefined;
  td.servtdHash.fill(0); // no service TDs are bound in this module
  td.opState = TdOpState.OP_STATE_RUNNABLE;
  return ok();
}

/** TDH.MNG.VPFLUSHDONE: RCX = TDR. */
export function tdhMngVpflushdone(ctx: ModuleContext, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RCX);
  if (!td) return err(status);
  if (td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED && td.lifecycle !== TdLifecycle.TD_HKID_ASSIGNED)
    return err(S.TDX_LIFECYCLE_STATE_INCORRECT);
  if (td.numAssocVcpus !== 0) return err(S.TDX_FLUSHVP_NOT_DONE);
  td.lifecycle = TdLifecycle.TD_BLOCKED;
  ctx.kot.set(td.hkid, HkidState.HKID_FLUSHED);
  return ok();
}

/**
 * TDH.MNG.KEY.FREEID: RCX = TDR. The simulation has no caches, so the TDH.PHYMEM.CACHE.WB that real
 * hardware requires before this is not needed.
 */
export function tdhMngKeyFreeid(ctx: ModuleContext, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdr(tdrPa, Op.RCX);
  if (!td) return err(status);
  if (td.lifecycle !== TdLifecycle.TD_BLOCKED) return err(S.TDX_LIFECYCLE_STATE_INCORRECT);
  td.lifecycle = TdLifecycle.TD_TEARDOWN;
  ctx.kot.delete(td.hkid);
  return ok();
}

/**
 * TDH.PHYMEM.CACHE.WB: RCX = 0 (start) or 1 (resume). The simulation has no caches: it completes at
 * once (KVM calls it before TDH.MNG.KEY.FREEID).
 */
export function tdhPhymemCacheWb(_ctx: ModuleContext, command: bigint): LeafResult {
  if (command !== 0n && command !== 1n) return err(S.TDX_OPERAND_INVALID + Op.RCX);
  return ok();
}

/**
 * TDH.PHYMEM.PAGE.WBINVD: RCX = page PA tagged with the KeyID whose cache lines to write back
 * (pa | hkid << 46, as KVM's set_hkid_to_pa builds it). Nothing to flush in the simulation; the
 * operand is checked.
 */
export function tdhPhymemPageWbinvd(ctx: ModuleContext, taggedPa: bigint): LeafResult {
  const hkid = Number(taggedPa >> BigInt(KEYID_SHIFT));
  const pa = Number(taggedPa & ((1n << BigInt(KEYID_SHIFT)) - 1n));
  if (pa % 4096 !== 0 || !(ctx.isPrivateKeyId(hkid) || hkid === 0))
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  if (!ctx.pamt.covers(pa) || pa >= ctx.memory.size) return err(S.TDX_OPERAND_ADDR_RANGE_ERROR + Op.RCX);
  return ok();
}

/** TDH.PHYMEM.PAGE.RECLAIM: RCX = page → RCX page type, RDX owner, R8 size. */
export function tdhPhymemPageReclaim(ctx: ModuleContext, pa: number): LeafResult {
  if (!Number.isSafeInteger(pa) || pa < 0 || pa % 4096 !== 0 || pa >= 2 ** KEYID_SHIFT)
    return err(S.TDX_OPERAND_INVALID + Op.RCX);
  if (!ctx.pamt.covers(pa) || pa >= ctx.memory.size) return err(S.TDX_OPERAND_ADDR_RANGE_ERROR + Op.RCX);
  const e = ctx.pamt.get(pa);
  if (e.pt === PageType.PT_NDA || e.pt === PageType.PT_RSVD)
    return err(S.TDX_PAGE_METADATA_INCORRECT + Op.RCX);
  const out = { rcx: BigInt(e.pt), rdx: BigInt(e.owner), r8: BigInt(e.level) };
  const pages = 512 ** e.level;
  if (e.level > 0 && pa % (4096 * pages) !== 0) return err(S.TDX_OPERAND_INVALID + Op.RCX, out);
  if (e.pt === PageType.PT_TDR) {
    const td = ctx.tds.get(pa)!;
    if (td.lifecycle !== TdLifecycle.TD_TEARDOWN) return err(S.TDX_LIFECYCLE_STATE_INCORRECT, out);
    if (td.childCount !== 0) return err(S.TDX_TD_ASSOCIATED_PAGES_EXIST, out);
    ctx.tds.delete(pa);
    ctx.releasePage(pa);
    return ok(out);
  }
  const td = ctx.tds.get(e.owner)!;
  if (td.lifecycle !== TdLifecycle.TD_TEARDOWN) return err(S.TDX_LIFECYCLE_STATE_INCORRECT, out);
  td.childCount -= pages;
  for (let i = 0; i < pages; i++) ctx.releasePage(pa + 4096 * i);
  if (e.pt === PageType.PT_TDVPR) {
    const v = ctx.vcpus.get(pa);
    if (v) td.vcpus.delete(v);
    ctx.vcpus.delete(pa);
  }
  return ok(out);
}
