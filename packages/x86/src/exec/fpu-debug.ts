// MXCSR and debug-register writes with their #GP/#UD rules, and the BigInt API for XMM
// state (kvm_fpu-like) and debug registers (kvm_debugregs-like).
// CPL 0 and DR7.GD (#DB) are checked by the instruction layer before MOV DR.

import { raiseGP, raiseUD, Vector, X86Exception } from "./exception.js";
import { type CpuState, CR0_EM, CR0_TS, CR4_DE, CR4_OSFXSR } from "./state.js";

/**
 * Before an SSE/SSE2 instruction (SDM Vol. 3A 13.1.1, Table 2-2 of Vol. 2): #UD when CR0.EM=1
 * or CR4.OSFXSR=0 (this is the #UD the bench guest hits without CR4 bits 9/10), then #NM when
 * CR0.TS=1 (lazy FPU switching).
 */
export function checkSseUsable(cpu: CpuState): void {
  if (cpu.cr0 & CR0_EM) raiseUD("SSE instruction with CR0.EM=1");
  if (!(cpu.cr4 & CR4_OSFXSR)) raiseUD("SSE instruction with CR4.OSFXSR=0");
  if (cpu.cr0 & CR0_TS) throw new X86Exception(Vector.NM, -1, "SSE instruction with CR0.TS=1");
}

/** Before an x87 instruction or FXSAVE/FXRSTOR/XSAVE: #NM when CR0.EM=1 or CR0.TS=1. */
export function checkFpuUsable(cpu: CpuState): void {
  if (cpu.cr0 & (CR0_EM | CR0_TS))
    throw new X86Exception(Vector.NM, -1, "FPU instruction with CR0.EM or CR0.TS set");
}

/** MXCSR bits that may be set (MXCSR_MASK as FXSAVE reports it, DAZ included). */
export const MXCSR_MASK = 0xffff;

export function writeMxcsr(cpu: CpuState, v: number): void {
  if (v & ~MXCSR_MASK) raiseGP(0, `LDMXCSR: reserved bits in 0x${(v >>> 0).toString(16)}`);
  cpu.mxcsr = v;
}

// DR6/DR7 fixed and writable bits (no RTM, no bus-lock detect): DR6 reads 1s in 4..11 and
// 16..31, DR7 bit 10 reads 1 and bits 11, 12, 14, 15 read 0.
const DR6_FIXED1 = 0xffff0ff0 | 0;
const DR6_WRITABLE = 0xe00f;
const DR7_FIXED1 = 0x400;
const DR7_WRITABLE = 0xffff2bff | 0;

/** Resolve DR4/DR5: aliases of DR6/DR7 with CR4.DE=0, #UD with CR4.DE=1. */
function resolveDr(cpu: CpuState, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 7) throw new RangeError(`debug register DR${n} does not exist`);
  if (n === 4 || n === 5) {
    if (cpu.cr4 & CR4_DE) raiseUD(`MOV DR${n} with CR4.DE=1`);
    return n + 2;
  }
  return n;
}

/** MOV from DRn: returns lo, hi via the array pair. */
export function readDr(cpu: CpuState, n: number): [number, number] {
  const i = resolveDr(cpu, n);
  return [cpu.dr[2 * i], cpu.dr[2 * i + 1]];
}

export function writeDr(cpu: CpuState, n: number, lo: number, hi: number): void {
  const i = resolveDr(cpu, n);
  if (i >= 6) {
    if (hi !== 0) raiseGP(0, `MOV DR${i}: bits 63:32 must be 0`);
    cpu.dr[2 * i] = i === 6 ? (lo & DR6_WRITABLE) | DR6_FIXED1 : (lo & DR7_WRITABLE) | DR7_FIXED1;
    cpu.dr[2 * i + 1] = 0;
    return;
  }
  cpu.dr[2 * i] = lo;
  cpu.dr[2 * i + 1] = hi;
}

const M128 = (1n << 128n) - 1n;
const M64 = (1n << 64n) - 1n;

export interface FpuState {
  /** XMM0..XMM15 as 128-bit unsigned values. */
  xmm: bigint[];
  mxcsr: number;
  fcw: number;
}

export function getFpu(cpu: CpuState): FpuState {
  const a = cpu.xmm.i32;
  const xmm: bigint[] = [];
  for (let n = 0; n < 16; n++) {
    let v = 0n;
    for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(a[n * 4 + k] >>> 0);
    xmm.push(v);
  }
  return { xmm, mxcsr: cpu.mxcsr, fcw: cpu.fcw };
}

export function setFpu(cpu: CpuState, fpu: FpuState): void {
  if (fpu.xmm.length !== 16) throw new RangeError(`xmm: expected 16 registers, got ${fpu.xmm.length}`);
  fpu.xmm.forEach((v, n) => {
    if (typeof v !== "bigint" || v < 0n || v > M128)
      throw new RangeError(`xmm${n}: not a 128-bit unsigned bigint`);
  });
  try {
    writeMxcsr(cpu, fpu.mxcsr);
  } catch (e) {
    if (e instanceof X86Exception) throw new RangeError(`mxcsr: ${e.message}`);
    throw e;
  }
  if (!Number.isInteger(fpu.fcw) || fpu.fcw < 0 || fpu.fcw > 0xffff)
    throw new RangeError(`fcw: ${fpu.fcw} is not 16-bit`);
  const a = cpu.xmm.i32;
  fpu.xmm.forEach((v, n) => {
    for (let k = 0; k < 4; k++) a[n * 4 + k] = Number((v >> BigInt(32 * k)) & 0xffffffffn) | 0;
  });
  cpu.fcw = fpu.fcw;
}

export interface DebugRegs {
  db: [bigint, bigint, bigint, bigint];
  dr6: bigint;
  dr7: bigint;
}

const join = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export function getDebugRegs(cpu: CpuState): DebugRegs {
  const d = cpu.dr;
  return {
    db: [join(d[0], d[1]), join(d[2], d[3]), join(d[4], d[5]), join(d[6], d[7])],
    dr6: join(d[12], d[13]),
    dr7: join(d[14], d[15]),
  };
}

export function setDebugRegs(cpu: CpuState, regs: DebugRegs): void {
  const all: [string, bigint][] = [
    ...regs.db.map((v, i): [string, bigint] => [`db[${i}]`, v]),
    ["dr6", regs.dr6],
    ["dr7", regs.dr7],
  ];
  for (const [name, v] of all) {
    if (typeof v !== "bigint" || v < 0n || v > M64)
      throw new RangeError(`${name}: not a 64-bit unsigned bigint`);
  }
  if (regs.dr6 >> 32n || regs.dr7 >> 32n) throw new RangeError("dr6/dr7: bits 63:32 must be 0");
  regs.db.forEach((v, i) => {
    cpu.dr[2 * i] = Number(v & 0xffffffffn) | 0;
    cpu.dr[2 * i + 1] = Number(v >> 32n) | 0;
  });
  writeDr(cpu, 6, Number(regs.dr6) | 0, 0);
  writeDr(cpu, 7, Number(regs.dr7) | 0, 0);
}
