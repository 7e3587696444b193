// SSE/SSE2 scalar floating-point instructions on exec's sse-fp.ts (checked bit for bit against the
// host CPU, flags included): MOVSS/MOVSD, ADD/SUB/MUL/DIV/SQRT/MIN/MAX SS/SD, (U)COMISS/SD,
// CVTSI2SS/SD, CVT(T)SS2SI/SD2SI, CVTSS2SD/CVTSD2SS, packed arithmetic and compare predicates. A
// raised exception whose MXCSR mask bit is clear is #XM (#UD without CR4.OSXMMEXCPT) with the
// destination unchanged and the MXCSR flags the CPU reports (sse-fp-xm.ts).
import { OK_MEM, OK_REG, R_IMM_LO, R_OP0 } from "../decoder/record.js";
import { raiseUD, Vector, X86Exception } from "../exec/exception.js";
import { setArithFlags } from "../exec/flags.js";
import * as fp from "../exec/sse-fp.js";
import {
  FAST_ADD,
  FAST_DIV,
  FAST_MUL,
  FAST_SQRT,
  FAST_SUB,
  fastCompareDouble,
  fastDouble,
  fastIntToDouble,
  fastOut,
  fastSingle,
} from "../exec/sse-fp-fast.js";
import { xmFlags } from "../exec/sse-fp-xm.js";
import { CR4_OSXMMEXCPT } from "../exec/state.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { checkSse, srcXmm } from "./h-sse.js";
import { ea, memRead, memWrite, readOp, regWrite } from "./operands.js";

const M32 = 0xffffffffn;
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const xmmOf = (p: number): number => (p >>> 8) & 255;

/** The scalar source (operand k): the low 32 or 64 bits of an XMM register or memory. */
function scalarSource(c: Cpu, d: Int32Array, o: number, k: number, width: 32 | 64): bigint {
  const p = d[o + R_OP0 + k];
  if ((p & 15) === OK_REG) {
    const x = c.st.xmm.i32;
    const n = xmmOf(p) * 4;
    return width === 64 ? u64(x[n], x[n + 1]) : BigInt(x[n] >>> 0);
  }
  const lo = ea(c, d, o);
  const v = memRead(c, width / 8, lo, c.eaHi);
  return width === 64 ? u64(v, c.hi) : BigInt(v >>> 0);
}

function writeLow(c: Cpu, n: number, bits: bigint, width: 32 | 64): void {
  const x = c.st.xmm.i32;
  x[n * 4] = Number(bits & M32) | 0;
  if (width === 64) x[n * 4 + 1] = Number(bits >> 32n) | 0;
}

/** Commits the raised flags to MXCSR, or stops when one of them is unmasked. */
function raise(c: Cpu, flags: number, name: string, laneFlags?: number[], laneInexact?: boolean[]): void {
  const st = c.st;
  if (fp.unmasked(flags, st.mxcsr) === 0) {
    st.mxcsr |= flags;
    return;
  }
  // Unmasked: MXCSR takes the flags the CPU reports with the fault, the destination stays as it was,
  // and the exception is #XM with CR4.OSXMMEXCPT (else #UD).
  const xm = xmFlags(laneFlags ?? [flags], st.mxcsr, laneInexact ?? [fp.roundInfo.unboundedInexact]);
  st.mxcsr |= xm;
  if (st.cr4 & CR4_OSXMMEXCPT)
    throw new X86Exception(Vector.XM, -1, `${name}: unmasked SIMD floating-point exception`);
  raiseUD(`${name}: unmasked SIMD floating-point exception with CR4.OSXMMEXCPT=0`);
}

const fmtOf = (width: 32 | 64) => (width === 64 ? fp.F64 : fp.F32);

