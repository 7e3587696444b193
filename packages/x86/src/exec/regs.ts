// The register file: one Int32Array holding every 64-bit general register as an int32
// lo/hi pair, RIP, the lazy-flags record and a few scratch slots the semantic helpers use
// to hand back a second result word without allocating (see EXEC.md, "State layout").

/** GPR numbers in ModRM/REX order. */
export const RAX = 0;
export const RCX = 1;
export const RDX = 2;
export const RBX = 3;
export const RSP = 4;
export const RBP = 5;
export const RSI = 6;
export const RDI = 7;
export const R8 = 8;
export const R9 = 9;
export const R10 = 10;
export const R11 = 11;
export const R12 = 12;
export const R13 = 13;
export const R14 = 14;
export const R15 = 15;

/** The same numbers as one object (the x86 order TDCALL, TDH.VP.ENTER and kvm_regs users share). */
export const Gpr = { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 } as const;

export const GPR_NAMES = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
] as const;

/** Slot of the low 32 bits of GPR n is 2n, the high 32 bits 2n+1. */
export const lo = (n: number): number => n << 1;
export const hi = (n: number): number => (n << 1) | 1;

export const RIP_LO = 32;
export const RIP_HI = 33;
/** Lazy flags: the last result (sign-extended to 64 bits) and the 32-bit carry-out vector. */
export const LF_RES_LO = 34;
export const LF_RES_HI = 35;
export const LF_AUX = 36;
/** RFLAGS bits that are not arithmetic flags (DF, IF, TF, IOPL, NT, RF, AC, ID, bit 1), kept eagerly. */
export const FLAGS_REST = 37;
/** Scratch outputs: helpers return the low word and leave the rest here. */
export const OUT_HI = 38;
export const OUT2_LO = 39;
export const OUT2_HI = 40;
export const REG_SLOTS = 48;

export type RegFile = Int32Array;

export function newRegFile(): RegFile {
  return new Int32Array(REG_SLOTS);
}

// Register writes with the x86-64 width rules: 32-bit writes zero the upper half,
// 8- and 16-bit writes merge into the old value.

export function writeReg64(r: RegFile, n: number, vLo: number, vHi: number): void {
  r[n << 1] = vLo;
  r[(n << 1) | 1] = vHi;
}

export function writeReg32(r: RegFile, n: number, v: number): void {
  r[n << 1] = v;
  r[(n << 1) | 1] = 0;
}

export function writeReg16(r: RegFile, n: number, v: number): void {
  const i = n << 1;
  r[i] = (r[i] & 0xffff0000) | (v & 0xffff);
}

/** 8-bit register write. Without REX, numbers 4–7 name AH/CH/DH/BH; with any REX prefix they name SPL..DIL. */
export function writeReg8(r: RegFile, n: number, v: number, rex: boolean): void {
  if (!rex && n >= 4 && n < 8) {
    const i = (n - 4) << 1;
    r[i] = (r[i] & 0xffff00ff) | ((v & 0xff) << 8);
  } else {
    const i = n << 1;
    r[i] = (r[i] & 0xffffff00) | (v & 0xff);
  }
}

export function readReg8(r: RegFile, n: number, rex: boolean): number {
  if (!rex && n >= 4 && n < 8) return (r[(n - 4) << 1] >>> 8) & 0xff;
  return r[n << 1] & 0xff;
}

export function readReg16(r: RegFile, n: number): number {
  return r[n << 1] & 0xffff;
}

export function readReg32(r: RegFile, n: number): number {
  return r[n << 1];
}
