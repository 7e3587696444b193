// Shifts and rotates: SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD.
// The count is masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes
// nothing, flags included. OF is architecturally defined only for a masked count of 1; for
// larger counts the SDM leaves it undefined and we produce what Intel silicon was measured
// to give: OF as computed by the first 1-bit step (so the count-1 formula written in terms
// of the source). RCL/RCR whose count reduces to 0 (mod 9/17) change no flag at all. AF is
// undefined after shifts and reads 0, as on Intel.
// Sizes 8/16/32 share one function taking `bits`; 64-bit variants take lo/hi and leave the
// high word in r[OUT_HI]. Rotates only touch CF and OF.

import { getCF, setCFOF, setResult, setResult64 } from "./flags.js";
import { OUT_HI, type RegFile } from "./regs.js";

const MASK = (bits: number): number => (bits === 32 ? -1 : (1 << bits) - 1);

function bit64(lo: number, hi: number, i: number): number {
  return i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
}

// Pure 64-bit shift helpers for n in 0..63; the high word goes to `tHi`.
let tHi = 0;
function shlPair(lo: number, hi: number, n: number): number {
  if (n === 0) {
    tHi = hi;
    return lo;
  }
  if (n < 32) {
    tHi = (hi << n) | (lo >>> (32 - n));
    return lo << n;
  }
  tHi = lo << (n - 32);
  return 0;
}
function shrPair(lo: number, hi: number, n: number): number {
  if (n === 0) {
    tHi = hi;
    return lo;
  }
  if (n < 32) {
    tHi = hi >>> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  tHi = 0;
  return hi >>> (n - 32);
}
function sarPair(lo: number, hi: number, n: number): number {
  if (n === 0) {
    tHi = hi;
    return lo;
  }
  if (n < 32) {
    tHi = hi >> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  tHi = hi >> 31;
  return hi >> (n - 32);
}

// ---- SHL / SHR / SAR ---------------------------------------------------------------------

export function shl(r: RegFile, bits: number, a: number, count: number): number {
  const n = count & 31;
  if (n === 0) return a & MASK(bits);
  const m = MASK(bits);
  const res = n >= bits ? 0 : (a << n) & m;
  const cf = n > bits ? 0 : (a >>> (bits - n)) & 1;
  setResult(r, bits, res, cf, ((a >>> (bits - 1)) ^ (a >>> (bits - 2))) & 1, 0);
  return bits === 32 ? res | 0 : res;
}

export function shr(r: RegFile, bits: number, a: number, count: number): number {
  const n = count & 31;
  const m = MASK(bits);
  if (n === 0) return a & m;
  const v = (a & m) >>> 0;
  const res = n >= bits ? 0 : v >>> n;
  const cf = (v >>> (n - 1)) & 1;
  setResult(r, bits, res, cf, (v >>> (bits - 1)) & 1, 0);
  return bits === 32 ? res | 0 : res;
}

export function sar(r: RegFile, bits: number, a: number, count: number): number {
  const n = count & 31;
  const m = MASK(bits);
  if (n === 0) return a & m;
  const v = (a << (32 - bits)) >> (32 - bits);
  const res = (v >> n) & m;
  const cf = (v >> (n - 1)) & 1;
  setResult(r, bits, res, cf, 0, 0);
  return bits === 32 ? res | 0 : res;
}

export function shl64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const resLo = shlPair(aLo, aHi, n);
  const resHi = tHi;
  const cf = bit64(aLo, aHi, 64 - n);
  setResult64(r, resLo, resHi, cf, ((aHi >>> 31) ^ (aHi >>> 30)) & 1, 0);
  r[OUT_HI] = resHi;
  return resLo;
}

export function shr64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const resLo = shrPair(aLo, aHi, n);
  const resHi = tHi;
  setResult64(r, resLo, resHi, bit64(aLo, aHi, n - 1), aHi >>> 31, 0);
  r[OUT_HI] = resHi;
  return resLo;
}

