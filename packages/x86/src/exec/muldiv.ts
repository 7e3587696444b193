// MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
// MUL/IMUL set CF = OF = "the high half is significant"; SF/ZF/AF/PF are undefined in the
// SDM — we produce what Intel silicon was measured to give: SF = sign of the low half,
// PF = parity of its low byte, ZF = 0, AF = 0. DIV/IDIV leave every flag undefined (we leave them
// unchanged) and raise #DE on a zero divisor or a quotient that does not fit.
// Shapes (EXEC.md): the low/first result is returned, the high word of a 64-bit value goes
// to r[OUT_HI], and the second register (DX/EDX/RDX half, remainder) to r[OUT2_LO]/r[OUT2_HI].

import { raiseDE } from "./exception.js";
import { setResult, setResult64 } from "./flags.js";
import { LF_RES_HI, LF_RES_LO, OUT_HI, OUT2_HI, OUT2_LO, type RegFile } from "./regs.js";

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two uint32 values. */
export function mulHiU32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const lh = aL * bH;
  const hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) | 0;
}

/** High 32 bits of the signed 64-bit product of two int32 values. */
export function mulHiS32(a: number, b: number): number {
  return (mulHiU32(a, b) - (a < 0 ? b : 0) - (b < 0 ? a : 0)) | 0;
}

// 128-bit product words, least significant first.
let w0 = 0;
let w1 = 0;
let w2 = 0;
let w3 = 0;

function mulU64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const p0h = mulHiU32(aLo, bLo);
  const p1l = Math.imul(aLo, bHi);
  const p1h = mulHiU32(aLo, bHi);
  const p2l = Math.imul(aHi, bLo);
  const p2h = mulHiU32(aHi, bLo);
  const p3l = Math.imul(aHi, bHi);
  const p3h = mulHiU32(aHi, bHi);
  w0 = Math.imul(aLo, bLo);
  const t1 = (p0h >>> 0) + (p1l >>> 0) + (p2l >>> 0);
  w1 = t1 | 0;
  const t2 = (p1h >>> 0) + (p2h >>> 0) + (p3l >>> 0) + Math.floor(t1 / TWO32);
  w2 = t2 | 0;
  w3 = (p3h + Math.floor(t2 / TWO32)) | 0;
}

function mulS64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mulU64(aLo, aHi, bLo, bHi);
  // Signed correction of the high 64 bits: subtract b if a < 0 and a if b < 0.
  if (aHi < 0) subHigh(bLo, bHi);
  if (bHi < 0) subHigh(aLo, aHi);
}

function subHigh(lo: number, hi: number): void {
  const nLo = (w2 - lo) | 0;
  const borrow = w2 >>> 0 < lo >>> 0 ? 1 : 0;
  w2 = nLo;
  w3 = (w3 - hi - borrow) | 0;
}

/** Intel leaves ZF=0 after a multiply: a zero low half gets a nonzero (positive) high record. */
function mulZfClear(r: RegFile): void {
  if ((r[LF_RES_LO] | r[LF_RES_HI]) === 0) r[LF_RES_HI] = 1;
}

// ---- MUL / IMUL one-operand --------------------------------------------------------------

