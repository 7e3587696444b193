// SSE2 integer operations over the XMM register file (the set gcc -O2 emits for integer code).
// Every function takes the file and register numbers: `d` is the destination (and first
// source), `s` the second source. A memory operand is first loaded into the scratch
// register XMM_SCRATCH (16) by the interpreter. No flags are affected. Lanes are read
// through typed-array views, which assumes a little-endian host (every JS engine target).

import { mulHiU32 } from "./muldiv.js";

export const XMM_COUNT = 16;
/** Register number of the scratch slot used for memory operands. */
export const XMM_SCRATCH = 16;

export class XmmFile {
  readonly buffer = new ArrayBuffer((XMM_COUNT + 1) * 16);
  readonly i32 = new Int32Array(this.buffer);
  readonly u8 = new Uint8Array(this.buffer);
  readonly i8 = new Int8Array(this.buffer);
  readonly u16 = new Uint16Array(this.buffer);
  readonly i16 = new Int16Array(this.buffer);
  /** A temporary used by lane shuffles so that d === s works. */
  readonly tmp = new Int32Array(4);
  readonly tmp8 = new Uint8Array(this.tmp.buffer);
}

// ---- add / sub -----------------------------------------------------------------------------

export function paddb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = a[j + i] + a[k + i];
}
export function paddw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = a[j + i] + a[k + i];
}
export function paddd(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] = (a[j + i] + a[k + i]) | 0;
}
export function paddq(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let q = 0; q < 2; q++) {
    const j = (d << 2) + 2 * q;
    const k = (s << 2) + 2 * q;
    const lo = (a[j] + a[k]) | 0;
    const carry = lo >>> 0 < a[j] >>> 0 ? 1 : 0;
    a[j + 1] = (a[j + 1] + a[k + 1] + carry) | 0;
    a[j] = lo;
  }
}
export function psubb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = a[j + i] - a[k + i];
}
export function psubw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = a[j + i] - a[k + i];
}
export function psubd(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] = (a[j + i] - a[k + i]) | 0;
}
export function psubq(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let q = 0; q < 2; q++) {
    const j = (d << 2) + 2 * q;
    const k = (s << 2) + 2 * q;
    const borrow = a[j] >>> 0 < a[k] >>> 0 ? 1 : 0;
    a[j] = (a[j] - a[k]) | 0;
    a[j + 1] = (a[j + 1] - a[k + 1] - borrow) | 0;
  }
}

// ---- compares --------------------------------------------------------------------------------

export function pcmpeqb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = a[j + i] === a[k + i] ? 0xff : 0;
}
export function pcmpeqw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = a[j + i] === a[k + i] ? 0xffff : 0;
}
export function pcmpeqd(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] = a[j + i] === a[k + i] ? -1 : 0;
}
export function pcmpgtb(x: XmmFile, d: number, s: number): void {
  const a = x.i8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = a[j + i] > a[k + i] ? -1 : 0;
}
export function pcmpgtw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = a[j + i] > a[k + i] ? -1 : 0;
}
export function pcmpgtd(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] = a[j + i] > a[k + i] ? -1 : 0;
}

// ---- logic -----------------------------------------------------------------------------------

export function pand(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] &= a[k + i];
}
export function pandn(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] = ~a[j + i] & a[k + i];
}
export function por(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] |= a[k + i];
}
export function pxor(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2, k = s << 2; i < 4; i++) a[j + i] ^= a[k + i];
}

// ---- shuffles and unpacks ------------------------------------------------------------------

export function pshufd(x: XmmFile, d: number, s: number, imm: number): void {
  const a = x.i32;
  const t = x.tmp;
  const k = s << 2;
  for (let i = 0; i < 4; i++) t[i] = a[k + ((imm >>> (2 * i)) & 3)];
  a.set(t, d << 2);
}

/** SHUFPS: the low two dwords come from the destination, the high two from the source. */
export function shufps(x: XmmFile, d: number, s: number, imm: number): void {
  const a = x.i32;
  const t = x.tmp;
  const j = d << 2;
  const k = s << 2;
  t[0] = a[j + (imm & 3)];
  t[1] = a[j + ((imm >>> 2) & 3)];
  t[2] = a[k + ((imm >>> 4) & 3)];
  t[3] = a[k + ((imm >>> 6) & 3)];
  a.set(t, j);
}

/** Interleave elements of `size` bytes from the low (high=false) or high half of d and s. */
function unpack(x: XmmFile, d: number, s: number, size: number, high: boolean): void {
  const a = x.u8;
  const t = x.tmp8;
  const base = high ? 8 : 0;
  const j = d << 4;
  const k = s << 4;
  for (let e = 0, o = 0; o < 16; e += size) {
    for (let b = 0; b < size; b++) t[o++] = a[j + base + e + b];
    for (let b = 0; b < size; b++) t[o++] = a[k + base + e + b];
  }
  a.set(t, j);
}

export const punpcklbw = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 1, false);
export const punpckhbw = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 1, true);
export const punpcklwd = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 2, false);
export const punpckhwd = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 2, true);
export const punpckldq = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 4, false);
export const punpckhdq = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 4, true);
export const punpcklqdq = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 8, false);
export const punpckhqdq = (x: XmmFile, d: number, s: number): void => unpack(x, d, s, 8, true);

