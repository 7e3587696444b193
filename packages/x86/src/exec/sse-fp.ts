// SSE/SSE2 scalar floating point (ADD/SUB/MUL/DIV/SQRT/MIN/MAX SS/SD, (U)COMISS/SD, the CVT
// family) with the MXCSR semantics of SDM Vol. 1 chapters 4 and 11: rounding control, DAZ,
// FTZ, the six exception flags (IE DE ZE OE UE PE), QNaN/SNaN propagation (the first source's
// NaN wins), the default NaN and the integer indefinite. Tininess is detected after rounding, as
// Intel processors do. Results are computed exactly on BigInt significands and rounded once, so
// every rounding mode and flag is bit-exact; this is slower than host doubles, but the
// operations are off the integer hot path.
//
// Unmasked exceptions: the helpers report every flag as if masked (plus UE for any tiny result when
// UM is clear, and roundInfo for PE); sse-fp-xm.ts derives what the CPU reports with #XM.
//
// Values cross this module as IEEE bit patterns: a double as (lo, hi) int32, a float as one int32.

export const MXCSR_IE = 1 << 0;
export const MXCSR_DE = 1 << 1;
export const MXCSR_ZE = 1 << 2;
export const MXCSR_OE = 1 << 3;
export const MXCSR_UE = 1 << 4;
export const MXCSR_PE = 1 << 5;
export const MXCSR_DAZ = 1 << 6;
export const MXCSR_FTZ = 1 << 15;
const MASK_SHIFT = 7;

/** A binary format: precision (significand bits incl. the hidden one), exponent range, field widths. */
interface Format {
  p: number;
  emin: number;
  emax: number;
  expBits: number;
}
export const F64: Format = { p: 53, emin: -1022, emax: 1023, expBits: 11 };
export const F32: Format = { p: 24, emin: -126, emax: 127, expBits: 8 };

/** An unpacked value: class, sign, and for finite nonzero values m * 2^e. */
interface Unpacked {
  kind: "zero" | "finite" | "inf" | "nan";
  neg: boolean;
  m: bigint;
  e: number;
  /** denormal encoding (exponent field 0, fraction nonzero) */
  denormal: boolean;
  snan: boolean;
  bits: bigint;
}

const fracBits = (f: Format) => f.p - 1;
const widthOf = (f: Format) => f.p + f.expBits;

export function unpack(bits: bigint, f: Format): Unpacked {
  const fb = BigInt(fracBits(f));
  const w = widthOf(f);
  const neg = ((bits >> BigInt(w - 1)) & 1n) === 1n;
  const expField = Number((bits >> fb) & ((1n << BigInt(f.expBits)) - 1n));
  const frac = bits & ((1n << fb) - 1n);
  const maxExp = (1 << f.expBits) - 1;
  const u: Unpacked = { kind: "zero", neg, m: 0n, e: 0, denormal: false, snan: false, bits };
  if (expField === maxExp) {
    if (frac === 0n) u.kind = "inf";
    else {
      u.kind = "nan";
      u.snan = ((frac >> (fb - 1n)) & 1n) === 0n;
    }
  } else if (expField === 0) {
    if (frac !== 0n) {
      u.kind = "finite";
      u.denormal = true;
      u.m = frac;
      u.e = f.emin - fracBits(f);
    }
  } else {
    u.kind = "finite";
    u.m = frac | (1n << fb);
    u.e = expField - (maxExp >> 1) - fracBits(f);
  }
  return u;
}

function packSpecial(neg: boolean, kind: "zero" | "inf", f: Format): bigint {
  const sign = neg ? 1n << BigInt(widthOf(f) - 1) : 0n;
  if (kind === "zero") return sign;
  return sign | (((1n << BigInt(f.expBits)) - 1n) << BigInt(fracBits(f)));
}

