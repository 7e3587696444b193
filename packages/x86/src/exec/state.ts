// The architectural state of one logical processor, and its RESET/INIT values
// (SDM Vol. 3A, Table 10-1 "IA-32 and Intel 64 Processor States Following Power-up, Reset, or INIT").

import { VM, writeRflags } from "./flags.js";
import { APIC_BASE_BSP, APIC_BASE_EN, EFER_LMA, MSR, MSR_STORE_SLOTS, msrSlot } from "./msr.js";
import { FLAGS_REST, newRegFile, RDX, type RegFile, RIP_HI, RIP_LO } from "./regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_L,
  AR_P,
  AR_S,
  newSegmentFile,
  SEG_CS,
  SEG_LDTR,
  SEG_TR,
  type SegmentFile,
  segAttr,
  setSegment,
} from "./segment.js";
import { XmmFile } from "./sse-int.js";

export interface CpuConfig {
  /** CPUID.1.EAX, left in EDX after RESET/INIT. Default: Sapphire Rapids (family 6, model 0x8F, stepping 8). */
  signature: number;
  /** MAXPHYADDR (CPUID.80000008H:EAX[7:0]). TDX guests see 52 (GPAW 52) or 48. */
  maxPhysAddr: number;
  /** Linear-address width for canonical checks: 57 when LA57 is supported, else 48. */
  linearAddressBits: 48 | 57;
  /** CR4 bits the processor supports (others #GP). */
  cr4Supported: number;
  /** XCR0 bits the processor supports (XSETBV #GP on others). Only x87+SSE state exists here. */
  xcr0Supported: number;
  /** IA32_SPEC_CTRL bits that may be set (IBRS, STIBP, SSBD by default). */
  specCtrlMask: number;
  /** Bootstrap processor: IA32_APIC_BASE.BSP. */
  bsp: boolean;
}

export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;

export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const CR4_UMIP = 1 << 11;
export const CR4_LA57 = 1 << 12;
export const CR4_VMXE = 1 << 13;
export const CR4_SMXE = 1 << 14;
export const CR4_FSGSBASE = 1 << 16;
export const CR4_PCIDE = 1 << 17;
export const CR4_OSXSAVE = 1 << 18;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const CR4_PKE = 1 << 22;
export const CR4_CET = 1 << 23;
export const CR4_PKS = 1 << 24;

export const DEFAULT_CONFIG: CpuConfig = {
  signature: 0x000806f8,
  maxPhysAddr: 52,
  linearAddressBits: 57,
  cr4Supported:
    CR4_VME |
    CR4_PVI |
    CR4_TSD |
    CR4_DE |
    CR4_PSE |
    CR4_PAE |
    CR4_MCE |
    CR4_PGE |
    CR4_PCE |
    CR4_OSFXSR |
    CR4_OSXMMEXCPT |
    CR4_UMIP |
    CR4_LA57 |
    CR4_FSGSBASE |
    CR4_PCIDE |
    CR4_OSXSAVE |
    CR4_SMEP |
    CR4_SMAP |
    CR4_PKE,
  xcr0Supported: 0x3,
  specCtrlMask: 0x7,
  bsp: true,
};

/** Segment access rights used at RESET: present, S=1, data read/write accessed (0x93), CS code (0x9b). */
const AR_DATA_RESET = AR_P | AR_S | 0x3;
const AR_CODE_RESET = AR_P | AR_S | 0xb;

export class CpuState {
  readonly config: CpuConfig;
  /** GPRs, RIP, lazy flags, scratch slots (regs.ts). */
  readonly r: RegFile = newRegFile();
  /** ES CS SS DS FS GS LDTR TR with hidden caches (segment.ts). */
  readonly seg: SegmentFile = newSegmentFile();
  readonly xmm = new XmmFile();
  mxcsr = 0x1f80;
  /** x87 control word. The x87 unit is not executed yet; its state is carried for FXSAVE/FXRSTOR. */
  fcw = 0x40;
  /**
   * The rest of the x87 state as it appears in the FXSAVE image (bytes 2..23: FSW, abridged
   * FTW, FOP, FIP/FCS, FDP/FDS; bytes 32..159: ST0..ST7), stored raw.
   */
  readonly x87Image = new Uint8Array(160);

  gdtrBaseLo = 0;
  gdtrBaseHi = 0;
  gdtrLimit = 0xffff;
  idtrBaseLo = 0;
  idtrBaseHi = 0;
  idtrLimit = 0xffff;

  cr0 = 0;
  cr2Lo = 0;
  cr2Hi = 0;
  cr3Lo = 0;
  cr3Hi = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  xcr0 = 1;
  /** DR0..DR7 as lo/hi pairs (DR4/DR5 are aliases the instruction layer resolves). */
  readonly dr = new Int32Array(16);

  /** Instructions retired: the time base of the TSC. */
  retired = 0;
  tscOffsetLo = 0;
  tscOffsetHi = 0;
  /** NMIs are blocked from NMI delivery until the next IRET. */
  nmiBlocked = false;
  /** HLT wait state: left by delivery of an interrupt, NMI or INIT. */
  halted = false;
  /** Plain 64-bit MSR values by slot (msr.ts). */
  readonly msrStore = new Int32Array(2 * MSR_STORE_SLOTS);

  constructor(config: Partial<CpuConfig> = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    this.reset();
  }