/** MUL r/m8: returns the new AX. */
export function mul8(r: RegFile, al: number, src: number): number {
  const p = (al & 0xff) * (src & 0xff);
  const big = p > 0xff ? 1 : 0;
  setResult(r, 8, p & 0xff, big, big, 0);
  mulZfClear(r);
  return p;
}
/** MUL r/m16: returns AX, DX in r[OUT2_LO]. */
export function mul16(r: RegFile, ax: number, src: number): number {
  const p = (ax & 0xffff) * (src & 0xffff);
  const dx = p >>> 16;
  const big = dx !== 0 ? 1 : 0;
  setResult(r, 16, p & 0xffff, big, big, 0);
  mulZfClear(r);
  r[OUT2_LO] = dx;
  return p & 0xffff;
}
/** MUL r/m32: returns EAX, EDX in r[OUT2_LO]. */
export function mul32(r: RegFile, eax: number, src: number): number {
  const lo = Math.imul(eax, src);
  const hi = mulHiU32(eax, src);
  const big = hi !== 0 ? 1 : 0;
  setResult(r, 32, lo, big, big, 0);
  mulZfClear(r);
  r[OUT2_LO] = hi;
  return lo;
}
/** MUL r/m64: returns RAX lo (hi in OUT_HI), RDX in OUT2_LO/OUT2_HI. */
export function mul64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  mulU64(aLo, aHi, bLo, bHi);
  const big = (w2 | w3) !== 0 ? 1 : 0;
  setResult64(r, w0, w1, big, big, 0);
  mulZfClear(r);
  r[OUT_HI] = w1;
  r[OUT2_LO] = w2;
  r[OUT2_HI] = w3;
  return w0;
}

/** IMUL r/m8: returns the new AX. */
export function imul8(r: RegFile, al: number, src: number): number {
  const p = ((al << 24) >> 24) * ((src << 24) >> 24);
  const big = p !== (p << 24) >> 24 ? 1 : 0;
  setResult(r, 8, p & 0xff, big, big, 0);
  mulZfClear(r);
  return p & 0xffff;
}
export function imul16(r: RegFile, ax: number, src: number): number {
  const p = ((ax << 16) >> 16) * ((src << 16) >> 16);
  const big = p !== (p << 16) >> 16 ? 1 : 0;
  setResult(r, 16, p & 0xffff, big, big, 0);
  mulZfClear(r);
  r[OUT2_LO] = (p >> 16) & 0xffff;
  return p & 0xffff;
}
export function imul32(r: RegFile, eax: number, src: number): number {
  const lo = Math.imul(eax, src);
  const hi = mulHiS32(eax, src);
  const big = hi !== lo >> 31 ? 1 : 0;
  setResult(r, 32, lo, big, big, 0);
  mulZfClear(r);
  r[OUT2_LO] = hi;
  return lo;
}
export function imul64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  mulS64(aLo, aHi, bLo, bHi);
  const ext = w1 >> 31;
  const big = w2 !== ext || w3 !== ext ? 1 : 0;
  setResult64(r, w0, w1, big, big, 0);
  mulZfClear(r);
  r[OUT_HI] = w1;
  r[OUT2_LO] = w2;
  r[OUT2_HI] = w3;
  return w0;
}

// ---- IMUL two/three-operand: truncated product --------------------------------------------

export function imulTrunc16(r: RegFile, a: number, b: number): number {
  return imul16(r, a, b);
}
export function imulTrunc32(r: RegFile, a: number, b: number): number {
  return imul32(r, a, b);
}
export function imulTrunc64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  return imul64(r, aLo, aHi, bLo, bHi);
}

// ---- DIV / IDIV --------------------------------------------------------------------------

/** DIV r/m8: AX / src; returns the new AX (remainder in AH, quotient in AL). */
export function div8(ax: number, src: number): number {
  const d = src & 0xff;
  if (d === 0) raiseDE("DIV by zero");
  const n = ax & 0xffff;
  const q = Math.floor(n / d);
  if (q > 0xff) raiseDE("DIV quotient overflow");
  return ((n - q * d) << 8) | q;
}
/** DIV r/m16: DX:AX / src; returns AX, DX in r[OUT2_LO]. */
export function div16(r: RegFile, dx: number, ax: number, src: number): number {
  const d = src & 0xffff;
  if (d === 0) raiseDE("DIV by zero");
  const n = (dx & 0xffff) * 65536 + (ax & 0xffff);
  const q = Math.floor(n / d);
  if (q > 0xffff) raiseDE("DIV quotient overflow");
  r[OUT2_LO] = n - q * d;
  return q;
}

// Quotient/remainder of the unsigned division helpers.
let qLo = 0;
let qHi = 0;
let remLo = 0;
let remHi = 0;

