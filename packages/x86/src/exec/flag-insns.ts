// Instructions that read or write RFLAGS as a whole or bit by bit, with the privilege rules
// of their SDM pages: PUSHF/POPF, CLI/STI (and STI's interrupt shadow), LAHF/SAHF,
// CLC/STC/CMC, CLD/STD. Virtual-8086 mode is not supported by this core.

import { raiseGP, UnsupportedError } from "./exception.js";
import {
  AC,
  arithFlags,
  CF,
  DF,
  getCF,
  ID,
  IF,
  IOPL,
  NT,
  RF,
  readRflags,
  setArithFlags,
  setCF,
  TF,
  VIF,
  VIP,
  VM,
  writeRflags,
} from "./flags.js";
import { FLAGS_REST } from "./regs.js";
import { type CpuState, cpl } from "./state.js";

/** The value PUSHF pushes: RFLAGS with VM and RF cleared (SDM PUSHF). */
export function pushfValue(cpu: CpuState): number {
  if (cpu.r[FLAGS_REST] & VM) throw new UnsupportedError("PUSHF in virtual-8086 mode");
  return readRflags(cpu.r) & ~(VM | RF);
}

/**
 * POPF/POPFD/POPFQ of `value` with operand size 16/32/64: at CPL 0 everything but VM, VIP,
 * VIF changes (RF is cleared); at CPL > 0, IOPL is kept, and IF changes only if CPL <= IOPL.
 */
export function popf(cpu: CpuState, value: number, operandBits: 16 | 32 | 64): void {
  const r = cpu.r;
  const old = readRflags(r);
  if (old & VM) throw new UnsupportedError("POPF in virtual-8086 mode");
  const level = cpl(cpu);
  const iopl = (old & IOPL) >>> 12;
  let changeable = CF | 0x4 | 0x10 | 0x40 | 0x80 | TF | DF | 0x800 | NT; // arithmetic, TF, DF, NT
  if (operandBits !== 16) changeable |= AC | ID;
  if (level === 0) changeable |= IOPL | IF;
  else if (level <= iopl) changeable |= IF;
  let v = (old & ~changeable) | (value & changeable);
  // The 32/64-bit forms clear RF; the 16-bit form leaves bits 31:16 alone.
  v = operandBits === 16 ? (old & 0xffff0000) | (v & 0xffff) : v & ~RF;
  writeRflags(r, (v & ~(VIP | VIF)) | (old & (VIP | VIF)));
}

/** CLI: #GP(0) if CPL > IOPL (protected mode; the PVI/VME variants are not modelled). */
export function cli(cpu: CpuState): void {
  if (cpl(cpu) > (cpu.r[FLAGS_REST] & IOPL) >>> 12) raiseGP(0, "CLI with CPL > IOPL");
  cpu.r[FLAGS_REST] &= ~IF;
}

/**
 * STI: #GP(0) if CPL > IOPL. Returns true when it opens an interrupt shadow (IF was 0): the
 * run loop then blocks maskable interrupts until the next instruction completes.
 */
export function sti(cpu: CpuState): boolean {
  if (cpl(cpu) > (cpu.r[FLAGS_REST] & IOPL) >>> 12) raiseGP(0, "STI with CPL > IOPL");
  const wasClear = (cpu.r[FLAGS_REST] & IF) === 0;
  cpu.r[FLAGS_REST] |= IF;
  return wasClear;
}

/** LAHF: AH = SF:ZF:0:AF:0:PF:1:CF. */
export function lahf(cpu: CpuState): number {
  return (arithFlags(cpu.r) & 0xd5) | 0x02;
}

/** SAHF: load SF ZF AF PF CF from AH; OF is kept. */
export function sahf(cpu: CpuState, ah: number): void {
  const f = arithFlags(cpu.r);
  setArithFlags(cpu.r, (f & 0x800) | (ah & 0xd5));
}

export function clc(cpu: CpuState): void {
  setCF(cpu.r, 0);
}
export function stc(cpu: CpuState): void {
  setCF(cpu.r, 1);
}
export function cmc(cpu: CpuState): void {
  setCF(cpu.r, getCF(cpu.r) ^ 1);
}
export function cld(cpu: CpuState): void {
  cpu.r[FLAGS_REST] &= ~DF;
}
export function std(cpu: CpuState): void {
  cpu.r[FLAGS_REST] |= DF;
}
