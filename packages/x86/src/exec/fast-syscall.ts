// SYSCALL, SYSRET and SWAPGS (SDM Vol. 2 instruction pages; Intel behaviour: SYSCALL and
// SYSRET #UD outside 64-bit mode). The caller has already advanced RIP past the instruction.

import { raiseGP, raiseUD } from "./exception.js";
import { RF, readRflags, writeRflags } from "./flags.js";
import { EFER_LMA, EFER_SCE, isCanonicalForMode, MSR, msrSlot } from "./msr.js";
import { hi, lo, R11, RCX, RIP_HI, RIP_LO } from "./regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  S_BASE_HI,
  S_BASE_LO,
  SEG_CS,
  SEG_GS,
  SEG_SS,
  SEG_STRIDE,
  segAttr,
  setSegment,
} from "./segment.js";
import { type CpuState, cpl } from "./state.js";

const AR_CODE64 = 0xb | AR_S | AR_P | AR_L | AR_G;
const AR_CODE32 = 0xb | AR_S | AR_P | AR_DB | AR_G;
const AR_STACK = 0x3 | AR_S | AR_P | AR_DB | AR_G;

function in64BitMode(cpu: CpuState): boolean {
  return (cpu.efer & EFER_LMA) !== 0 && (segAttr(cpu.seg, SEG_CS) & AR_L) !== 0;
}

function msrLo(cpu: CpuState, index: number): number {
  return cpu.msrStore[2 * msrSlot(index)];
}
function msrHi(cpu: CpuState, index: number): number {
  return cpu.msrStore[2 * msrSlot(index) + 1];
}

export function syscall(cpu: CpuState): void {
  if (!in64BitMode(cpu) || !(cpu.efer & EFER_SCE)) raiseUD("SYSCALL outside 64-bit mode or with EFER.SCE=0");
  const r = cpu.r;
  const flags = readRflags(r);
  r[lo(RCX)] = r[RIP_LO];
  r[hi(RCX)] = r[RIP_HI];
  r[lo(R11)] = flags;
  r[hi(R11)] = 0;
  r[RIP_LO] = msrLo(cpu, MSR.IA32_LSTAR);
  r[RIP_HI] = msrHi(cpu, MSR.IA32_LSTAR);
  writeRflags(r, flags & ~msrLo(cpu, MSR.IA32_FMASK) & ~RF);
  const sel = msrHi(cpu, MSR.IA32_STAR) & 0xffff & 0xfffc; // STAR[47:32]
  setSegment(cpu.seg, SEG_CS, sel, 0, 0, -1, AR_CODE64);
  setSegment(cpu.seg, SEG_SS, sel + 8, 0, 0, -1, AR_STACK);
}

/** SYSRET; `rexW` selects the 64-bit form (SYSRETQ, return to 64-bit code). */
export function sysret(cpu: CpuState, rexW: boolean): void {
  if (!in64BitMode(cpu) || !(cpu.efer & EFER_SCE)) raiseUD("SYSRET outside 64-bit mode or with EFER.SCE=0");
  if (cpl(cpu) !== 0) raiseGP(0, "SYSRET at CPL != 0");
  const r = cpu.r;
  if (rexW && !isCanonicalForMode(cpu, r[hi(RCX)])) raiseGP(0, "SYSRET to a non-canonical RCX");
  r[RIP_LO] = r[lo(RCX)];
  r[RIP_HI] = rexW ? r[hi(RCX)] : 0;
  writeRflags(r, (r[lo(R11)] & 0x3c7fd7) | 2);
  const base = (msrHi(cpu, MSR.IA32_STAR) >>> 16) & 0xffff; // STAR[63:48]
  const dpl3 = 3 << AR_DPL_SHIFT;
  if (rexW) setSegment(cpu.seg, SEG_CS, ((base + 16) & 0xfffc) | 3, 0, 0, -1, AR_CODE64 | dpl3);
  else setSegment(cpu.seg, SEG_CS, (base & 0xfffc) | 3, 0, 0, -1, AR_CODE32 | dpl3);
  setSegment(cpu.seg, SEG_SS, ((base + 8) & 0xfffc) | 3, 0, 0, -1, AR_STACK | dpl3);
}

/** SWAPGS: exchange GS.base with IA32_KERNEL_GS_BASE. */
export function swapgs(cpu: CpuState): void {
  if (!in64BitMode(cpu)) raiseUD("SWAPGS outside 64-bit mode");
  if (cpl(cpu) !== 0) raiseGP(0, "SWAPGS at CPL != 0");
  const i = SEG_GS * SEG_STRIDE;
  const s = 2 * msrSlot(MSR.IA32_KERNEL_GS_BASE);
  const gLo = cpu.seg[i + S_BASE_LO];
  const gHi = cpu.seg[i + S_BASE_HI];
  cpu.seg[i + S_BASE_LO] = cpu.msrStore[s];
  cpu.seg[i + S_BASE_HI] = cpu.msrStore[s + 1];
  cpu.msrStore[s] = gLo;
  cpu.msrStore[s + 1] = gHi;
}
