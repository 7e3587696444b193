// How the TDX module turns a TD's would-be VM exits into #VE, #UD or #GP (spec/tdx-abi.md §3.2), as tables
// the x86 core consults: instructions by VMX exit reason, MSRs by index and direction, and CR writes.
import { TdAttribute, XFAM_XSS_MASK, Xfam } from "./abi/td-attributes.js";
import { ExitReason } from "./abi/vmx.js";
import type { TdState } from "./td-state.js";

export const Disposition = {
  /** Runs natively (no exit). */
  NATIVE: 0,
  /** The module injects #VE with this exit reason (VE_INFO filled; #DF if already valid). */
  VE: 1,
  /** #UD. */
  UD: 2,
  /** #GP(0). */
  GP: 3,
} as const;

/** Instructions the module reflects as #VE (exit reason = the VMX basic exit reason). */
const VE_EXITS = new Set<number>([
  ExitReason.HLT,
  ExitReason.INVD,
  ExitReason.VMCALL,
  ExitReason.IO_INSTRUCTION,
  ExitReason.WBINVD,
  ExitReason.MWAIT,
  ExitReason.MONITOR,
  ExitReason.PCONFIG,
  ExitReason.CPUID,
]);

/** VMX exit reasons of instructions that raise #UD in a TD: VMX instructions, GETSEC, RSM, ENCLS/ENCLV, INVEPT/INVVPID, SEAMCALL, VMFUNC. */
export const UD_EXIT_REASONS: ReadonlySet<number> = new Set([
  11 /* GETSEC */, 17 /* RSM */, 19 /* VMCLEAR */, 20 /* VMLAUNCH */, 21 /* VMPTRLD */, 22 /* VMPTRST */,
  23 /* VMREAD */, 24 /* VMRESUME */, 25 /* VMWRITE */, 26 /* VMXOFF */, 27 /* VMXON */, 50 /* INVEPT */,
  53 /* INVVPID */, 59 /* VMFUNC */, 60 /* ENCLS */, 66 /* SEAMCALL */, 75 /* ENCLV */,
]);

/** What happens when a TD executes the instruction behind VMX exit reason `reason`. */
export function instructionDisposition(td: TdState, reason: number): number {
  if (VE_EXITS.has(reason)) return Disposition.VE;
  if (UD_EXIT_REASONS.has(reason)) return Disposition.UD;
  if (reason === 15 /* RDPMC */)
    return (td.attributes & TdAttribute.PERFMON) !== 0n ? Disposition.NATIVE : Disposition.GP;
  return Disposition.NATIVE;
}

/**
 * XCR0 bits a TD's XSETBV may set: XFAM's user-state bits (check_guest_xcr0_value: XCR0 ⊆ supported ∩
 * XFAM; supervisor components live in IA32_XSS, never in XCR0). The core adds its own checks (ECX = 0,
 * x87 set, AVX needs SSE...), all #GP(0) as in the module.
 */
export function xcr0AllowedMask(td: TdState): number {
  return Number(td.xfam & ~XFAM_XSS_MASK & 0xffff_ffffn) | 0;
}

/** XSETBV: #GP(0) unless ECX = 0 and the value is allowed by XFAM (user bits only, x87 set). */
export function xsetbvFaults(td: TdState, ecx: number, valueLo: number, valueHi: number): boolean {
  if (ecx !== 0 || (valueLo & 1) === 0) return true;
  const value = (BigInt(valueHi >>> 0) << 32n) | BigInt(valueLo >>> 0);
  return (value & ~td.xfam) !== 0n || (value & 0x0001_fd00n) !== 0n;
}

// MSR dispositions (msr_config_lookup.c summary). Ranges are [first, last] inclusive.
type MsrRule = readonly [first: number, last: number, read: number, write: number];
const N = Disposition.NATIVE;
const VE = Disposition.VE;
const GP = Disposition.GP;
const MSR_RULES: readonly MsrRule[] = [
  [0x10, 0x10, N, VE], // IA32_TIME_STAMP_COUNTER
  [0x1b, 0x1b, VE, VE], // IA32_APIC_BASE
  [0x48, 0x49, N, N], // SPEC_CTRL, PRED_CMD
  [0x9e, 0x9e, GP, GP], // IA32_SMBASE
  [0xbc, 0xbc, N, VE], // MISC_PACKAGE_CTLS
  [0x10b, 0x10b, N, N], // FLUSH_CMD
  [0x174, 0x176, N, N], // SYSENTER_CS/ESP/EIP
  [0x1a0, 0x1a0, N, VE], // MISC_ENABLE: the module emulates reads (the CPU returns its virtual value), write #VE
  [0x277, 0x277, N, N], // PAT
  [0x480, 0x491, VE, GP], // IA32_VMX_* capability MSRs: read #VE, write #GP
  [0x600, 0x600, N, N], // DS_AREA
  [0x808, 0x808, N, N], // x2APIC TPR
  [0x80a, 0x80b, N, N], // PPR, EOI
  [0x810, 0x827, N, N], // ISR, TMR, IRR
  [0x83f, 0x83f, N, N], // SELF_IPI
  [0xc80, 0xc80, N, VE], // DEBUG_INTERFACE
  [0xd90, 0xd90, GP, GP], // IA32_BNDCFGS
  [0xd93, 0xd93, GP, GP], // IA32_PASID
  [0xc0000080, 0xc0000080, N, N], // EFER (writes checked by the CPU against TDX rules)
  [0xc0000081, 0xc0000084, N, N], // STAR, LSTAR, CSTAR, FMASK
  [0xc0000100, 0xc0000103, N, N], // FS/GS/KERNEL_GS_BASE, TSC_AUX
];