// ---- shifts ------------------------------------------------------------------------------------

/** The shift count of the register/memory forms: the whole low quadword of `s`, saturated. */
export function xmmShiftCount(x: XmmFile, s: number): number {
  const a = x.i32;
  return a[(s << 2) + 1] !== 0 ? 0xffff : Math.min(a[s << 2] >>> 0, 0xffff);
}

export function psllw(x: XmmFile, d: number, count: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3; i < 8; i++) a[j + i] = count > 15 ? 0 : a[j + i] << count;
}
export function psrlw(x: XmmFile, d: number, count: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3; i < 8; i++) a[j + i] = count > 15 ? 0 : a[j + i] >>> count;
}
export function psraw(x: XmmFile, d: number, count: number): void {
  const a = x.i16;
  const n = Math.min(count, 15);
  for (let i = 0, j = d << 3; i < 8; i++) a[j + i] = a[j + i] >> n;
}
export function pslld(x: XmmFile, d: number, count: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2; i < 4; i++) a[j + i] = count > 31 ? 0 : a[j + i] << count;
}
export function psrld(x: XmmFile, d: number, count: number): void {
  const a = x.i32;
  for (let i = 0, j = d << 2; i < 4; i++) a[j + i] = count > 31 ? 0 : a[j + i] >>> count;
}
export function psrad(x: XmmFile, d: number, count: number): void {
  const a = x.i32;
  const n = Math.min(count, 31);
  for (let i = 0, j = d << 2; i < 4; i++) a[j + i] = a[j + i] >> n;
}
export function psllq(x: XmmFile, d: number, count: number): void {
  const a = x.i32;
  for (let q = 0, j = d << 2; q < 2; q++, j += 2) {
    if (count > 63) {
      a[j] = 0;
      a[j + 1] = 0;
    } else if (count >= 32) {
      a[j + 1] = a[j] << (count - 32);
      a[j] = 0;
    } else if (count > 0) {
      a[j + 1] = (a[j + 1] << count) | (a[j] >>> (32 - count));
      a[j] <<= count;
    }
  }
}
export function psrlq(x: XmmFile, d: number, count: number): void {
  const a = x.i32;
  for (let q = 0, j = d << 2; q < 2; q++, j += 2) {
    if (count > 63) {
      a[j] = 0;
      a[j + 1] = 0;
    } else if (count >= 32) {
      a[j] = a[j + 1] >>> (count - 32);
      a[j + 1] = 0;
    } else if (count > 0) {
      a[j] = (a[j] >>> count) | (a[j + 1] << (32 - count));
      a[j + 1] >>>= count;
    }
  }
}
/** PSLLDQ: shift the whole register left by `imm` bytes (imm > 15 clears it). */
export function pslldq(x: XmmFile, d: number, imm: number): void {
  const a = x.u8;
  const t = x.tmp8;
  const j = d << 4;
  for (let i = 0; i < 16; i++) t[i] = i - imm >= 0 ? a[j + i - imm] : 0;
  a.set(t, j);
}
export function psrldq(x: XmmFile, d: number, imm: number): void {
  const a = x.u8;
  const t = x.tmp8;
  const j = d << 4;
  for (let i = 0; i < 16; i++) t[i] = i + imm < 16 ? a[j + i + imm] : 0;
  a.set(t, j);
}

// ---- misc ----------------------------------------------------------------------------------------

/** PMOVMSKB: the sign bits of the 16 bytes of `s`, as the (zero-extended) GPR value. */
export function pmovmskb(x: XmmFile, s: number): number {
  const a = x.u8;
  let m = 0;
  for (let i = 15, k = s << 4; i >= 0; i--) m = (m << 1) | (a[k + i] >>> 7);
  return m;
}

/** PMULUDQ: unsigned 32x32→64 products of the even dwords. */
export function pmuludq(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  for (let q = 0; q < 2; q++) {
    const j = (d << 2) + 2 * q;
    const k = (s << 2) + 2 * q;
    const p = a[j];
    const b = a[k];
    a[j] = Math.imul(p, b);
    a[j + 1] = mulHiU32(p, b);
  }
}

/** MOVD xmm, r/m32: zero-extends into the whole register. */
export function movdToXmm(x: XmmFile, d: number, v: number): void {
  const a = x.i32;
  const j = d << 2;
  a[j] = v;
  a[j + 1] = 0;
  a[j + 2] = 0;
  a[j + 3] = 0;
}
/** MOVQ xmm, r/m64 (and MOVQ xmm, xmm/m64 with the source's low quadword). */
export function movqToXmm(x: XmmFile, d: number, lo: number, hi: number): void {
  const a = x.i32;
  const j = d << 2;
  a[j] = lo;
  a[j + 1] = hi;
  a[j + 2] = 0;
  a[j + 3] = 0;
}
/** MOVD r/m32, xmm. MOVQ r/m64, xmm reads the low two dwords (xmmDword(x, s, 0/1)). */
export function xmmDword(x: XmmFile, s: number, i: number): number {
  return x.i32[(s << 2) + i];
}