/** The largest finite magnitude. */
function packMax(neg: boolean, f: Format): bigint {
  const sign = neg ? 1n << BigInt(widthOf(f) - 1) : 0n;
  return (
    sign | (((1n << BigInt(f.expBits)) - 2n) << BigInt(fracBits(f))) | ((1n << BigInt(fracBits(f))) - 1n)
  );
}

/** The QNaN "real indefinite" (sign 1, quiet bit only). */
export function defaultNan(f: Format): bigint {
  return packSpecial(true, "inf", f) | (1n << BigInt(fracBits(f) - 1));
}

function quiet(u: Unpacked, f: Format): bigint {
  return u.bits | (1n << BigInt(fracBits(f) - 1));
}

const bitLength = (m: bigint): number => m.toString(2).length;

/** Rounding per MXCSR.RC: 0 nearest-even, 1 down, 2 up, 3 toward zero. */
function roundsUp(
  rc: number,
  neg: boolean,
  keepOdd: boolean,
  rem: bigint,
  half: bigint,
  sticky: boolean,
): boolean {
  const inexact = rem !== 0n || sticky;
  if (!inexact) return false;
  switch (rc) {
    case 0:
      return rem > half || (rem === half && (sticky || keepOdd));
    case 1:
      return neg;
    case 2:
      return !neg;
    default:
      return false;
  }
}

/** Rounds m * 2^e (plus a sticky bit below it) to p bits at quantum exponent q; returns [significand, q, inexact]. */
function roundAt(
  m: bigint,
  e: number,
  sticky: boolean,
  q: number,
  rc: number,
  neg: boolean,
): [bigint, number, boolean] {
  const shift = q - e;
  if (shift <= 0) return [m << BigInt(-shift), q, sticky];
  const s = BigInt(shift);
  let keep = m >> s;
  const rem = m & ((1n << s) - 1n);
  const half = 1n << (s - 1n);
  const inexact = rem !== 0n || sticky;
  if (roundsUp(rc, neg, (keep & 1n) === 1n, rem, half, sticky)) keep += 1n;
  return [keep, q, inexact];
}

/**
 * Rounds the exact value (-1)^neg * (m + sticky) * 2^e to format f under the MXCSR: returns the
 * bits and ORs the flags (OE UE PE, FTZ) into `flags.v`.
 */
export function roundPack(
  neg: boolean,
  m: bigint,
  e: number,
  sticky: boolean,
  f: Format,
  mxcsr: number,
  flags: { v: number },
): bigint {
  const rc = (mxcsr >>> 13) & 3;
  if (m === 0n) {
    // only an exact zero reaches here without sticky bits
    return packSpecial(neg, "zero", f);
  }
  const L = bitLength(m);
  const E = e + L - 1; // exponent of the leading bit
  // Tininess after rounding: round to p bits with an unbounded exponent.
  let [u, , inexactUnbounded] = roundAt(m, e, sticky, E - (f.p - 1), rc, neg);
  roundInfo.unboundedInexact = inexactUnbounded;
  let Eu = E;
  if (u === 1n << BigInt(f.p)) {
    u >>= 1n;
    Eu++;
  }
  const tiny = Eu < f.emin;
  if (!tiny && Eu > f.emax) {
    flags.v |= MXCSR_OE | MXCSR_PE;
    const toInf = rc === 0 || (rc === 1 && neg) || (rc === 2 && !neg);
    return toInf ? packSpecial(neg, "inf", f) : packMax(neg, f);
  }
  const q = Math.max(E, f.emin) - (f.p - 1);
  const [k, , inexact] = roundAt(m, e, sticky, q, rc, neg);
  if (tiny && mxcsr & MXCSR_FTZ && mxcsr & (MXCSR_UE << MASK_SHIFT)) {
    flags.v |= MXCSR_UE | MXCSR_PE;
    return packSpecial(neg, "zero", f);
  }
  if (tiny && (inexact || !(mxcsr & (MXCSR_UE << MASK_SHIFT)))) flags.v |= MXCSR_UE; // unmasked: any tiny result
  if (inexact) flags.v |= MXCSR_PE;
  // k * 2^q: encode (k may have reached 2^p or, for subnormals, 2^(p-1) = the smallest normal)
  let sig = k;
  let qq = q;
  if (sig === 1n << BigInt(f.p)) {
    sig >>= 1n;
    qq++;
    if (qq + f.p - 1 > f.emax) {
      flags.v |= MXCSR_OE | MXCSR_PE;
      return packSpecial(neg, "inf", f);
    }
  }
  const sign = neg ? 1n << BigInt(widthOf(f) - 1) : 0n;
  if (sig < 1n << BigInt(f.p - 1)) return sign | sig; // subnormal (or zero): exponent field 0
  const expField = BigInt(qq + (f.p - 1) + ((1 << (f.expBits - 1)) - 1));
  return sign | (expField << BigInt(fracBits(f))) | (sig & ((1n << BigInt(fracBits(f))) - 1n));
}