/** Unsigned (n3:n2:n1:n0) / d where d < 2^32, digit by digit in base 2^16 (exact in doubles). */
function divSmall(n3: number, n2: number, n1: number, n0: number, d: number): void {
  let rem = 0;
  let q1 = 0;
  let q0 = 0;
  for (let i = 0; i < 4; i++) {
    const w = (i === 0 ? n3 : i === 1 ? n2 : i === 2 ? n1 : n0) >>> 0;
    let cur = rem * 65536 + (w >>> 16);
    const qa = Math.floor(cur / d);
    rem = cur - qa * d;
    cur = rem * 65536 + (w & 0xffff);
    const qb = Math.floor(cur / d);
    rem = cur - qb * d;
    // The quotient is < 2^64 (callers check), so only the last two words matter.
    q1 = q0;
    q0 = (qa << 16) | qb;
  }
  qLo = q0;
  qHi = q1;
  remLo = rem | 0;
  remHi = 0;
}

/** Unsigned (nHi:nLo, 128 bits) / (dHi:dLo) assuming the quotient fits 64 bits (nHi < d). */
function divWide(n3: number, n2: number, n1: number, n0: number, dLo: number, dHi: number): void {
  if (dHi === 0) {
    divSmall(n3, n2, n1, n0, dLo >>> 0);
    return;
  }
  let rLo = n2;
  let rHi = n3;
  let ql = 0;
  let qh = 0;
  for (let i = 63; i >= 0; i--) {
    const bit = i >= 32 ? (n1 >>> (i - 32)) & 1 : (n0 >>> i) & 1;
    const out = rHi >>> 31;
    rHi = (rHi << 1) | (rLo >>> 31);
    rLo = (rLo << 1) | bit;
    qh = (qh << 1) | (ql >>> 31);
    ql <<= 1;
    if (out || rHi >>> 0 > dHi >>> 0 || (rHi === dHi && rLo >>> 0 >= dLo >>> 0)) {
      const borrow = rLo >>> 0 < dLo >>> 0 ? 1 : 0;
      rLo = (rLo - dLo) | 0;
      rHi = (rHi - dHi - borrow) | 0;
      ql |= 1;
    }
  }
  qLo = ql;
  qHi = qh;
  remLo = rLo;
  remHi = rHi;
}

function ltU64(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  return aHi >>> 0 < bHi >>> 0 || (aHi === bHi && aLo >>> 0 < bLo >>> 0);
}

/** DIV r/m32: EDX:EAX / src; returns EAX, EDX in r[OUT2_LO]. */
export function div32(r: RegFile, edx: number, eax: number, src: number): number {
  if (src === 0) raiseDE("DIV by zero");
  if (edx >>> 0 >= src >>> 0) raiseDE("DIV quotient overflow");
  if (edx === 0) {
    const n = eax >>> 0;
    const d = src >>> 0;
    const q = Math.floor(n / d);
    r[OUT2_LO] = n - q * d;
    return q | 0;
  }
  divSmall(0, 0, edx, eax, src >>> 0);
  r[OUT2_LO] = remLo;
  return qLo;
}

/** DIV r/m64: RDX:RAX / src; returns RAX lo (hi in OUT_HI), RDX in OUT2_LO/OUT2_HI. */
export function div64(
  r: RegFile,
  dxLo: number,
  dxHi: number,
  axLo: number,
  axHi: number,
  sLo: number,
  sHi: number,
): number {
  if ((sLo | sHi) === 0) raiseDE("DIV by zero");
  if (!ltU64(dxLo, dxHi, sLo, sHi)) raiseDE("DIV quotient overflow");
  divWide(dxHi, dxLo, axHi, axLo, sLo, sHi);
  r[OUT_HI] = qHi;
  r[OUT2_LO] = remLo;
  r[OUT2_HI] = remHi;
  return qLo;
}