// ---- saturating arithmetic, min/max, averages, packs ------------------------------------------

const satU8 = (v: number): number => Math.max(0, Math.min(0xff, v));
const satS8 = (v: number): number => Math.max(-128, Math.min(127, v));
const satU16 = (v: number): number => Math.max(0, Math.min(0xffff, v));
const satS16 = (v: number): number => Math.max(-32768, Math.min(32767, v));

export function paddusb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = satU8(a[j + i] + a[k + i]);
}
export function paddusw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = satU16(a[j + i] + a[k + i]);
}
export function psubusb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = satU8(a[j + i] - a[k + i]);
}
export function psubusw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = satU16(a[j + i] - a[k + i]);
}
export function paddsb(x: XmmFile, d: number, s: number): void {
  const a = x.i8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = satS8(a[j + i] + a[k + i]);
}
export function paddsw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = satS16(a[j + i] + a[k + i]);
}
export function psubsb(x: XmmFile, d: number, s: number): void {
  const a = x.i8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = satS8(a[j + i] - a[k + i]);
}
export function psubsw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = satS16(a[j + i] - a[k + i]);
}
export function pminub(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = Math.min(a[j + i], a[k + i]);
}
export function pmaxub(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = Math.max(a[j + i], a[k + i]);
}
export function pminsw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = Math.min(a[j + i], a[k + i]);
}
export function pmaxsw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = Math.max(a[j + i], a[k + i]);
}
export function pavgb(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  for (let i = 0, j = d << 4, k = s << 4; i < 16; i++) a[j + i] = (a[j + i] + a[k + i] + 1) >>> 1;
}
export function pavgw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = (a[j + i] + a[k + i] + 1) >>> 1;
}

/** PACKSSWB: signed words of d then s → signed-saturated bytes. */
export function packsswb(x: XmmFile, d: number, s: number): void {
  const w = x.i16;
  const t = x.tmp8;
  for (let i = 0; i < 8; i++) {
    t[i] = satS8(w[(d << 3) + i]);
    t[i + 8] = satS8(w[(s << 3) + i]);
  }
  x.u8.set(t, d << 4);
}
/** PACKUSWB: signed words of d then s → unsigned-saturated bytes. */
export function packuswb(x: XmmFile, d: number, s: number): void {
  const w = x.i16;
  const t = x.tmp8;
  for (let i = 0; i < 8; i++) {
    t[i] = satU8(w[(d << 3) + i]);
    t[i + 8] = satU8(w[(s << 3) + i]);
  }
  x.u8.set(t, d << 4);
}
/** PACKSSDW: signed dwords of d then s → signed-saturated words. */
export function packssdw(x: XmmFile, d: number, s: number): void {
  const a = x.i32;
  const t = x.tmp;
  const words = new Int16Array(t.buffer);
  for (let i = 0; i < 4; i++) {
    words[i] = satS16(a[(d << 2) + i]);
    words[i + 4] = satS16(a[(s << 2) + i]);
  }
  a.set(t, d << 2);
}

// ---- multiplies and sums -------------------------------------------------------------------------

export function pmullw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = Math.imul(a[j + i], a[k + i]);
}
export function pmulhw(x: XmmFile, d: number, s: number): void {
  const a = x.i16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = (a[j + i] * a[k + i]) >> 16;
}
export function pmulhuw(x: XmmFile, d: number, s: number): void {
  const a = x.u16;
  for (let i = 0, j = d << 3, k = s << 3; i < 8; i++) a[j + i] = (a[j + i] * a[k + i]) >>> 16;
}
/** PMADDWD: signed word products summed in pairs into dwords (0x8000*0x8000*2 wraps, as on silicon). */
export function pmaddwd(x: XmmFile, d: number, s: number): void {
  const w = x.i16;
  const t = x.tmp;
  for (let i = 0; i < 4; i++) {
    const j = (d << 3) + 2 * i;
    const k = (s << 3) + 2 * i;
    t[i] = (w[j] * w[k] + w[j + 1] * w[k + 1]) | 0;
  }
  x.i32.set(t, d << 2);
}
/** PSADBW: sums of absolute byte differences per quadword, into the low word of each quadword. */
export function psadbw(x: XmmFile, d: number, s: number): void {
  const a = x.u8;
  const t = x.tmp;
  for (let q = 0; q < 2; q++) {
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += Math.abs(a[(d << 4) + 8 * q + i] - a[(s << 4) + 8 * q + i]);
    t[2 * q] = sum;
    t[2 * q + 1] = 0;
  }
  x.i32.set(t, d << 2);
}

/** PEXTRW r32, xmm, imm8: the word selected by imm[2:0], zero-extended. */
export function pextrw(x: XmmFile, s: number, imm: number): number {
  return x.u16[(s << 3) + (imm & 7)];
}
/** PINSRW xmm, r32/m16, imm8: replace the word selected by imm[2:0]. */
export function pinsrw(x: XmmFile, d: number, v: number, imm: number): void {
  x.u16[(d << 3) + (imm & 7)] = v;
}