/**
 * Side result of the last rounding: whether the significand rounding (with an unbounded exponent)
 * was inexact. With OE or UE unmasked the CPU reports PE from this, not from the overflow or
 * denormalisation (sse-fp-xm.ts). Reset by every operation's operand decoding.
 */
export const roundInfo = { unboundedInexact: false };

/** Input checks shared by arithmetic: DAZ, DE. Returns the value to use. */
function operand(bits: bigint, f: Format, mxcsr: number, flags: { v: number }): Unpacked {
  roundInfo.unboundedInexact = false;
  const u = unpack(bits, f);
  if (u.denormal) {
    if (mxcsr & MXCSR_DAZ) {
      u.kind = "zero";
      u.m = 0n;
    } else flags.v |= MXCSR_DE;
  }
  return u;
}

/** NaN operands: IE for an SNaN; the first source's NaN (quieted) wins. Null when neither is a NaN. */
function nanResult(a: Unpacked, b: Unpacked, f: Format, flags: { v: number }): bigint | null {
  if (a.kind !== "nan" && b.kind !== "nan") return null;
  if (a.snan || b.snan) flags.v |= MXCSR_IE;
  return a.kind === "nan" ? quiet(a, f) : quiet(b, f);
}

export type BinaryOp = "add" | "sub" | "mul" | "div" | "min" | "max";

export interface FpResult {
  bits: bigint;
  /** exception flags raised (MXCSR bits 5:0) */
  flags: number;
}

