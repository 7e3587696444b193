// The common case of SSE floating point without BigInt: round-to-nearest, normal finite operands,
// a normal finite result. The host's IEEE double arithmetic gives the same rounded result; the
// inexact flag (PE) comes from error-free transformations (TwoSum, Dekker's TwoProduct), which
// are exact in the ranges checked here. Anything else (zeros, denormals, infinities, NaNs, tiny or
// huge results, other rounding modes) returns false and the caller takes sse-fp.ts's exact path.
// Single precision computes in double and rounds once more with Math.fround (correct for
// + - * / sqrt since 53 >= 2 * 24 + 2).
//
// Operands and results are IEEE bit patterns as int32 (a double as lo, hi).

import { F64, type FpResult, MXCSR_PE, scalarBinary, scalarSqrt } from "./sse-fp.js";

const f64 = new Float64Array(1);
const w32 = new Int32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Int32Array(f32.buffer);

/** The result of a successful fast operation. */
export const fastOut = { lo: 0, hi: 0, flags: 0 };

export const FAST_ADD = 0;
export const FAST_SUB = 1;
export const FAST_MUL = 2;
export const FAST_DIV = 3;
export const FAST_SQRT = 4;

const SPLIT = 134217729; // 2^27 + 1
const MIN_NORMAL64 = 2 ** -1022;
const SAFE_LOW = 2 ** -900; // products/quotients above this keep their TwoProduct error terms normal
const SAFE_HIGH = 2 ** 990; // operands below this can be split without overflow
const MIN_NORMAL32 = 2 ** -126;

function asDouble(lo: number, hi: number): number {
  w32[0] = lo;
  w32[1] = hi;
  return f64[0];
}
function asFloat(bits: number): number {
  u32[0] = bits;
  return f32[0];
}

/** Exact error of x * y (x * y = p + error), valid when |x|, |y| < SAFE_HIGH and |p| > SAFE_LOW. */
function productError(x: number, y: number, p: number): number {
  let c = SPLIT * x;
  const xh = c - (c - x);
  const xl = x - xh;
  c = SPLIT * y;
  const yh = c - (c - y);
  const yl = y - yh;
  return xh * yh - p + xh * yl + xl * yh + xl * yl;
}

/** Set by compute(): whether its result was exact. */
let wasExact = false;

/** r = op(a, b) in double (wasExact tells whether it was exact); NaN when the fast path does not apply. */
function compute(op: number, a: number, b: number): number {
  switch (op) {
    case FAST_ADD:
    case FAST_SUB: {
      const y = op === FAST_SUB ? -b : b;
      const r = a + y;
      const bb = r - a;
      wasExact = a - (r - bb) + (y - bb) === 0;
      return r;
    }
    case FAST_MUL: {
      const r = a * b;
      const ar = Math.abs(r);
      if (Math.abs(a) >= SAFE_HIGH || Math.abs(b) >= SAFE_HIGH || ar <= SAFE_LOW) return Number.NaN;
      wasExact = productError(a, b, r) === 0;
      return r;
    }
    case FAST_DIV: {
      const r = a / b;
      const ar = Math.abs(r);
      if (ar >= SAFE_HIGH || Math.abs(b) >= SAFE_HIGH || ar <= SAFE_LOW || Math.abs(a) <= SAFE_LOW)
        return Number.NaN;
      const p = r * b;
      wasExact = p === a && productError(r, b, p) === 0;
      return r;
    }
    default: {
      if (a < 0) return Number.NaN; // invalid: exact path
      const r = Math.sqrt(a);
      const p = r * r;
      if (r >= SAFE_HIGH || p <= SAFE_LOW) return Number.NaN;
      wasExact = p === a && productError(r, r, p) === 0;
      return r;
    }
  }
}

/** Exponent field of a double's high word / a float: 0 (zero, denormal) and max (inf, NaN) are excluded. */
const normal64 = (hi: number): boolean => {
  const e = (hi >>> 20) & 0x7ff;
  return e !== 0 && e !== 0x7ff;
};
const normal32 = (bits: number): boolean => {
  const e = (bits >>> 23) & 0xff;
  return e !== 0 && e !== 0xff;
};