/** The scalar source as int32 bits: the low word returned, the high word (64-bit) in c.hi. */
function scalarSourceBits(c: Cpu, d: Int32Array, o: number, k: number, width: 32 | 64): number {
  const p = d[o + R_OP0 + k];
  if ((p & 15) === OK_REG) {
    const x = c.st.xmm.i32;
    const n = xmmOf(p) * 4;
    c.hi = width === 64 ? x[n + 1] : 0;
    return x[n];
  }
  const lo = ea(c, d, o);
  const v = memRead(c, width / 8, lo, c.eaHi);
  if (width === 32) c.hi = 0;
  return v;
}

/** The fast (non-BigInt) path of ADD/SUB/MUL/DIV/SQRT SS/SD: true when it applied and the result was written. */
function tryFast(
  c: Cpu,
  kind: number,
  width: 32 | 64,
  dst: number,
  bLo: number,
  bHi: number,
  name: string,
): boolean {
  const x = c.st.xmm.i32;
  const ok =
    width === 64
      ? fastDouble(kind, x[dst * 4], x[dst * 4 + 1], bLo, bHi, c.st.mxcsr)
      : fastSingle(kind, x[dst * 4], bLo, c.st.mxcsr);
  if (!ok) return false;
  raise(c, fastOut.flags, name);
  x[dst * 4] = fastOut.lo;
  if (width === 64) x[dst * 4 + 1] = fastOut.hi;
  return true;
}

const FAST_KIND: Record<string, number> = { add: FAST_ADD, sub: FAST_SUB, mul: FAST_MUL, div: FAST_DIV };

/** ADD/SUB/MUL/DIV/MIN/MAX SS/SD xmm, xmm/m. */
export function selectScalarBinary(op: fp.BinaryOp, width: 32 | 64, name: string): Handler {
  const kind = FAST_KIND[op] ?? -1;
  return (c, d, o) => {
    checkSse(c);
    const dst = xmmOf(d[o + R_OP0]);
    const x = c.st.xmm.i32;
    const bLo = scalarSourceBits(c, d, o, 1, width);
    const bHi = c.hi;
    if (kind >= 0 && tryFast(c, kind, width, dst, bLo, bHi, name)) return;
    const a = width === 64 ? u64(x[dst * 4], x[dst * 4 + 1]) : BigInt(x[dst * 4] >>> 0);
    const b = width === 64 ? u64(bLo, bHi) : BigInt(bLo >>> 0);
    const r = fp.scalarBinary(op, a, b, fmtOf(width), c.st.mxcsr);
    raise(c, r.flags, name);
    writeLow(c, dst, r.bits, width);
  };
}

export function selectScalarSqrt(width: 32 | 64, name: string): Handler {
  return (c, d, o) => {
    checkSse(c);
    const bLo = scalarSourceBits(c, d, o, 1, width);
    const bHi = c.hi;
    if (tryFast(c, FAST_SQRT, width, xmmOf(d[o + R_OP0]), bLo, bHi, name)) return;
    const b = width === 64 ? u64(bLo, bHi) : BigInt(bLo >>> 0);
    const r = fp.scalarSqrt(b, fmtOf(width), c.st.mxcsr);
    raise(c, r.flags, name);
    writeLow(c, xmmOf(d[o + R_OP0]), r.bits, width);
  };
}

/** UCOMISS/SD (signaling = false) and COMISS/SD: ZF PF CF from the compare, OF SF AF cleared. */
export function selectScalarCompare(width: 32 | 64, signaling: boolean, name: string): Handler {
  return (c, d, o) => {
    checkSse(c);
    const x = c.st.xmm.i32;
    const n = xmmOf(d[o + R_OP0]) * 4;
    const bLo = scalarSourceBits(c, d, o, 1, width);
    const bHi = c.hi;
    if (width === 64) {
      const image = fastCompareDouble(x[n], x[n + 1], bLo, bHi);
      if (image >= 0) {
        setArithFlags(c.r, image);
        return;
      }
    }
    const a = width === 64 ? u64(x[n], x[n + 1]) : BigInt(x[n] >>> 0);
    const b = width === 64 ? u64(bLo, bHi) : BigInt(bLo >>> 0);
    const r = fp.scalarCompare(a, b, fmtOf(width), c.st.mxcsr, signaling);
    raise(c, r.flags, name);
    setArithFlags(c.r, r.eflags);
  };
}

