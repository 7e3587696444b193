// The TD's memory as the CPU sees it. `translate(gpa, access)` is called on a TLB fill: it walks the
// Secure EPT (private half) or asks the host's shared EPT (shared half, GPA bit GPAW−1 set) and returns
// the 4 KiB host page holding `gpa`, or null with the reason in `fault`. Numbers only, no BigInt, no
// allocation on the success path.
import { levelSize, SeptState } from "./abi/pages.js";
import { EptQual, ExitReason, ExtExitQualType } from "./abi/vmx.js";
import type { ModuleContext } from "./context.js";
import { SeptWalk } from "./sept.js";
import { type TdState, type VcpuStateData, VeInfo } from "./td-state.js";

/** Access bits for translate() (same as EPT-violation exit-qualification bits 2:0). */
export const Access = { READ: 1, WRITE: 2, FETCH: 4 } as const;

/** What the shared-EPT callback may return instead of an HPA. */
export const SHARED_EPT_VIOLATION = -1; // not mapped: TD exit (EPT violation) to the host
export const SHARED_EPT_VE = -2; // RWX=0 with suppress-#VE clear (KVM's MMIO): #VE to the guest
export const SHARED_EPT_MISCONFIG = -3; // TD exit (EPT misconfiguration)

/**
 * Host-controlled shared EPT: GPA (shared bit set) → the 4 KiB frame, or a SHARED_EPT_* code. The frame
 * is either an HPA (KeyID 0, in the module's host-physical memory) or the host page itself (a 4 KiB
 * Uint8Array of unencrypted host memory, e.g. a KVM memslot's userspace page), which the guest then
 * reads and writes in place: the host sees its stores and the guest sees the host's.
 */
export type SharedEpt = (gpa: number, access: number) => number | Uint8Array;

export const FaultKind = {
  NONE: 0,
  /** The guest gets #VE (exit reason 48): use deliverEptVe(). */
  VE: 1,
  /** TD exit to the host: EPT violation with `exitQualification`/`extExitQualification`/`gpa`. */
  EPT_VIOLATION: 2,
  /** TD exit to the host: EPT misconfiguration. */
  EPT_MISCONFIG: 3,
} as const;

export class TranslateFault {
  kind: number = FaultKind.NONE;
  /** Faulting GPA, page aligned (bits 11:0 cleared, as the module reports it). */
  gpa = 0;
  /** EPT-violation exit qualification: access bits 2:0, entry permissions 5:3 (GLA bits 7/8 are the CPU's). */
  exitQualification = 0;
  /** TDX extended exit qualification: type in bits 3:0, details from bit 32 (a number < 2^53). */
  extExitQualification = 0;
  /** True when the page is private (Secure EPT) — a module-injected #VE; false for a CPU (shared EPT) #VE. */
  private = false;
}

const walk = new SeptWalk();
const TWO32 = 0x1_0000_0000;

export class TdMemory {
  readonly fault = new TranslateFault();
  sharedEpt: SharedEpt | undefined;

  constructor(
    private readonly ctx: ModuleContext,
    readonly td: TdState,
  ) {}

  /** The host page holding `gpa`, or null (see `fault`). */
  translate(gpa: number, access: number): Uint8Array | null {
    const td = this.td;
    const shared = td.sharedBitValue;
    const f = this.fault;
    if (gpa >= shared) {
      if (gpa >= 2 * shared) return this.violation(gpa, access, 0, ExtExitQualType.NONE, false);
      const ept = this.sharedEpt;
      const hpa = ept ? ept(gpa, access) : SHARED_EPT_VIOLATION;
      if (typeof hpa !== "number") {
        // a host page must be one whole, word-aligned 4 KiB frame; anything else is a bad EPT entry
        return hpa.length === 4096 && hpa.byteOffset % 4 === 0 ? hpa : this.misconfig(gpa);
      }
      if (hpa >= 0) {
        if (this.ctx.priv.keyIdOf(hpa) !== 0) return this.misconfig(gpa);
        return this.ctx.priv.page(hpa - (hpa % 4096), 0);
      }
      if (hpa === SHARED_EPT_VE) {
        f.kind = FaultKind.VE;
        f.gpa = gpa - (gpa % 4096);
        f.exitQualification = access & 7;
        f.extExitQualification = 0;
        f.private = false;
        return null;
      }
      if (hpa === SHARED_EPT_MISCONFIG) return this.misconfig(gpa);
      return this.violation(gpa, access, 0, ExtExitQualType.NONE, false);
    }
    const sept = td.sept;
    if (!sept) return this.violation(gpa, access, 0, ExtExitQualType.NONE, true);
    sept.walk(gpa, 0, walk);
    const state = walk.state;
    if (state === SeptState.MAPPED) {
      const offset = gpa % levelSize(walk.level);
      return this.ctx.priv.page(walk.hpa + offset - (offset % 4096), td.hkid);
    }
    if (state === SeptState.PENDING) {
      if ((td.tdCtls & 1n) === 0n) {
        f.kind = FaultKind.VE;
        f.gpa = gpa - (gpa % 4096);
        f.exitQualification = access & 7;
        f.extExitQualification = 0;
        f.private = true;
        return null;
      }
      return this.violation(gpa, access, 0, ExtExitQualType.PENDING_EPT_VIOLATION, true);
    }
    return this.violation(gpa, access, 0, ExtExitQualType.NONE, true);
  }