/** dst op src (scalar) in format f. */
export function scalarBinary(op: BinaryOp, aBits: bigint, bBits: bigint, f: Format, mxcsr: number): FpResult {
  const flags = { v: 0 };
  const a = operand(aBits, f, mxcsr, flags);
  const b = operand(bBits, f, mxcsr, flags);
  if (op === "min" || op === "max") {
    // MIN/MAX: either NaN (QNaN too) → IE and the second operand; equal zeros → the second operand.
    if (a.kind === "nan" || b.kind === "nan") {
      // IE outranks DE; with DAZ a denormal second operand comes back as its signed zero
      const bits = b.denormal && mxcsr & MXCSR_DAZ ? packSpecial(b.neg, "zero", f) : bBits;
      return { bits, flags: MXCSR_IE };
    }
    const c = compare(a, b);
    const pickA = op === "min" ? c < 0 : c > 0;
    // DAZ: a denormal result operand is returned as the (signed) zero it was treated as
    const chosen = pickA ? a : b;
    const bits = chosen.denormal && mxcsr & MXCSR_DAZ ? packSpecial(chosen.neg, "zero", f) : chosen.bits;
    return { bits, flags: flags.v };
  }
  const nan = nanResult(a, b, f, flags);
  if (nan !== null) return { bits: nan, flags: flags.v & ~MXCSR_DE };
  const rc = (mxcsr >>> 13) & 3;
  let bNeg = b.neg;
  if (op === "sub") bNeg = !bNeg;
  switch (op) {
    case "add":
    case "sub": {
      if (a.kind === "inf" || b.kind === "inf") {
        if (a.kind === "inf" && b.kind === "inf" && a.neg !== bNeg) return invalid(f, flags);
        return { bits: packSpecial(a.kind === "inf" ? a.neg : bNeg, "inf", f), flags: flags.v };
      }
      if (a.kind === "zero" && b.kind === "zero") {
        const neg = a.neg === bNeg ? a.neg : rc === 1;
        return { bits: packSpecial(neg, "zero", f), flags: flags.v };
      }
      if (b.kind === "zero")
        return { bits: roundPack(a.neg, a.m, a.e, false, f, mxcsr, flags), flags: flags.v };
      if (a.kind === "zero")
        return { bits: roundPack(bNeg, b.m, b.e, false, f, mxcsr, flags), flags: flags.v };
      const e = Math.min(a.e, b.e);
      const x = (a.neg ? -1n : 1n) * (a.m << BigInt(a.e - e));
      const y = (bNeg ? -1n : 1n) * (b.m << BigInt(b.e - e));
      const s = x + y;
      if (s === 0n) return { bits: packSpecial(rc === 1, "zero", f), flags: flags.v };
      return { bits: roundPack(s < 0n, s < 0n ? -s : s, e, false, f, mxcsr, flags), flags: flags.v };
    }
    case "mul": {
      const neg = a.neg !== b.neg;
      if ((a.kind === "inf" && b.kind === "zero") || (a.kind === "zero" && b.kind === "inf"))
        return invalid(f, flags);
      if (a.kind === "inf" || b.kind === "inf") return { bits: packSpecial(neg, "inf", f), flags: flags.v };
      if (a.kind === "zero" || b.kind === "zero")
        return { bits: packSpecial(neg, "zero", f), flags: flags.v };
      return { bits: roundPack(neg, a.m * b.m, a.e + b.e, false, f, mxcsr, flags), flags: flags.v };
    }
    default: {
      // div
      const neg = a.neg !== b.neg;
      if ((a.kind === "inf" && b.kind === "inf") || (a.kind === "zero" && b.kind === "zero"))
        return invalid(f, flags);
      if (a.kind === "inf") return { bits: packSpecial(neg, "inf", f), flags: flags.v };
      if (b.kind === "inf" || a.kind === "zero") return { bits: packSpecial(neg, "zero", f), flags: flags.v };
      if (b.kind === "zero") {
        flags.v = (flags.v & ~MXCSR_DE) | MXCSR_ZE; // ZE outranks DE (a denormal dividend is not reported)
        return { bits: packSpecial(neg, "inf", f), flags: flags.v };
      }
      const k = Math.max(0, f.p + 3 + bitLength(b.m) - bitLength(a.m));
      const num = a.m << BigInt(k);
      const qt = num / b.m;
      const sticky = num % b.m !== 0n;
      return { bits: roundPack(neg, qt, a.e - b.e - k, sticky, f, mxcsr, flags), flags: flags.v };
    }
  }
}

function invalid(f: Format, flags: { v: number }): FpResult {
  flags.v = (flags.v & ~MXCSR_DE) | MXCSR_IE; // IE outranks DE
  return { bits: defaultNan(f), flags: flags.v };
}