/** CVTSI2SS/SD xmm, r/m32|64. */
export function selectIntToFloat(width: 32 | 64, name: string): Handler {
  return (c, d, o) => {
    checkSse(c);
    const size = d[o + R_OP0 + 1] >>> 16;
    const lo = readOp(c, d, o, 1);
    const hi = size === 8 ? c.hi : 0;
    if (width === 64 && fastIntToDouble(lo, hi, size === 8)) {
      const x = c.st.xmm.i32;
      const n = xmmOf(d[o + R_OP0]) * 4;
      x[n] = fastOut.lo;
      x[n + 1] = fastOut.hi;
      return;
    }
    const v = size === 8 ? BigInt.asIntN(64, u64(lo, hi)) : BigInt(lo | 0);
    const r = fp.intToFloat(v, fmtOf(width), c.st.mxcsr);
    raise(c, r.flags, name);
    writeLow(c, xmmOf(d[o + R_OP0]), r.bits, width);
  };
}

/** CVT(T)SS2SI / CVT(T)SD2SI r32|64, xmm/m. */
export function selectFloatToInt(width: 32 | 64, truncate: boolean, name: string): Handler {
  return (c, d, o) => {
    checkSse(c);
    const p0 = d[o + R_OP0];
    const size = p0 >>> 16;
    const a = scalarSource(c, d, o, 1, width);
    const r = fp.floatToInt(a, fmtOf(width), c.st.mxcsr, truncate, size === 8 ? 64 : 32);
    raise(c, r.flags, name);
    regWrite(c, 1, (p0 >>> 8) & 255, size, Number(r.value & M32) | 0, Number(r.value >> 32n) | 0);
  };
}

/** CVTSD2SS (from 64) / CVTSS2SD (from 32). */
export function selectConvertFloat(from: 32 | 64, name: string): Handler {
  const to = from === 64 ? 32 : 64;
  return (c, d, o) => {
    checkSse(c);
    const a = scalarSource(c, d, o, 1, from);
    const r = fp.convertFloat(a, fmtOf(from), fmtOf(to), c.st.mxcsr);
    raise(c, r.flags, name);
    writeLow(c, xmmOf(d[o + R_OP0]), r.bits, to);
  };
}

/** MOVSS/MOVSD: register to register moves the low element; a load zeroes the rest; a store writes the element. */
export function selectScalarMove(width: 32 | 64): Handler {
  const lanes = width / 32;
  return (c, d, o) => {
    checkSse(c);
    const x = c.st.xmm.i32;
    const p0 = d[o + R_OP0];
    const p1 = d[o + R_OP0 + 1];
    if ((p0 & 15) === OK_MEM) {
      const s = xmmOf(p1) * 4;
      const lo = ea(c, d, o);
      memWrite(c, width / 8, lo, c.eaHi, x[s], x[s + 1]);
      return;
    }
    const t = xmmOf(p0) * 4;
    if ((p1 & 15) === OK_MEM) {
      const lo = ea(c, d, o);
      const v = memRead(c, width / 8, lo, c.eaHi);
      const vHi = c.hi;
      x[t] = v;
      x[t + 1] = width === 64 ? vHi : 0;
      x[t + 2] = 0;
      x[t + 3] = 0;
      return;
    }
    const s = xmmOf(p1) * 4;
    for (let k = 0; k < lanes; k++) x[t + k] = x[s + k];
  };
}