  private violation(gpa: number, access: number, perms: number, eeqType: number, isPrivate: boolean): null {
    const f = this.fault;
    f.kind = FaultKind.EPT_VIOLATION;
    f.gpa = gpa - (gpa % 4096);
    f.exitQualification = (access & 7) | perms;
    f.extExitQualification = eeqType;
    f.private = isPrivate;
    return null;
  }

  private misconfig(gpa: number): null {
    const f = this.fault;
    f.kind = FaultKind.EPT_MISCONFIG;
    f.gpa = gpa - (gpa % 4096);
    f.exitQualification = 0;
    f.extExitQualification = 0;
    f.private = false;
    return null;
  }
}

/** Exit qualification bits for an entry's permissions (MAPPED leaves are RWX). */
export const RWX_PERMS = EptQual.READABLE | EptQual.WRITABLE | EptQual.EXECUTABLE;

/**
 * Module-injected #VE (td_other_exits.c tdx_inject_ve): fills VE_INFO and returns the vector to deliver —
 * 20 (#VE), or 8 (#DF) when VE_INFO.VALID was still set.
 */
export function injectVe(
  vcpu: VcpuStateData,
  exitReason: number,
  qualification: number,
  glaLo: number,
  glaHi: number,
  gpa: number,
  instrLength: number,
  instrInfo: number,
): number {
  const ve = vcpu.veInfo;
  if (ve[VeInfo.VALID] !== 0) return 8;
  ve[VeInfo.EXIT_REASON] = exitReason;
  ve[VeInfo.VALID] = -1;
  ve[VeInfo.QUAL_LO] = qualification % TWO32;
  ve[VeInfo.QUAL_HI] = Math.floor(qualification / TWO32);
  ve[VeInfo.GLA_LO] = glaLo;
  ve[VeInfo.GLA_HI] = glaHi;
  ve[VeInfo.GPA_LO] = gpa % TWO32;
  ve[VeInfo.GPA_HI] = Math.floor(gpa / TWO32);
  ve[VeInfo.EPTP_INDEX] = 0;
  ve[VeInfo.INSTR_LEN] = instrLength;
  ve[VeInfo.INSTR_INFO] = instrInfo;
  return 20;
}

/**
 * Delivers a translate() fault of kind VE. Private (pending page): module-injected, #DF if VE_INFO is
 * still valid. Shared (CPU EPT-violation #VE): if VE_INFO is valid the CPU VM-exits instead — returns
 * −1 and the caller must TD-exit with the fault as an EPT violation.
 */
export function deliverEptVe(
  vcpu: VcpuStateData,
  fault: TranslateFault,
  glaLo: number,
  glaHi: number,
  glaValid: boolean,
): number {
  const qual = fault.exitQualification | (glaValid ? EptQual.GLA_VALID | EptQual.GLA_TRANSLATION : 0);
  if (!fault.private && vcpu.veInfo[VeInfo.VALID] !== 0) {
    fault.kind = FaultKind.EPT_VIOLATION;
    return -1;
  }
  return injectVe(vcpu, ExitReason.EPT_VIOLATION, qual, glaLo, glaHi, fault.gpa, 0, 0);
}