/** Integer square root (floor). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function scalarSqrt(bBits: bigint, f: Format, mxcsr: number): FpResult {
  const flags = { v: 0 };
  const b = operand(bBits, f, mxcsr, flags);
  if (b.kind === "nan") {
    if (b.snan) flags.v |= MXCSR_IE;
    return { bits: quiet(b, f), flags: flags.v & ~MXCSR_DE };
  }
  if (b.kind === "zero") return { bits: packSpecial(b.neg, "zero", f), flags: flags.v };
  if (b.neg) return invalid(f, flags);
  if (b.kind === "inf") return { bits: packSpecial(false, "inf", f), flags: flags.v };
  // sqrt(m * 2^e): scale so the exponent is even and the root has >= p + 3 bits
  let m = b.m;
  let e = b.e;
  const want = 2 * (f.p + 3);
  let shift = Math.max(0, want - bitLength(m));
  if ((e - shift) % 2 !== 0) shift++;
  m <<= BigInt(shift);
  e -= shift;
  const r = isqrt(m);
  return { bits: roundPack(false, r, e / 2, r * r !== m, f, mxcsr, flags), flags: flags.v };
}

/** -1, 0, 1 for ordered non-NaN values (zeros equal). */
function compare(a: Unpacked, b: Unpacked): number {
  const sa = a.kind === "zero" ? 0 : a.neg ? -1 : 1;
  const sb = b.kind === "zero" ? 0 : b.neg ? -1 : 1;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  let mag: number;
  if (a.kind === "inf" || b.kind === "inf") mag = a.kind === b.kind ? 0 : a.kind === "inf" ? 1 : -1;
  else {
    const e = Math.min(a.e, b.e);
    const x = a.m << BigInt(a.e - e);
    const y = b.m << BigInt(b.e - e);
    mag = x === y ? 0 : x > y ? 1 : -1;
  }
  return sa < 0 ? -mag : mag;
}

/** (U)COMISx: returns the ZF/PF/CF image (bit 6, bit 2, bit 0) and flags; `signaling` = COMIS (IE on any NaN). */
export function scalarCompare(
  aBits: bigint,
  bBits: bigint,
  f: Format,
  mxcsr: number,
  signaling: boolean,
): { eflags: number; flags: number } {
  const flags = { v: 0 };
  const a = operand(aBits, f, mxcsr, flags);
  const b = operand(bBits, f, mxcsr, flags);
  if (a.kind === "nan" || b.kind === "nan") {
    flags.v &= ~MXCSR_DE; // a NaN operand suppresses DE
    if (signaling || a.snan || b.snan) flags.v |= MXCSR_IE;
    return { eflags: 0x45, flags: flags.v };
  }
  const c = compare(a, b);
  return { eflags: c === 0 ? 0x40 : c < 0 ? 0x01 : 0, flags: flags.v };
}

/** CVTSI2SD/SS: a signed 32- or 64-bit integer to format f. */
export function intToFloat(v: bigint, f: Format, mxcsr: number): FpResult {
  const flags = { v: 0 };
  roundInfo.unboundedInexact = false;
  if (v === 0n) return { bits: 0n, flags: 0 };
  const neg = v < 0n;
  return { bits: roundPack(neg, neg ? -v : v, 0, false, f, mxcsr, flags), flags: flags.v };
}

/** CVT(T)SD2SI/SS2SI: to a signed `bits`-wide integer, truncating or by MXCSR.RC; IE + integer indefinite when out of range. */
export function floatToInt(
  aBits: bigint,
  f: Format,
  mxcsr: number,
  truncate: boolean,
  bits: 32 | 64,
): { value: bigint; flags: number } {
  const flags = { v: 0 };
  const a = operand(aBits, f, mxcsr, flags);
  flags.v &= ~MXCSR_DE; // conversions to an integer do not report denormal operands
  const indefinite = 1n << BigInt(bits - 1); // 0x80000000 / 0x8000000000000000 as a bit pattern
  if (a.kind === "nan" || a.kind === "inf")
    return { value: indefinite, flags: (flags.v | MXCSR_IE) & ~MXCSR_DE };
  if (a.kind === "zero") return { value: 0n, flags: flags.v };
  const rc = truncate ? 3 : (mxcsr >>> 13) & 3;
  let mag: bigint;
  let inexact = false;
  if (a.e >= 0) mag = a.m << BigInt(a.e);
  else {
    const [k, , ie] = roundAt(a.m, a.e, false, 0, rc, a.neg);
    mag = k;
    inexact = ie;
  }
  const value = a.neg ? -mag : mag;
  if (value < -(1n << BigInt(bits - 1)) || value >= 1n << BigInt(bits - 1))
    return { value: indefinite, flags: flags.v | MXCSR_IE };
  if (inexact) flags.v |= MXCSR_PE;
  return { value: BigInt.asUintN(bits, value), flags: flags.v };
}