  /** Copy every piece of architectural state from `src` (same configuration assumed). */
  copyFrom(src: CpuState): void {
    this.r.set(src.r);
    this.seg.set(src.seg);
    this.xmm.u8.set(src.xmm.u8);
    this.mxcsr = src.mxcsr;
    this.fcw = src.fcw;
    this.x87Image.set(src.x87Image);
    this.gdtrBaseLo = src.gdtrBaseLo;
    this.gdtrBaseHi = src.gdtrBaseHi;
    this.gdtrLimit = src.gdtrLimit;
    this.idtrBaseLo = src.idtrBaseLo;
    this.idtrBaseHi = src.idtrBaseHi;
    this.idtrLimit = src.idtrLimit;
    this.cr0 = src.cr0;
    this.cr2Lo = src.cr2Lo;
    this.cr2Hi = src.cr2Hi;
    this.cr3Lo = src.cr3Lo;
    this.cr3Hi = src.cr3Hi;
    this.cr4 = src.cr4;
    this.cr8 = src.cr8;
    this.efer = src.efer;
    this.xcr0 = src.xcr0;
    this.dr.set(src.dr);
    this.retired = src.retired;
    this.tscOffsetLo = src.tscOffsetLo;
    this.tscOffsetHi = src.tscOffsetHi;
    this.msrStore.set(src.msrStore);
    this.nmiBlocked = src.nmiBlocked;
    this.halted = src.halted;
  }

  /** Power-up / RESET state. */
  reset(): void {
    this.msrStore.fill(0);
    this.tscOffsetLo = 0;
    this.tscOffsetHi = 0;
    this.retired = 0;
    this.xmm.i32.fill(0);
    this.mxcsr = 0x1f80;
    this.fcw = 0x40; // RESET leaves FCW 0040H (FINIT would give 037FH)
    this.x87Image.fill(0);
    this.xcr0 = 1;
    this.cr2Lo = 0;
    this.cr2Hi = 0;
    this.cr0 = CR0_CD | CR0_NW | CR0_ET;
    const apic = 0xfee00000 | APIC_BASE_EN | (this.config.bsp ? APIC_BASE_BSP : 0) | 0;
    this.msrStore[2 * msrSlot(MSR.IA32_APIC_BASE)] = apic;
    this.msrStore[2 * msrSlot(MSR.IA32_PAT)] = 0x00070406;
    this.msrStore[2 * msrSlot(MSR.IA32_PAT) + 1] = 0x00070406;
    // KVM's initial MISC_ENABLE: PEBS and BTS unavailable (bits 12 and 11).
    this.msrStore[2 * msrSlot(MSR.IA32_MISC_ENABLE)] = 0x1800;
    this.commonResetInit();
  }

  /**
   * INIT: like RESET except that x87/SSE state, MSRs (other than EFER), CR2, the TSC and
   * CR0.CD/NW are kept (SDM Table 10-1).
   */
  init(): void {
    this.cr0 = (this.cr0 & (CR0_CD | CR0_NW)) | CR0_ET;
    this.commonResetInit();
  }

  private commonResetInit(): void {
    const r = this.r;
    this.nmiBlocked = false;
    this.halted = false;
    r.fill(0);
    r[RDX << 1] = this.config.signature;
    r[RIP_LO] = 0xfff0;
    r[RIP_HI] = 0;
    writeRflags(r, 0x2);
    this.cr3Lo = 0;
    this.cr3Hi = 0;
    this.cr4 = 0;
    this.cr8 = 0;
    this.efer = 0;
    this.xcr0 = 1;
    for (let s = 0; s < 6; s++) setSegment(this.seg, s, 0, 0, 0, 0xffff, AR_DATA_RESET);
    setSegment(this.seg, SEG_CS, 0xf000, 0xffff0000 | 0, 0, 0xffff, AR_CODE_RESET);
    setSegment(this.seg, SEG_LDTR, 0, 0, 0, 0xffff, AR_P | 0x2); // LDT
    setSegment(this.seg, SEG_TR, 0, 0, 0, 0xffff, AR_P | 0xb); // busy 32-bit TSS
    this.gdtrBaseLo = 0;
    this.gdtrBaseHi = 0;
    this.gdtrLimit = 0xffff;
    this.idtrBaseLo = 0;
    this.idtrBaseHi = 0;
    this.idtrLimit = 0xffff;
    this.dr.fill(0);
    this.dr[12] = 0xffff0ff0 | 0; // DR6
    this.dr[14] = 0x400; // DR7
  }
}

export type CpuMode = "real" | "virtual-8086" | "protected" | "compatibility" | "64-bit";

/** The operating mode, from CR0.PE, RFLAGS.VM, EFER.LMA and CS.L. */
export function cpuMode(cpu: CpuState): CpuMode {
  if (!(cpu.cr0 & CR0_PE)) return "real";
  if (cpu.efer & EFER_LMA) return segAttr(cpu.seg, SEG_CS) & AR_L ? "64-bit" : "compatibility";
  return cpu.r[FLAGS_REST] & VM ? "virtual-8086" : "protected";
}

/** Default operand/address size of the code segment: 16, 32 or 64. */
export function codeBits(cpu: CpuState): 16 | 32 | 64 {
  const attr = segAttr(cpu.seg, SEG_CS);
  if (cpu.efer & EFER_LMA && attr & AR_L) return 64;
  return cpu.cr0 & CR0_PE && attr & AR_DB ? 32 : 16;
}

/** Current privilege level: CS.DPL in protected modes (SS.DPL equals it), 0 in real mode, 3 in VM86. */
export function cpl(cpu: CpuState): number {
  if (!(cpu.cr0 & CR0_PE)) return 0;
  if (cpu.r[FLAGS_REST] & VM) return 3;
  return (segAttr(cpu.seg, SEG_CS) >>> AR_DPL_SHIFT) & 3;
}