/** Double a op b (b alone for sqrt); true with fastOut set when the fast path applies. */
export function fastDouble(
  op: number,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  mxcsr: number,
): boolean {
  if (mxcsr & 0x6000 || !normal64(bHi) || (op !== FAST_SQRT && !normal64(aHi))) return false;
  const r = compute(op, op === FAST_SQRT ? asDouble(bLo, bHi) : asDouble(aLo, aHi), asDouble(bLo, bHi));
  const exact = wasExact;
  const ar = Math.abs(r);
  if (!(ar >= MIN_NORMAL64) || ar === Number.POSITIVE_INFINITY) return false; // NaN (not applicable), tiny, overflow
  f64[0] = r;
  fastOut.lo = w32[0];
  fastOut.hi = w32[1];
  fastOut.flags = exact ? 0 : MXCSR_PE;
  return true;
}

/** Single a op b (b alone for sqrt); true with fastOut.lo set when the fast path applies. */
export function fastSingle(op: number, a: number, b: number, mxcsr: number): boolean {
  if (mxcsr & 0x6000 || !normal32(b) || (op !== FAST_SQRT && !normal32(a))) return false;
  const r = compute(op, op === FAST_SQRT ? asFloat(b) : asFloat(a), asFloat(b));
  const exact = wasExact;
  if (Number.isNaN(r)) return false;
  const s = Math.fround(r);
  const as = Math.abs(s);
  if (!(as >= MIN_NORMAL32) || as === Number.POSITIVE_INFINITY) return false;
  f32[0] = s;
  fastOut.lo = u32[0];
  fastOut.hi = 0;
  fastOut.flags = exact && s === r ? 0 : MXCSR_PE;
  return true;
}

/** UCOMISD/COMISD on two normal doubles (or zeros): the ZF/PF/CF image, or -1 for the exact path. */
export function fastCompareDouble(aLo: number, aHi: number, bLo: number, bHi: number): number {
  const ea = (aHi >>> 20) & 0x7ff;
  const eb = (bHi >>> 20) & 0x7ff;
  // exponent 0 with a nonzero fraction is a denormal (DE): leave it to the exact path
  if (
    ea === 0x7ff ||
    eb === 0x7ff ||
    (ea === 0 && ((aHi & 0xfffff) | aLo) !== 0) ||
    (eb === 0 && ((bHi & 0xfffff) | bLo) !== 0)
  )
    return -1;
  const a = asDouble(aLo, aHi);
  const b = asDouble(bLo, bHi);
  return a === b ? 0x40 : a < b ? 0x01 : 0;
}

/** CVTSI2SD of a 32-bit integer, or of a 64-bit one below 2^53 in magnitude: always exact. */
export function fastIntToDouble(lo: number, hi: number, is64: boolean): boolean {
  let v: number;
  if (!is64) v = lo | 0;
  else {
    if (hi > 0x1fffff || hi < -0x200000) return false;
    v = hi * 4294967296 + (lo >>> 0);
  }
  f64[0] = v;
  fastOut.lo = w32[0];
  fastOut.hi = w32[1];
  fastOut.flags = 0;
  return true;
}

const FAST_OP: Record<string, number> = {
  add: FAST_ADD,
  sub: FAST_SUB,
  mul: FAST_MUL,
  div: FAST_DIV,
  sqrt: FAST_SQRT,
};

/** The operation as the interpreter runs it: the fast path when it applies, else the exact one (for tests and tools). */
export function scalarArith(
  op: "add" | "sub" | "mul" | "div" | "sqrt",
  a: bigint,
  b: bigint,
  f: typeof F64,
  mxcsr: number,
): FpResult {
  const k = FAST_OP[op];
  const lo = (x: bigint) => Number(x & 0xffffffffn) | 0;
  const hi = (x: bigint) => Number((x >> 32n) & 0xffffffffn) | 0;
  if (f === F64 ? fastDouble(k, lo(a), hi(a), lo(b), hi(b), mxcsr) : fastSingle(k, lo(a), lo(b), mxcsr)) {
    const bits =
      f === F64 ? (BigInt(fastOut.hi >>> 0) << 32n) | BigInt(fastOut.lo >>> 0) : BigInt(fastOut.lo >>> 0);
    return { bits, flags: fastOut.flags };
  }
  return op === "sqrt" ? scalarSqrt(b, f, mxcsr) : scalarBinary(op, a, b, f, mxcsr);
}