/** CVTSD2SS (from = F64, to = F32) and CVTSS2SD. */
export function convertFloat(aBits: bigint, from: Format, to: Format, mxcsr: number): FpResult {
  const flags = { v: 0 };
  const a = operand(aBits, from, mxcsr, flags);
  if (a.kind === "nan") {
    if (a.snan) flags.v |= MXCSR_IE;
    // keep the sign and the top fraction bits, set the quiet bit
    const shift = BigInt(fracBits(from) - fracBits(to));
    const fracF = a.bits & ((1n << BigInt(fracBits(from))) - 1n);
    const frac = shift > 0n ? fracF >> shift : fracF << -shift;
    const bits = packSpecial(a.neg, "inf", to) | frac | (1n << BigInt(fracBits(to) - 1));
    return { bits, flags: flags.v & ~MXCSR_DE };
  }
  if (a.kind === "inf" || a.kind === "zero") return { bits: packSpecial(a.neg, a.kind, to), flags: flags.v };
  return { bits: roundPack(a.neg, a.m, a.e, false, to, mxcsr, flags), flags: flags.v };
}

/** Raised flags that are unmasked in the MXCSR (nonzero: the instruction raises #XM instead of completing). */
export function unmasked(flags: number, mxcsr: number): number {
  return flags & ~(mxcsr >>> MASK_SHIFT) & 0x3f;
}

/**
 * CMPSS/SD/PS/PD predicate imm8[2:0]: EQ LT LE UNORD NEQ NLT NLE ORD. LT/LE/NLT/NLE signal IE on
 * any NaN, the others only on an SNaN. Returns true for an all-ones lane.
 */
export function comparePredicate(
  pred: number,
  aBits: bigint,
  bBits: bigint,
  f: Format,
  mxcsr: number,
): { set: boolean; flags: number } {
  const flags = { v: 0 };
  const a = operand(aBits, f, mxcsr, flags);
  const b = operand(bBits, f, mxcsr, flags);
  const p = pred & 7;
  if (a.kind === "nan" || b.kind === "nan") {
    flags.v &= ~MXCSR_DE;
    const signaling = p === 1 || p === 2 || p === 5 || p === 6;
    if (signaling || a.snan || b.snan) flags.v |= MXCSR_IE;
    // unordered: EQ LT LE ORD false; UNORD NEQ NLT NLE true
    return { set: p === 3 || p === 4 || p === 5 || p === 6, flags: flags.v };
  }
  const c = compare(a, b);
  const results = [c === 0, c < 0, c <= 0, false, c !== 0, !(c < 0), !(c <= 0), true];
  return { set: results[p], flags: flags.v };
}

export type PackedOp = BinaryOp | "sqrt" | `cmp${number}`;

/** One lane of a packed op (or of CMPSS/SD): dst lane a, source lane b. */
export function laneOp(op: PackedOp, a: bigint, b: bigint, f: Format, mxcsr: number): FpResult {
  if (op === "sqrt") return scalarSqrt(b, f, mxcsr);
  if (op.startsWith("cmp")) {
    const r = comparePredicate(Number(op.slice(3)), a, b, f, mxcsr);
    return { bits: r.set ? (f === F64 ? (1n << 64n) - 1n : 0xffffffffn) : 0n, flags: r.flags };
  }
  return scalarBinary(op as BinaryOp, a, b, f, mxcsr);
}

