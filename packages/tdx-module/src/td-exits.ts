// How the TDX module turns a TD's would-be VM exits into #VE, #UD or #GP (spec/tdx-abi.md §3.2), as tables
// the x86 core consults: instructions by VMX exit reason, MSRs by index and direction, and CR writes.
import { TdAttribute } from "./abi/td-attributes.js";
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

/** MOV to CR0 that TDX refuses (architecturally legal): clearing PE or NE, setting NW or CD → #VE (exit reason 28). */
export function cr0WriteCausesVe(newCr0: number): boolean {
  return (newCr0 & CR0_PE) === 0 || (newCr0 & CR0_NE) === 0 || (newCr0 & (CR0_NW | CR0_CD)) !== 0;
}
