// vCPU SEAMCALLs: TDH.VP.CREATE, ADDCX, INIT, RD/WR, FLUSH.
import { SeamcallLeaf as L } from "../abi/leaves.js";
import { parseFieldId } from "../abi/metadata.js";
import { MIN_NUM_TDVPS_PAGES, PageType, TdLifecycle, VcpuState } from "../abi/pages.js";
import { OperandId as Op, S } from "../abi/status.js";
import { err, type LeafResult, type ModuleContext, ok } from "../context.js";
import { type TdState, VcpuStateData } from "../td-state.js";

/** The vCPU whose TDVPR is at `pa`, checked like an explicit TDVPR operand, plus its TD's state checks. */
export function vcpuForLeaf(
  ctx: ModuleContext,
  tdvprPa: number,
  operand: number,
  leaf: number,
): { status: number; vcpu?: VcpuStateData; td?: TdState } {
  const s = ctx.checkPage(tdvprPa, operand, PageType.PT_TDVPR);
  if (s !== S.TDX_SUCCESS) return { status: s };
  const vcpu = ctx.vcpus.get(tdvprPa)!;
  const td = vcpu.td;
  let st = ctx.buildState(td);
  if (st === S.TDX_SUCCESS) st = ctx.opState(td, leaf);
  return st === S.TDX_SUCCESS ? { status: st, vcpu, td } : { status: st };
}

/** TDH.VP.CREATE: RCX = TDVPR page, RDX = TDR. */
export function tdhVpCreate(ctx: ModuleContext, tdvprPa: number, tdrPa: number): LeafResult {
  const { status, td } = ctx.tdForLeaf(tdrPa, Op.RDX, L.TDH_VP_CREATE);
  if (!td) return err(status);
  const s = ctx.checkPage(tdvprPa, Op.RCX, PageType.PT_NDA);
  if (s !== S.TDX_SUCCESS) return err(s);
  ctx.assignPage(tdvprPa, PageType.PT_TDVPR, tdrPa, td.hkid);
  const vcpu = new VcpuStateData(tdvprPa, td);
  td.vcpus.add(vcpu);
  ctx.vcpus.set(tdvprPa, vcpu);
  td.childCount++;
  return ok();
}

/** TDH.VP.ADDCX: RCX = TDCX page, RDX = TDVPR. */
export function tdhVpAddcx(ctx: ModuleContext, tdcxPa: number, tdvprPa: number): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RDX, L.TDH_VP_ADDCX);
  if (!vcpu || !td) return err(status);
  if (vcpu.state !== VcpuState.VCPU_UNINITIALIZED) return err(S.TDX_VCPU_STATE_INCORRECT);
  if (vcpu.tdcxPages.length >= MIN_NUM_TDVPS_PAGES - 1) return err(S.TDX_TDCX_NUM_INCORRECT + Op.RDX);
  const s = ctx.checkPage(tdcxPa, Op.RCX, PageType.PT_NDA);
  if (s !== S.TDX_SUCCESS) return err(s);
  ctx.assignPage(tdcxPa, PageType.PT_TDCX, td.tdrHpa, td.hkid);
  vcpu.tdcxPages.push(tdcxPa);
  td.childCount++;
  return ok();
}

/**
 * TDH.VP.INIT: RCX = TDVPR, RDX = initial guest RCX/R8; version 1 adds R8 = x2APIC ID (KVM 6.16 uses
 * version 1). Assigns VCPU_INDEX and associates the vCPU with the logical processor.
 */
