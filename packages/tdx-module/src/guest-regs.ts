// The guest-register interface the x86 CPU implements for TDCALL handlers: 64-bit GPRs as int32 lo/hi
// pairs in x86 register order (no BigInt on the hot path), XMM registers as four int32 each.
import { Gpr } from "@tdxsim/x86";

/** GPR numbers in x86 order (the CPU package's). */
export const Reg = Gpr;

export interface TdGuestRegs {
  /** 32 int32: gpr[2*r] = low 32 bits of register r, gpr[2*r+1] = high 32 bits. */
  readonly gpr: Int32Array;
  /** 64 int32: XMM i = xmm[4*i .. 4*i+3], least significant dword first. */
  readonly xmm: Int32Array;
  /** Current privilege level (CS.DPL). */
  readonly cpl: number;
  /** True in 64-bit mode (IA32_EFER.LMA and CS.L). */
  readonly longMode64: boolean;
}

/** A plain TdGuestRegs (for hosts without a CPU, and tests). */
export function makeGuestRegs(): { gpr: Int32Array; xmm: Int32Array; cpl: number; longMode64: boolean } {
  return { gpr: new Int32Array(32), xmm: new Int32Array(64), cpl: 0, longMode64: true };
}

export function getReg(gpr: Int32Array, r: number): bigint {
  return (BigInt(gpr[2 * r + 1] >>> 0) << 32n) | BigInt(gpr[2 * r] >>> 0);
}
export function setReg(gpr: Int32Array, r: number, v: bigint): void {
  gpr[2 * r] = Number(v & 0xffffffffn) | 0;
  gpr[2 * r + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
}
/** Sets a register from a non-negative number below 2^53. */
export function setRegNum(gpr: Int32Array, r: number, v: number): void {
  gpr[2 * r] = (v % 0x1_0000_0000) | 0;
  gpr[2 * r + 1] = Math.floor(v / 0x1_0000_0000) | 0;
}
/** A register as a number when its value is below 2^53 (else NaN). */
export function regNum(gpr: Int32Array, r: number): number {
  const hi = gpr[2 * r + 1] >>> 0;
  if (hi >= 0x200000) return Number.NaN;
  return hi * 0x1_0000_0000 + (gpr[2 * r] >>> 0);
}