/**
 * RDMSR/WRMSR disposition for a TD. MSRs not in the table give #VE (e.g. x2APIC ICR 0x830, timer
 * 0x832-0x839, MTRRs), as do MSRs outside the bitmap ranges. PMU MSRs follow ATTRIBUTES.PERFMON.
 * Simplified from the module's table (UNCONFIRMED per MSR beyond the ones listed in the spec).
 */
export function msrDisposition(td: TdState, index: number, write: boolean): number {
  index >>>= 0;
  for (const [first, last, read, wr] of MSR_RULES)
    if (index >= first && index <= last) return write ? wr : read;
  const pmu =
    (index >= 0xc1 && index <= 0xc8) ||
    (index >= 0x186 && index <= 0x18d) ||
    (index >= 0x309 && index <= 0x30b) ||
    (index >= 0x38d && index <= 0x390);
  if (pmu) return (td.attributes & TdAttribute.PERFMON) !== 0n ? Disposition.NATIVE : Disposition.GP;
  return Disposition.VE;
}

/** CR0 bits. */
const CR0_PE = 1 << 0;
const CR0_NE = 1 << 5;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;

const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;

/** MOV to CR0 that TDX refuses (architecturally legal): clearing PE or NE, setting NW or CD → #VE (exit reason 28). */
export function cr0WriteCausesVe(newCr0: number): boolean {
  return (newCr0 & CR0_PE) === 0 || (newCr0 & CR0_NE) === 0 || (newCr0 & (CR0_NW | CR0_CD)) !== 0;
}

/** CR4 bits. */
const CR4_MCE = 1 << 6;
const CR4_VMXE = 1 << 13;
const CR4_SMXE = 1 << 14;
const CR4_BIT15 = 1 << 15;
const CR4_KL = 1 << 19;
const CR4_PKE = 1 << 22;
const CR4_CET = 1 << 23;
const CR4_PKS = 1 << 24;
const CR4_UINTR = 1 << 25;
/** Bits 31:26: reserved on the platform this module models (no LASS/LAM): natively #GP. UNCONFIRMED per CPU. */
const CR4_HIGH = 0xfc00_0000 | 0;

/**
 * The CR4 bits the module owns (TD-VMCS CR4 guest/host mask, tdx_1.5 td_vmcs_init.c): MCE, VMXE, SMXE,
 * bit 15 and 63:26 always; PKE, CET, UINTR, KL, PKS when XFAM/ATTRIBUTES do not enable the feature. A
 * MOV to CR4 exits to the module only when it changes one of them from the read shadow (MCE = 1, the
 * others 0).
 */
function cr4OwnedBits(td: TdState): number {
  let owned = CR4_MCE | CR4_VMXE | CR4_SMXE | CR4_BIT15 | CR4_HIGH;
  if ((td.xfam & Xfam.PKRU) === 0n) owned |= CR4_PKE;
  if ((td.xfam & (Xfam.CET_U | Xfam.CET_S)) !== (Xfam.CET_U | Xfam.CET_S)) owned |= CR4_CET;
  if ((td.xfam & Xfam.UINTR) === 0n) owned |= CR4_UINTR;
  if ((td.attributes & TdAttribute.KL) === 0n) owned |= CR4_KL;
  if ((td.attributes & TdAttribute.PKS) === 0n) owned |= CR4_PKS;
  return owned;
}

/**
 * What a TD's MOV to CR0/CR4 of `lo`/`hi` does, given the current CR0/CR4 (tdx_1.5 td_cr_access_exit,
 * write_guest_cr0/cr4): NATIVE (no exit, or an architecturally invalid value the core itself refuses
 * with #GP), GP (#GP(0) by the module's rules) or VE (#VE, exit reason 28 CR_ACCESS).
 * CR0: a natively invalid value (bits 63:32, PG without PE, NW without CD) is the core's #GP; clearing
 * WP while CR4.CET is set is #GP; then clearing PE/NE or setting NW/CD is #VE.
 * CR4: no exit unless an owned bit changes; bit 15 / 63:26 → #GP; PKE, CET, UINTR, KL, PKS without the
 * XFAM/ATTRIBUTES feature → #GP; CET with CR0.WP = 0 → #GP; anything else (clearing MCE, setting VMXE
 * or SMXE) → #VE.
 */
export function crWriteDisposition(
  td: TdState,
  cr: number,
  lo: number,
  hi: number,
  cr0: number,
  cr4: number,
): number {
  if (cr === 0) {
    if (
      hi !== 0 ||
      ((lo & CR0_PG) !== 0 && (lo & CR0_PE) === 0) ||
      ((lo & CR0_NW) !== 0 && (lo & CR0_CD) === 0)
    )
      return Disposition.NATIVE;
    if ((cr4 & CR4_CET) !== 0 && (lo & CR0_WP) === 0) return Disposition.GP;
    return cr0WriteCausesVe(lo) ? Disposition.VE : Disposition.NATIVE;
  }
  if (cr !== 4) return Disposition.NATIVE;
  const owned = cr4OwnedBits(td);
  if (hi === 0 && ((lo ^ CR4_MCE) & owned) === 0) return Disposition.NATIVE;
  if (hi !== 0 || (lo & (CR4_BIT15 | CR4_HIGH)) !== 0) return Disposition.GP;
  if ((lo & owned & (CR4_PKE | CR4_CET | CR4_UINTR | CR4_KL | CR4_PKS)) !== 0) return Disposition.GP;
  if ((lo & CR4_CET) !== 0 && (cr0 & CR0_WP) === 0) return Disposition.GP;
  return Disposition.VE;
}