/**
 * A packed op over 128 bits given as (lo, hi) qwords: each lane independently, flags ORed. The
 * caller commits nothing when `unmasked(flags)` is nonzero (#XM: see sse-fp-xm.ts).
 */
export function packedOp(
  op: PackedOp,
  a: [bigint, bigint],
  b: [bigint, bigint],
  f: Format,
  mxcsr: number,
): { value: [bigint, bigint]; flags: number; laneFlags: number[]; laneInexact: boolean[] } {
  const w = f === F64 ? 64n : 32n;
  const mask = (1n << w) - 1n;
  const n = f === F64 ? 2 : 4;
  const out: [bigint, bigint] = [0n, 0n];
  let flags = 0;
  const laneFlags: number[] = [];
  const laneInexact: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const q = f === F64 ? i : i >> 1;
    const sh = f === F64 ? 0n : BigInt(i & 1) * 32n;
    const r = laneOp(op, (a[q] >> sh) & mask, (b[q] >> sh) & mask, f, mxcsr);
    flags |= r.flags;
    laneFlags.push(r.flags);
    laneInexact.push(roundInfo.unboundedInexact);
    out[q] |= r.bits << sh;
  }
  return { value: out, flags, laneFlags, laneInexact };
}

export type PackedConversion =
  | "cvtdq2pd"
  | "cvtdq2ps"
  | "cvtps2pd"
  | "cvtpd2ps"
  | "cvtpd2dq"
  | "cvttpd2dq"
  | "cvtps2dq"
  | "cvttps2dq";

/**
 * Packed conversions over 128 bits (lo, hi qwords) of the source: results per lane, flags ORed;
 * narrowing forms (PD→PS, PD→DQ) zero the destination's upper 64 bits.
 */
export function packedConvert(
  op: PackedConversion,
  src: [bigint, bigint],
  mxcsr: number,
): { value: [bigint, bigint]; flags: number; laneFlags: number[]; laneInexact: boolean[] } {
  const d32 = (i: number) => (src[i >> 1] >> BigInt((i & 1) * 32)) & 0xffffffffn;
  const laneFlags: number[] = [];
  const laneInexact: boolean[] = [];
  const lanes: bigint[] = [];
  const push = (r: FpResult | { value: bigint; flags: number }) => {
    lanes.push("bits" in r ? r.bits : r.value);
    laneFlags.push(r.flags);
    laneInexact.push(roundInfo.unboundedInexact);
  };
  switch (op) {
    case "cvtdq2pd":
      for (let i = 0; i < 2; i++) push(intToFloat(BigInt.asIntN(32, d32(i)), F64, mxcsr));
      break;
    case "cvtdq2ps":
      for (let i = 0; i < 4; i++) push(intToFloat(BigInt.asIntN(32, d32(i)), F32, mxcsr));
      break;
    case "cvtps2pd":
      for (let i = 0; i < 2; i++) push(convertFloat(d32(i), F32, F64, mxcsr));
      break;
    case "cvtpd2ps":
      for (let i = 0; i < 2; i++) push(convertFloat(src[i], F64, F32, mxcsr));
      break;
    case "cvtpd2dq":
    case "cvttpd2dq":
      for (let i = 0; i < 2; i++) push(floatToInt(src[i], F64, mxcsr, op === "cvttpd2dq", 32));
      break;
    default:
      for (let i = 0; i < 4; i++) push(floatToInt(d32(i), F32, mxcsr, op === "cvttps2dq", 32));
  }
  const wide = op === "cvtdq2pd" || op === "cvtps2pd";
  const value: [bigint, bigint] = wide
    ? [lanes[0], lanes[1]]
    : lanes.length === 2
      ? [lanes[0] | (lanes[1] << 32n), 0n]
      : [lanes[0] | (lanes[1] << 32n), lanes[2] | (lanes[3] << 32n)];
  return { value, flags: laneFlags.reduce((a, b) => a | b, 0), laneFlags, laneInexact };
}
