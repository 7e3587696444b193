// MOV to CR0/CR3/CR4/CR8 and XSETBV with the SDM's #GP(0) checks (Vol. 3A 2.5, and the
// MOV CR / XSETBV instruction pages). Each returns what changed so the caller can flush
// the TLB or the decoded-block cache: a bitmask of CrEffect values.
// Privilege (CPL 0) is checked by the instruction layer before calling these.

import { raiseGP, raiseUD } from "./exception.js";
import { EFER_LMA, EFER_LME } from "./msr.js";
import { AR_L, SEG_CS, segAttr } from "./segment.js";
import {
  type CpuState,
  CR0_CD,
  CR0_ET,
  CR0_NW,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_CET,
  CR4_LA57,
  CR4_OSXSAVE,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
} from "./state.js";

export const CrEffect = {
  NONE: 0,
  /** Drop all TLB entries, global ones included. */
  FLUSH_TLB_ALL: 1,
  /** Drop non-global TLB entries (CR3 load). */
  FLUSH_TLB: 2,
  /** Paging mode or operating mode changed: decoded blocks keyed by mode must be revalidated. */
  MODE_CHANGED: 4,
} as const;

/** CR0 bits that exist; the others are reserved (bits 63:32 must be 0 too). */
const CR0_DEFINED = (0xe005003f | 0) >>> 0;

function in64BitMode(cpu: CpuState): boolean {
  return (cpu.efer & EFER_LMA) !== 0 && (segAttr(cpu.seg, SEG_CS) & AR_L) !== 0;
}

export function writeCr0(cpu: CpuState, lo: number, hi: number): number {
  if (hi !== 0) raiseGP(0, "MOV CR0: bits 63:32 are reserved");
  const v = ((lo & CR0_DEFINED) | CR0_ET) >>> 0; // reserved bits 31:0 are ignored; ET is fixed 1
  if (v & CR0_PG && !(v & CR0_PE)) raiseGP(0, "MOV CR0: PG=1 with PE=0");
  if (v & CR0_NW && !(v & CR0_CD)) raiseGP(0, "MOV CR0: NW=1 with CD=0");
  const old = cpu.cr0 >>> 0;
  const pgOn = !(old & CR0_PG) && v & CR0_PG;
  const pgOff = old & CR0_PG && !(v & CR0_PG);
  if (pgOn && cpu.efer & EFER_LME) {
    if (!(cpu.cr4 & CR4_PAE)) raiseGP(0, "MOV CR0: enabling long-mode paging with CR4.PAE=0");
    if (cpu.cr4 & CR4_PCIDE) raiseGP(0, "MOV CR0: enabling paging with CR4.PCIDE=1");
  }
  if (pgOff && in64BitMode(cpu)) raiseGP(0, "MOV CR0: clearing PG in 64-bit mode");
  if (!(v & CR0_WP) && cpu.cr4 & CR4_CET) raiseGP(0, "MOV CR0: clearing WP with CR4.CET=1");
  cpu.cr0 = v | 0;
  let effect: number = CrEffect.NONE;
  if (pgOn || pgOff) {
    // Long-mode activation follows CR0.PG when EFER.LME is set.
    if (cpu.efer & EFER_LME) cpu.efer = pgOn ? cpu.efer | EFER_LMA : cpu.efer & ~EFER_LMA;
    effect |= CrEffect.FLUSH_TLB_ALL | CrEffect.MODE_CHANGED;
  }
  if ((old ^ v) & CR0_WP) effect |= CrEffect.FLUSH_TLB_ALL;
  if ((old ^ v) & CR0_PE) effect |= CrEffect.MODE_CHANGED;
  return effect;
}

export function writeCr4(cpu: CpuState, lo: number, hi: number): number {
  if (hi !== 0 || lo & ~cpu.config.cr4Supported) raiseGP(0, "MOV CR4: reserved or unsupported bit set");
  const old = cpu.cr4;
  const lma = (cpu.efer & EFER_LMA) !== 0;
  if (lma && !(lo & CR4_PAE)) raiseGP(0, "MOV CR4: clearing PAE in IA-32e mode");
  if (lma && (old ^ lo) & CR4_LA57) raiseGP(0, "MOV CR4: changing LA57 in IA-32e mode");
  if (!(old & CR4_PCIDE) && lo & CR4_PCIDE) {
    if (!lma) raiseGP(0, "MOV CR4: setting PCIDE outside IA-32e mode");
    if (cpu.cr3Lo & 0xfff) raiseGP(0, "MOV CR4: setting PCIDE with CR3[11:0] != 0");
  }
  if (lo & CR4_CET && !(cpu.cr0 & CR0_WP)) raiseGP(0, "MOV CR4: setting CET with CR0.WP=0");
  cpu.cr4 = lo;
  let effect: number = CrEffect.NONE;
  const pagingBits = CR4_PGE | CR4_PAE | CR4_PSE | CR4_SMEP | CR4_SMAP | CR4_LA57;
  if ((old ^ lo) & pagingBits) effect |= CrEffect.FLUSH_TLB_ALL;
  if (old & CR4_PCIDE && !(lo & CR4_PCIDE)) effect |= CrEffect.FLUSH_TLB_ALL;
  if ((old ^ lo) & (CR4_PAE | CR4_LA57)) effect |= CrEffect.MODE_CHANGED;
  return effect;
}

export function writeCr3(cpu: CpuState, lo: number, hi: number): number {
  let h = hi;
  let effect: number = CrEffect.FLUSH_TLB;
  if (cpu.efer & EFER_LMA) {
    // With PCIDE, bit 63 asks to keep the PCID's TLB entries; it is not stored.
    if (cpu.cr4 & CR4_PCIDE && h < 0) {
      h &= 0x7fffffff;
      effect = CrEffect.NONE;
    }
    const maxPhys = cpu.config.maxPhysAddr;
    const reserved = maxPhys >= 64 ? 0 : ~((1 << (maxPhys - 32)) - 1);
    if (h & reserved) raiseGP(0, "MOV CR3: bits above MAXPHYADDR set");
  } else if (h !== 0) {
    raiseGP(0, "MOV CR3: bits 63:32 set outside IA-32e mode");
  }
  cpu.cr3Lo = lo;
  cpu.cr3Hi = h;
  return effect;
}

export function writeCr8(cpu: CpuState, lo: number, hi: number): number {
  if (hi !== 0 || lo & ~0xf) raiseGP(0, "MOV CR8: bits 63:4 are reserved");
  cpu.cr8 = lo;
  return CrEffect.NONE;
}

/** XSETBV: ECX selects the XCR (only XCR0 exists), EDX:EAX the value. */
export function xsetbv(cpu: CpuState, ecx: number, eax: number, edx: number): void {
  if (!(cpu.cr4 & CR4_OSXSAVE)) raiseUD("XSETBV with CR4.OSXSAVE=0");
  if (ecx !== 0) raiseGP(0, `XSETBV: XCR${ecx >>> 0} does not exist`);
  if (edx !== 0 || eax & ~cpu.config.xcr0Supported) raiseGP(0, "XSETBV: unsupported state component");
  if (!(eax & 1)) raiseGP(0, "XSETBV: XCR0.X87 must be 1");
  if (eax & 4 && !(eax & 2)) raiseGP(0, "XSETBV: AVX state requires SSE state");
  const avx512 = eax & 0xe0;
  if (avx512 && (avx512 !== 0xe0 || !(eax & 4)))
    raiseGP(0, "XSETBV: AVX-512 state components must be set together with AVX");
  cpu.xcr0 = eax;
}
