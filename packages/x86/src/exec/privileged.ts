// MOV to/from control registers with the instruction-level rules (CPL 0, #UD for registers
// that do not exist), CLTS, LMSW, SMSW, and the time-stamp reads RDTSC/RDTSCP/RDPID
// (SDM Vol. 2 pages). The register-level rules are in control.ts.

import { CrEffect, writeCr0, writeCr3, writeCr4, writeCr8 } from "./control.js";
import { raiseGP, raiseUD } from "./exception.js";
import { MSR, msrSlot, readTsc } from "./msr.js";
import { OUT_HI } from "./regs.js";
import { type CpuState, CR0_PE, CR0_TS, CR4_TSD, cpl } from "./state.js";

function requireCpl0(cpu: CpuState, what: string): void {
  if (cpl(cpu) !== 0) raiseGP(0, `${what} at CPL ${cpl(cpu)}`);
}

/** MOV r, CRn: returns lo, hi in r[OUT_HI]. */
export function movFromCr(cpu: CpuState, n: number): number {
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) raiseUD(`MOV from CR${n}`);
  requireCpl0(cpu, `MOV from CR${n}`);
  const r = cpu.r;
  switch (n) {
    case 0:
      r[OUT_HI] = 0;
      return cpu.cr0;
    case 2:
      r[OUT_HI] = cpu.cr2Hi;
      return cpu.cr2Lo;
    case 3:
      r[OUT_HI] = cpu.cr3Hi;
      return cpu.cr3Lo;
    case 4:
      r[OUT_HI] = 0;
      return cpu.cr4;
    default:
      r[OUT_HI] = 0;
      return cpu.cr8;
  }
}

/** MOV CRn, r: returns the CrEffect bitmask. */
export function movToCr(cpu: CpuState, n: number, lo: number, hi: number): number {
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) raiseUD(`MOV to CR${n}`);
  requireCpl0(cpu, `MOV to CR${n}`);
  switch (n) {
    case 0:
      return writeCr0(cpu, lo, hi);
    case 2:
      cpu.cr2Lo = lo;
      cpu.cr2Hi = hi;
      return CrEffect.NONE;
    case 3:
      return writeCr3(cpu, lo, hi);
    case 4:
      return writeCr4(cpu, lo, hi);
    default:
      return writeCr8(cpu, lo, hi);
  }
}

export function clts(cpu: CpuState): void {
  requireCpl0(cpu, "CLTS");
  cpu.cr0 &= ~CR0_TS;
}

/** LMSW: loads CR0[3:0] only, and cannot clear PE. */
export function lmsw(cpu: CpuState, v: number): number {
  requireCpl0(cpu, "LMSW");
  const low = (v & 0xf) | (cpu.cr0 & CR0_PE);
  return writeCr0(cpu, (cpu.cr0 & ~0xf) | low, 0);
}

/** SMSW: CR0 (the caller truncates to the operand size; a memory operand takes 16 bits). */
export function smsw(cpu: CpuState): number {
  return cpu.cr0;
}

/** RDTSC: #GP(0) if CR4.TSD and CPL > 0. Returns EAX, EDX in r[OUT_HI]. */
export function rdtsc(cpu: CpuState): number {
  if (cpu.cr4 & CR4_TSD && cpl(cpu) !== 0) raiseGP(0, "RDTSC with CR4.TSD at CPL > 0");
  return readTsc(cpu);
}

/** RDTSCP: like RDTSC; ECX = IA32_TSC_AUX[31:0] is returned by `tscAux`. */
export function rdtscp(cpu: CpuState): number {
  return rdtsc(cpu);
}

/** IA32_TSC_AUX[31:0], the ECX of RDTSCP and the result of RDPID. */
export function tscAux(cpu: CpuState): number {
  return cpu.msrStore[2 * msrSlot(MSR.IA32_TSC_AUX)];
}