export function tdhVpInit(
  ctx: ModuleContext,
  tdvprPa: number,
  initialRcx: bigint,
  x2apicId?: number,
): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RCX, L.TDH_VP_INIT);
  if (!vcpu || !td) return err(status);
  if (vcpu.state !== VcpuState.VCPU_UNINITIALIZED) return err(S.TDX_VCPU_STATE_INCORRECT);
  if (vcpu.tdcxPages.length < MIN_NUM_TDVPS_PAGES - 1) return err(S.TDX_TDCX_NUM_INCORRECT + Op.RCX);
  if (td.numVcpus >= td.maxVcpus) return err(S.TDX_MAX_VCPUS_EXCEEDED);
  if (x2apicId !== undefined) {
    for (const other of td.vcpusByIndex)
      if (other.x2apicId === x2apicId) return err(S.TDX_OPERAND_INVALID + Op.R8);
  }
  vcpu.vcpuIndex = td.numVcpus++;
  td.vcpusByIndex.push(vcpu);
  vcpu.initialRcx = initialRcx;
  vcpu.x2apicId = x2apicId ?? vcpu.vcpuIndex;
  vcpu.state = VcpuState.VCPU_READY;
  associate(vcpu);
  return ok();
}

export function associate(vcpu: VcpuStateData): void {
  if (!vcpu.associated) {
    vcpu.associated = true;
    vcpu.td.numAssocVcpus++;
  }
}

/** Guest GPR class in TDVPS metadata (UNCONFIRMED class number; field code = register index 0..15). */
export const TDVPS_GPR_CLASS = 16;

/**
 * TDH.VP.RD: RCX = TDVPR, RDX = field id → R8. Guest state is readable only in debug TDs; a non-debug
 * TD returns TDX_TD_NON_DEBUG. `readGpr` supplies the register value for debug TDs.
 */
export function tdhVpRd(
  ctx: ModuleContext,
  tdvprPa: number,
  fieldId: bigint,
  readGpr: (vcpu: VcpuStateData, reg: number) => bigint,
): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RCX, L.TDH_VP_RD);
  if (!vcpu || !td) return err(status);
  if (!td.debug) return err(S.TDX_TD_NON_DEBUG);
  const k = parseFieldId(fieldId);
  if (!k || k.classCode !== TDVPS_GPR_CLASS || k.fieldCode > 15)
    return err(S.TDX_METADATA_FIELD_ID_INCORRECT);
  associate(vcpu);
  return ok({ r8: readGpr(vcpu, k.fieldCode) });
}

/** TDH.VP.WR: RCX = TDVPR, RDX = field id, R8 value, R9 mask → R8 old value (debug TDs only). */
export function tdhVpWr(
  ctx: ModuleContext,
  tdvprPa: number,
  fieldId: bigint,
  value: bigint,
  mask: bigint,
  gpr: {
    read(vcpu: VcpuStateData, reg: number): bigint;
    write(vcpu: VcpuStateData, reg: number, v: bigint): void;
  },
): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RCX, L.TDH_VP_WR);
  if (!vcpu || !td) return err(status);
  if (!td.debug) return err(S.TDX_TD_NON_DEBUG);
  const k = parseFieldId(fieldId);
  if (!k || k.classCode !== TDVPS_GPR_CLASS || k.fieldCode > 15)
    return err(S.TDX_METADATA_FIELD_ID_INCORRECT);
  if (mask === 0n) return err(S.TDX_METADATA_FIELD_NOT_WRITABLE);
  associate(vcpu);
  const old = gpr.read(vcpu, k.fieldCode);
  gpr.write(vcpu, k.fieldCode, (old & ~mask) | (value & mask));
  return ok({ r8: old });
}

/** TDH.VP.FLUSH: RCX = TDVPR. Dissociates the vCPU from the logical processor. */
export function tdhVpFlush(ctx: ModuleContext, tdvprPa: number): LeafResult {
  const s = ctx.checkPage(tdvprPa, Op.RCX, PageType.PT_TDVPR);
  if (s !== S.TDX_SUCCESS) return err(s);
  const vcpu = ctx.vcpus.get(tdvprPa)!;
  if (vcpu.td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED) return err(S.TDX_LIFECYCLE_STATE_INCORRECT);
  if (!vcpu.associated) return err(S.TDX_VCPU_NOT_ASSOCIATED);
  vcpu.associated = false;
  vcpu.td.numAssocVcpus--;
  return ok();
}