/** IDIV r/m8: AX / src; returns the new AX. */
export function idiv8(ax: number, src: number): number {
  const d = (src << 24) >> 24;
  if (d === 0) raiseDE("IDIV by zero");
  const n = (ax << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) raiseDE("IDIV quotient overflow");
  return (((n - q * d) & 0xff) << 8) | (q & 0xff);
}
export function idiv16(r: RegFile, dx: number, ax: number, src: number): number {
  const d = (src << 16) >> 16;
  if (d === 0) raiseDE("IDIV by zero");
  const n = ((dx & 0xffff) << 16) | (ax & 0xffff);
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) raiseDE("IDIV quotient overflow");
  r[OUT2_LO] = (n - q * d) & 0xffff;
  return q & 0xffff;
}

/** IDIV r/m32: EDX:EAX / src; returns EAX, EDX in r[OUT2_LO]. */
export function idiv32(r: RegFile, edx: number, eax: number, src: number): number {
  if (src === 0) raiseDE("IDIV by zero");
  const negN = edx < 0;
  let nLo = eax;
  let nHi = edx;
  if (negN) {
    nLo = -eax | 0;
    nHi = (~edx + (nLo === 0 ? 1 : 0)) | 0;
  }
  const d = src < 0 ? -src >>> 0 : src;
  if (nHi >>> 0 >= d) raiseDE("IDIV quotient overflow");
  divSmall(0, 0, nHi, nLo, d);
  const negQ = negN !== src < 0;
  const qMag = qLo >>> 0;
  if (qMag > (negQ ? 0x80000000 : 0x7fffffff)) raiseDE("IDIV quotient overflow");
  r[OUT2_LO] = negN ? -remLo | 0 : remLo;
  return negQ ? -qMag | 0 : qMag | 0;
}

/** IDIV r/m64: RDX:RAX / src; returns RAX lo (hi in OUT_HI), RDX in OUT2_LO/OUT2_HI. */
export function idiv64(
  r: RegFile,
  dxLo: number,
  dxHi: number,
  axLo: number,
  axHi: number,
  sLo: number,
  sHi: number,
): number {
  if ((sLo | sHi) === 0) raiseDE("IDIV by zero");
  const negN = dxHi < 0;
  let n0 = axLo;
  let n1 = axHi;
  let n2 = dxLo;
  let n3 = dxHi;
  if (negN) {
    // 128-bit two's complement negation.
    n0 = ~n0;
    n1 = ~n1;
    n2 = ~n2;
    n3 = ~n3;
    n0 = (n0 + 1) | 0;
    if (n0 === 0) {
      n1 = (n1 + 1) | 0;
      if (n1 === 0) {
        n2 = (n2 + 1) | 0;
        if (n2 === 0) n3 = (n3 + 1) | 0;
      }
    }
  }
  const negD = sHi < 0;
  let dLo = sLo;
  let dHi = sHi;
  if (negD) {
    dLo = -sLo | 0;
    dHi = (~sHi + (dLo === 0 ? 1 : 0)) | 0;
  }
  if (!ltU64(n2, n3, dLo, dHi)) raiseDE("IDIV quotient overflow");
  divWide(n3, n2, n1, n0, dLo, dHi);
  const negQ = negN !== negD;
  // |q| must be <= 2^63 - 1, or <= 2^63 when the quotient is negative.
  if (qHi < 0 && !(negQ && qHi === -0x80000000 && qLo === 0)) raiseDE("IDIV quotient overflow");
  let outLo = qLo;
  let outHi = qHi;
  if (negQ) {
    outLo = -qLo | 0;
    outHi = (~qHi + (outLo === 0 ? 1 : 0)) | 0;
  }
  let rl = remLo;
  let rh = remHi;
  if (negN) {
    rl = -remLo | 0;
    rh = (~remHi + (rl === 0 ? 1 : 0)) | 0;
  }
  r[OUT_HI] = outHi;
  r[OUT2_LO] = rl;
  r[OUT2_HI] = rh;
  return outLo;
}