/** Registration list: [mnemonic, handler]. */
export function scalarFpHandlers(): [string, Handler][] {
  const list: [string, Handler][] = [];
  for (const [suffix, width] of [
    ["SS", 32],
    ["SD", 64],
  ] as const) {
    for (const op of ["add", "sub", "mul", "div", "min", "max"] as const) {
      const name = `${op.toUpperCase()}${suffix}`;
      list.push([name, selectScalarBinary(op, width, name)]);
    }
    list.push([`SQRT${suffix}`, selectScalarSqrt(width, `SQRT${suffix}`)]);
    list.push([`UCOMI${suffix}`, selectScalarCompare(width, false, `UCOMI${suffix}`)]);
    list.push([`COMI${suffix}`, selectScalarCompare(width, true, `COMI${suffix}`)]);
    list.push([`CVTSI2${suffix}`, selectIntToFloat(width, `CVTSI2${suffix}`)]);
    list.push([`CVTT${suffix}2SI`, selectFloatToInt(width, true, `CVTT${suffix}2SI`)]);
    list.push([`CVT${suffix}2SI`, selectFloatToInt(width, false, `CVT${suffix}2SI`)]);
  }
  list.push(["CVTSD2SS", selectConvertFloat(64, "CVTSD2SS")]);
  list.push(["CVTSS2SD", selectConvertFloat(32, "CVTSS2SD")]);
  list.push(["MOVSS", selectScalarMove(32)]);
  return list;
}

// ---- packed forms and compare predicates ----

const q = (x: Int32Array, n: number, k: number): bigint => u64(x[n * 4 + 2 * k], x[n * 4 + 2 * k + 1]);

/** ADD/SUB/MUL/DIV/MIN/MAX/SQRT PS/PD and CMPPS/PD (imm8 predicate) xmm, xmm/m128 (16-byte aligned). */
export function selectPacked(
  op: "add" | "sub" | "mul" | "div" | "min" | "max" | "sqrt" | "cmp",
  width: 32 | 64,
  name: string,
): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const dst = xmmOf(d[o + R_OP0]);
    const src = srcXmm(c, d, o, 1, true);
    const lane: fp.PackedOp = op === "cmp" ? `cmp${d[o + R_IMM_LO] & 7}` : op;
    const r = fp.packedOp(
      lane,
      [q(x, dst, 0), q(x, dst, 1)],
      [q(x, src, 0), q(x, src, 1)],
      fmtOf(width),
      c.st.mxcsr,
    );
    raise(c, r.flags, name, r.laneFlags, r.laneInexact);
    for (let k = 0; k < 2; k++) {
      x[dst * 4 + 2 * k] = Number(r.value[k] & M32) | 0;
      x[dst * 4 + 2 * k + 1] = Number(r.value[k] >> 32n) | 0;
    }
  };
}

/** CMPSS/CMPSD xmm, xmm/m32|64, imm8: the low element becomes all ones or zero. */
export function selectScalarComparePredicate(width: 32 | 64, name: string): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const dst = xmmOf(d[o + R_OP0]);
    const a = width === 64 ? u64(x[dst * 4], x[dst * 4 + 1]) : BigInt(x[dst * 4] >>> 0);
    const b = scalarSource(c, d, o, 1, width);
    const r = fp.laneOp(`cmp${d[o + R_IMM_LO] & 7}`, a, b, fmtOf(width), c.st.mxcsr);
    raise(c, r.flags, name);
    writeLow(c, dst, r.bits, width);
  };
}

/** SHUFPD: imm8 bit 0 picks the destination's qword for the low half, bit 1 the source's for the high half. */
export const hShufpd: Handler = (c, d, o) => {
  checkSse(c, d, o);
  const x = c.st.xmm.i32;
  const dst = xmmOf(d[o + R_OP0]) * 4;
  const src = srcXmm(c, d, o, 1, true) * 4;
  const imm = d[o + R_IMM_LO];
  const lo = imm & 1 ? 2 : 0;
  const hi = imm & 2 ? 2 : 0;
  const a0 = x[dst + lo];
  const a1 = x[dst + lo + 1];
  const b0 = x[src + hi];
  const b1 = x[src + hi + 1];
  x[dst] = a0;
  x[dst + 1] = a1;
  x[dst + 2] = b0;
  x[dst + 3] = b1;
};

/**
 * MOVLPS/MOVLPD/MOVHPS/MOVHPD (load or store the low/high qword through memory), MOVHLPS
 * (dst.low ← src.high), MOVLHPS (dst.high ← src.low). `high` selects the destination/source half.
 */