export function sar64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const resLo = sarPair(aLo, aHi, n);
  const resHi = tHi;
  setResult64(r, resLo, resHi, bit64(aLo, aHi, n - 1), 0, 0);
  r[OUT_HI] = resHi;
  return resLo;
}

// ---- ROL / ROR ---------------------------------------------------------------------------

export function rol(r: RegFile, bits: number, a: number, count: number): number {
  const m = MASK(bits);
  const n = count & 31;
  const v = (a & m) >>> 0;
  if (n === 0) return bits === 32 ? v | 0 : v;
  const k = n % bits;
  const res = k === 0 ? v : ((v << k) | (v >>> (bits - k))) & m;
  setCFOF(r, res & 1, ((v >>> (bits - 1)) ^ (v >>> (bits - 2))) & 1);
  return bits === 32 ? res | 0 : res >>> 0;
}

export function ror(r: RegFile, bits: number, a: number, count: number): number {
  const m = MASK(bits);
  const n = count & 31;
  const v = (a & m) >>> 0;
  if (n === 0) return bits === 32 ? v | 0 : v;
  const k = n % bits;
  const res = k === 0 ? v : ((v >>> k) | (v << (bits - k))) & m;
  setCFOF(r, (res >>> (bits - 1)) & 1, (v ^ (v >>> (bits - 1))) & 1);
  return bits === 32 ? res | 0 : res >>> 0;
}

export function rol64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const lLo = shlPair(aLo, aHi, n);
  const lHi = tHi;
  const rLo = shrPair(aLo, aHi, 64 - n);
  const resLo = lLo | rLo;
  const resHi = lHi | tHi;
  setCFOF(r, resLo & 1, ((aHi >>> 31) ^ (aHi >>> 30)) & 1);
  r[OUT_HI] = resHi;
  return resLo;
}

export function ror64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const rLo = shrPair(aLo, aHi, n);
  const rHi = tHi;
  const lLo = shlPair(aLo, aHi, 64 - n);
  const resLo = rLo | lLo;
  const resHi = rHi | tHi;
  setCFOF(r, resHi >>> 31, (aLo ^ (aHi >>> 31)) & 1);
  r[OUT_HI] = resHi;
  return resLo;
}

// ---- RCL / RCR: rotate through CF, one bit per step (rare in compiled code) -------------

export function rcl(r: RegFile, bits: number, a: number, count: number): number {
  const m = MASK(bits);
  const masked = count & 31;
  let v = (a & m) >>> 0;
  if (masked === 0) return bits === 32 ? v | 0 : v;
  const k = bits === 8 ? masked % 9 : bits === 16 ? masked % 17 : masked;
  if (k === 0) return bits === 32 ? v | 0 : v;
  const of = ((v >>> (bits - 1)) ^ (v >>> (bits - 2))) & 1;
  let cf = getCF(r);
  for (let i = 0; i < k; i++) {
    const out = (v >>> (bits - 1)) & 1;
    v = (((v << 1) | cf) & m) >>> 0;
    cf = out;
  }
  setCFOF(r, cf, of);
  return bits === 32 ? v | 0 : v;
}

export function rcr(r: RegFile, bits: number, a: number, count: number): number {
  const m = MASK(bits);
  const masked = count & 31;
  let v = (a & m) >>> 0;
  if (masked === 0) return bits === 32 ? v | 0 : v;
  const k = bits === 8 ? masked % 9 : bits === 16 ? masked % 17 : masked;
  if (k === 0) return bits === 32 ? v | 0 : v;
  let cf = getCF(r);
  const of = ((v >>> (bits - 1)) & 1) ^ cf;
  for (let i = 0; i < k; i++) {
    const out = v & 1;
    v = ((v >>> 1) | (cf << (bits - 1))) & m;
    v >>>= 0;
    cf = out;
  }
  setCFOF(r, cf, of);
  return bits === 32 ? v | 0 : v;
}

export function rcl64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const k = count & 63;
  if (k === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  let lo = aLo;
  let hi = aHi;
  let cf = getCF(r);
  for (let i = 0; i < k; i++) {
    const out = hi >>> 31;
    hi = (hi << 1) | (lo >>> 31);
    lo = (lo << 1) | cf;
    cf = out;
  }
  setCFOF(r, cf, ((aHi >>> 31) ^ (aHi >>> 30)) & 1);
  r[OUT_HI] = hi;
  return lo;
}

