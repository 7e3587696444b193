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
  let s = ctx.checkPage(tdvprPa, operand, PageType.PT_TDVPR);
  if (s === S.TDX_SUCCESS) s = ctx.tdvpsLock(tdvprPa, operand);
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
    // Version 1 (topology enumeration): the x2APIC ID is 32 bits and unique within the TD; a duplicate
    // reports TDX_X2APIC_ID_NOT_UNIQUE with the ID in the low bits (as tdx_1.5 does).
    if (!Number.isInteger(x2apicId) || x2apicId < 0 || x2apicId > 0xffffffff)
      return err(S.TDX_OPERAND_INVALID + Op.R8);
    for (const other of td.vcpusByIndex)
      if (other.x2apicId === x2apicId) return err(S.TDX_X2APIC_ID_NOT_UNIQUE + x2apicId);
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

/** TDVPS metadata classes (KVM tdx_arch.h: TDVPS_CLASS_VMCS 0, GUEST_GPR 16, OTHER_GUEST 17, MANAGEMENT 32). */
export const TdvpsClass = { VMCS: 0, GUEST_GPR: 16, OTHER_GUEST: 17, MANAGEMENT: 32 } as const;
/** TDVPS_STATE_NON_ARCH(0x100): VCPU_STATE_DETAILS, bit 0 VMXIP. */
export const TD_VCPU_STATE_DETAILS_NON_ARCH = 0x100;
/** TDVPS_MANAGEMENT(11): PEND_NMI. */
export const TD_VCPU_PEND_NMI = 11;
/** TD-VMCS fields the host may program in any TD (the ones KVM writes at vCPU creation). */
const HOST_VMCS_FIELDS = new Set([
  0x0002 /* POSTED_INTR_NV */, 0x2016 /* POSTED_INTR_DESC_ADDR */, 0x4000 /* PIN_BASED_VM_EXEC_CONTROL */,
]);

export interface GprAccess {
  read(vcpu: VcpuStateData, reg: number): bigint;
  write(vcpu: VcpuStateData, reg: number, v: bigint): void;
}

type VpField = { read(): bigint; write?(v: bigint): void; writable: bigint } | { status: number };

/** Resolves a TDVPS field for the host: guest GPRs only in debug TDs (TDX_TD_NON_DEBUG otherwise). */
function vpField(vcpu: VcpuStateData, fieldId: bigint, gpr: GprAccess): VpField {
  const k = parseFieldId(fieldId);
  if (!k) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT };
  if (k.classCode === TdvpsClass.GUEST_GPR && !k.nonArch && k.fieldCode < 16) {
    // UNCONFIRMED: 1.5 may report a metadata access error here; the spec and KVM's debug-TD path expect
    // guest state to be unreadable for non-debug TDs, which we report as TDX_TD_NON_DEBUG.
    if (!vcpu.td.debug) return { status: S.TDX_TD_NON_DEBUG };
    return {
      read: () => gpr.read(vcpu, k.fieldCode),
      write: (v) => gpr.write(vcpu, k.fieldCode, v),
      writable: ~0n,
    };
  }
  if (k.classCode === TdvpsClass.OTHER_GUEST && k.nonArch && k.fieldCode === TD_VCPU_STATE_DETAILS_NON_ARCH)
    return { read: () => (vcpu.vmxip ? 1n : 0n), writable: 0n };
  if (k.classCode === TdvpsClass.MANAGEMENT && !k.nonArch && k.fieldCode === TD_VCPU_PEND_NMI)
    return {
      read: () => (vcpu.pendNmi ? 1n : 0n),
      write: (v) => {
        vcpu.pendNmi = (v & 1n) !== 0n;
      },
      writable: 1n,
    };
  if (k.classCode === TdvpsClass.VMCS && !k.nonArch && HOST_VMCS_FIELDS.has(k.fieldCode))
    return {
      read: () => vcpu.vmcs.get(k.fieldCode) ?? 0n,
      write: (v) => {
        vcpu.vmcs.set(k.fieldCode, v);
      },
      writable: ~0n & 0xffff_ffff_ffff_ffffn,
    };
  if (k.classCode === TdvpsClass.GUEST_GPR || k.classCode === TdvpsClass.OTHER_GUEST) {
    if (!vcpu.td.debug) return { status: S.TDX_TD_NON_DEBUG };
  }
  return { status: S.TDX_METADATA_FIELD_ID_INCORRECT };
}

/** TDH.VP.RD: RCX = TDVPR, RDX = field id → R8. */
export function tdhVpRd(ctx: ModuleContext, tdvprPa: number, fieldId: bigint, gpr: GprAccess): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RCX, L.TDH_VP_RD);
  if (!vcpu || !td) return err(status);
  const f = vpField(vcpu, fieldId, gpr);
  if ("status" in f) return err(f.status);
  associate(vcpu);
  return ok({ r8: f.read() });
}

/** TDH.VP.WR: RCX = TDVPR, RDX = field id, R8 value, R9 mask → R8 old value. */
export function tdhVpWr(
  ctx: ModuleContext,
  tdvprPa: number,
  fieldId: bigint,
  value: bigint,
  mask: bigint,
  gpr: GprAccess,
): LeafResult {
  const { status, vcpu, td } = vcpuForLeaf(ctx, tdvprPa, Op.RCX, L.TDH_VP_WR);
  if (!vcpu || !td) return err(status);
  const f = vpField(vcpu, fieldId, gpr);
  if ("status" in f) return err(f.status);
  const m = f.writable & mask;
  if (m === 0n || !f.write) return err(S.TDX_METADATA_FIELD_NOT_WRITABLE);
  associate(vcpu);
  const old = f.read();
  f.write((old & ~m) | (value & m));
  return ok({ r8: old });
}

/** TDH.VP.FLUSH: RCX = TDVPR. Dissociates the vCPU from the logical processor. */
export function tdhVpFlush(ctx: ModuleContext, tdvprPa: number): LeafResult {
  let s = ctx.checkPage(tdvprPa, Op.RCX, PageType.PT_TDVPR);
  if (s === S.TDX_SUCCESS) s = ctx.tdvpsLock(tdvprPa, Op.RCX);
  if (s !== S.TDX_SUCCESS) return err(s);
  const vcpu = ctx.vcpus.get(tdvprPa)!;
  if (vcpu.td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED) return err(S.TDX_LIFECYCLE_STATE_INCORRECT);
  if (!vcpu.associated) return err(S.TDX_VCPU_NOT_ASSOCIATED);
  vcpu.associated = false;
  vcpu.td.numAssocVcpus--;
  return ok();
}