export function selectHalfMove(high: boolean, regForm: "hl" | "lh" | undefined): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const p0 = d[o + R_OP0];
    const p1 = d[o + R_OP0 + 1];
    const half = high ? 2 : 0;
    if ((p0 & 15) === OK_MEM) {
      const s = xmmOf(p1) * 4 + half;
      memWrite(c, 8, ea(c, d, o), c.eaHi, x[s], x[s + 1]);
      return;
    }
    const t = xmmOf(p0) * 4;
    if ((p1 & 15) === OK_MEM) {
      const v = memRead(c, 8, ea(c, d, o), c.eaHi);
      x[t + half] = v;
      x[t + half + 1] = c.hi;
      return;
    }
    const s = xmmOf(p1) * 4;
    if (regForm === "hl") {
      x[t] = x[s + 2];
      x[t + 1] = x[s + 3];
    } else {
      x[t + 2] = x[s];
      x[t + 3] = x[s + 1];
    }
  };
}

/** CVTDQ2PD/PS, CVTPS2PD, CVTPD2PS, CVT(T)PD2DQ, CVT(T)PS2DQ xmm, xmm/m64|m128 (128-bit memory aligned). */
export function selectPackedConvert(op: fp.PackedConversion, name: string): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const dst = xmmOf(d[o + R_OP0]);
    const src = srcXmm(c, d, o, 1, true);
    const r = fp.packedConvert(op, [q(x, src, 0), q(x, src, 1)], c.st.mxcsr);
    raise(c, r.flags, name, r.laneFlags, r.laneInexact);
    for (let k = 0; k < 2; k++) {
      x[dst * 4 + 2 * k] = Number(r.value[k] & M32) | 0;
      x[dst * 4 + 2 * k + 1] = Number(r.value[k] >> 32n) | 0;
    }
  };
}

/** MOVMSKPS/MOVMSKPD r32|64, xmm: the element sign bits into the low bits of the GPR (zero-extended). */
export function selectMoveMask(width: 32 | 64): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const s = xmmOf(d[o + R_OP0 + 1]) * 4;
    const p0 = d[o + R_OP0];
    const v =
      width === 64
        ? (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1)
        : (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3);
    regWrite(c, 1, (p0 >>> 8) & 255, p0 >>> 16 === 8 ? 8 : 4, v, 0);
  };
}

/** Registration list of the packed forms, predicates and FP data moves. */
export function packedFpHandlers(): [string, Handler][] {
  const list: [string, Handler][] = [];
  for (const [suffix, width] of [
    ["PS", 32],
    ["PD", 64],
  ] as const) {
    for (const op of ["add", "sub", "mul", "div", "min", "max", "sqrt", "cmp"] as const) {
      const name = `${op.toUpperCase()}${suffix}`;
      list.push([name, selectPacked(op, width, name)]);
    }
  }
  list.push(["CMPSS", selectScalarComparePredicate(32, "CMPSS")]);
  for (const op of [
    "cvtdq2pd",
    "cvtdq2ps",
    "cvtps2pd",
    "cvtpd2ps",
    "cvtpd2dq",
    "cvttpd2dq",
    "cvtps2dq",
    "cvttps2dq",
  ] as const)
    list.push([op.toUpperCase(), selectPackedConvert(op, op.toUpperCase())]);
  list.push(["SHUFPD", hShufpd]);
  list.push(["MOVMSKPS", selectMoveMask(32)]);
  list.push(["MOVMSKPD", selectMoveMask(64)]);
  list.push(["MOVLPS", selectHalfMove(false, undefined)]);
  list.push(["MOVLPD", selectHalfMove(false, undefined)]);
  list.push(["MOVHPS", selectHalfMove(true, undefined)]);
  list.push(["MOVHPD", selectHalfMove(true, undefined)]);
  list.push(["MOVHLPS", selectHalfMove(false, "hl")]);
  list.push(["MOVLHPS", selectHalfMove(true, "lh")]);
  return list;
}