export function rcr64(r: RegFile, aLo: number, aHi: number, count: number): number {
  const k = count & 63;
  if (k === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  let lo = aLo;
  let hi = aHi;
  let cf = getCF(r);
  const of = (hi >>> 31) ^ cf;
  for (let i = 0; i < k; i++) {
    const out = lo & 1;
    lo = (lo >>> 1) | (hi << 31);
    hi = (hi >>> 1) | (cf << 31);
    cf = out;
  }
  setCFOF(r, cf, of);
  r[OUT_HI] = hi;
  return lo;
}

// ---- SHLD / SHRD (16/32/64) --------------------------------------------------------------
// A 16-bit count above 16 is undefined in the SDM; we shift the 48-bit pattern dst:src:dst.

export function shld(r: RegFile, bits: number, a: number, b: number, count: number): number {
  const n = count & 31;
  const m = MASK(bits);
  const v = (a & m) >>> 0;
  if (n === 0) return bits === 32 ? v | 0 : v;
  let res: number;
  let cf: number;
  if (bits === 32) {
    res = (v << n) | ((b >>> 0) >>> (32 - n));
    cf = (v >>> (32 - n)) & 1;
  } else {
    // 16-bit: operate on the 48-bit string dst:src:dst, as a hi/lo pair.
    const patHi = v; // bits 47..32
    const patLo = (((b & 0xffff) << 16) | v) >>> 0;
    shlPair(patLo, patHi, n);
    res = tHi & 0xffff;
    cf = bit64(patLo, patHi, 48 - n);
  }
  res = (res & m) >>> 0;
  setResult(r, bits, res, cf, ((v >>> (bits - 1)) ^ (v >>> (bits - 2))) & 1, 0);
  return bits === 32 ? res | 0 : res;
}

export function shrd(r: RegFile, bits: number, a: number, b: number, count: number): number {
  const n = count & 31;
  const m = MASK(bits);
  const v = (a & m) >>> 0;
  if (n === 0) return bits === 32 ? v | 0 : v;
  let res: number;
  let cf: number;
  if (bits === 32) {
    res = (v >>> n) | (b << (32 - n));
    cf = (v >>> (n - 1)) & 1;
  } else {
    // 16-bit: operate on the 48-bit string dst:src:dst read from the low end.
    const patLo = (((b & 0xffff) << 16) | v) >>> 0;
    const patHi = v;
    res = shrPair(patLo, patHi, n) & 0xffff;
    cf = bit64(patLo, patHi, n - 1);
  }
  res = (res & m) >>> 0;
  setResult(r, bits, res, cf, (b ^ (v >>> (bits - 1))) & 1, 0);
  return bits === 32 ? res | 0 : res;
}

export function shld64(
  r: RegFile,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  count: number,
): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const lLo = shlPair(aLo, aHi, n);
  const lHi = tHi;
  const rLo = shrPair(bLo, bHi, 64 - n);
  const resLo = lLo | rLo;
  const resHi = lHi | tHi;
  const cf = bit64(aLo, aHi, 64 - n);
  setResult64(r, resLo, resHi, cf, ((aHi >>> 31) ^ (aHi >>> 30)) & 1, 0);
  r[OUT_HI] = resHi;
  return resLo;
}

export function shrd64(
  r: RegFile,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  count: number,
): number {
  const n = count & 63;
  if (n === 0) {
    r[OUT_HI] = aHi;
    return aLo;
  }
  const rLo = shrPair(aLo, aHi, n);
  const rHi = tHi;
  const lLo = shlPair(bLo, bHi, 64 - n);
  const resLo = rLo | lLo;
  const resHi = rHi | tHi;
  setResult64(r, resLo, resHi, bit64(aLo, aHi, n - 1), (bLo ^ (aHi >>> 31)) & 1, 0);
  r[OUT_HI] = resHi;
  return resLo;
}
