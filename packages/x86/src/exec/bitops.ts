// BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT, BSWAP, CBW/CWDE/CDQE/CWD/CDQ/CQO,
// CMPXCHG/XADD flag effects.

import { add32, add64, addByWidth, sub32, sub64, subByWidth } from "./alu-width.js";
import { getZF, PARITY, setCF } from "./flags.js";
import { LF_AUX, LF_RES_HI, LF_RES_LO, OUT_HI, type RegFile } from "./regs.js";

// ---- BT family: register forms take the offset modulo the width; the memory forms'
// address adjustment is the interpreter's. Only CF changes (OF/SF/AF/PF are undefined in
// the SDM and keep their values here; ZF is preserved as the SDM requires).

export function bt(r: RegFile, bits: number, a: number, offset: number): void {
  setCF(r, (a >>> (offset & (bits - 1))) & 1);
}
export function bts(r: RegFile, bits: number, a: number, offset: number): number {
  const i = offset & (bits - 1);
  setCF(r, (a >>> i) & 1);
  return bits === 32 ? a | (1 << i) : (a | (1 << i)) & 0xffff;
}
export function btr(r: RegFile, bits: number, a: number, offset: number): number {
  const i = offset & (bits - 1);
  setCF(r, (a >>> i) & 1);
  return bits === 32 ? a & ~(1 << i) : a & ~(1 << i) & 0xffff;
}
export function btc(r: RegFile, bits: number, a: number, offset: number): number {
  const i = offset & (bits - 1);
  setCF(r, (a >>> i) & 1);
  return bits === 32 ? a ^ (1 << i) : (a ^ (1 << i)) & 0xffff;
}

/** BT on a 64-bit value; BTS/BTR/BTC with `op` 1/2/3 return the new low word (high in OUT_HI). */
export function bt64(r: RegFile, aLo: number, aHi: number, offset: number, op: 0 | 1 | 2 | 3): number {
  const i = offset & 63;
  const word = i < 32 ? aLo : aHi;
  const m = 1 << (i & 31);
  setCF(r, (word >>> (i & 31)) & 1);
  const nw = op === 1 ? word | m : op === 2 ? word & ~m : op === 3 ? word ^ m : word;
  if (i < 32) {
    r[OUT_HI] = aHi;
    return nw;
  }
  r[OUT_HI] = nw;
  return aLo;
}

// ---- bit scans -----------------------------------------------------------------------------

function flagsZeroSource(r: RegFile, zero: boolean, index: number): void {
  // ZF = source was zero. CF/OF/SF/AF/PF are undefined in the SDM; we produce what Intel
  // silicon was measured to give: CF=OF=SF=AF=0 and PF = parity of the index (of 0 for a
  // zero source). A nonzero high word keeps ZF=0 when the index is 0.
  r[LF_RES_LO] = zero ? 0 : index;
  r[LF_RES_HI] = !zero && index === 0 ? 1 : 0;
  r[LF_AUX] = 0;
}

/**
 * BSF: index of the lowest set bit. With a zero source ZF=1 and `dest` is returned: the
 * interpreter should then skip the register write altogether — Intel silicon (measured) keeps
 * all 64 bits of the destination, as AMD documents, even for a 32-bit operand.
 */
export function bsf(r: RegFile, bits: number, dest: number, src: number): number {
  const s = bits === 32 ? src : src & 0xffff;
  const index = 31 - Math.clz32(s & -s);
  flagsZeroSource(r, s === 0, index);
  return s === 0 ? dest : index;
}
export function bsr(r: RegFile, bits: number, dest: number, src: number): number {
  const s = bits === 32 ? src : src & 0xffff;
  const index = 31 - Math.clz32(s);
  flagsZeroSource(r, s === 0, index);
  return s === 0 ? dest : index;
}
/** 64-bit BSF/BSR return the index (high word 0 in OUT_HI), or `dest` for a zero source. */
export function bsf64(r: RegFile, destLo: number, destHi: number, lo: number, hi: number): number {
  const zero = (lo | hi) === 0;
  const index = lo !== 0 ? 31 - Math.clz32(lo & -lo) : 63 - Math.clz32(hi & -hi);
  flagsZeroSource(r, zero, index);
  r[OUT_HI] = zero ? destHi : 0;
  return zero ? destLo : index;
}
export function bsr64(r: RegFile, destLo: number, destHi: number, lo: number, hi: number): number {
  const zero = (lo | hi) === 0;
  const index = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
  flagsZeroSource(r, zero, index);
  r[OUT_HI] = zero ? destHi : 0;
  return zero ? destLo : index;
}

function countFlags(r: RegFile, count: number, srcZero: boolean): void {
  // TZCNT/LZCNT: CF = source was zero, ZF = result is zero; OF/SF/AF/PF are undefined in
  // the SDM and measured 0 on Intel silicon (the parity delta forces PF=0).
  const cf = srcZero ? 1 : 0;
  r[LF_RES_LO] = count;
  r[LF_RES_HI] = 0;
  r[LF_AUX] = (cf << 31) | (cf << 30) | (PARITY[count] << 8);
}

export function tzcnt(r: RegFile, bits: number, src: number): number {
  const s = bits === 32 ? src : src & 0xffff;
  const n = s === 0 ? bits : 31 - Math.clz32(s & -s);
  countFlags(r, n, s === 0);
  return n;
}
export function lzcnt(r: RegFile, bits: number, src: number): number {
  const s = bits === 32 ? src : src & 0xffff;
  const n = Math.clz32(s) - (32 - bits);
  countFlags(r, n, s === 0);
  return n;
}
export function tzcnt64(r: RegFile, lo: number, hi: number): number {
  const n = lo !== 0 ? 31 - Math.clz32(lo & -lo) : hi !== 0 ? 63 - Math.clz32(hi & -hi) : 64;
  countFlags(r, n, (lo | hi) === 0);
  r[OUT_HI] = 0;
  return n;
}
export function lzcnt64(r: RegFile, lo: number, hi: number): number {
  const n = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  countFlags(r, n, (lo | hi) === 0);
  r[OUT_HI] = 0;
  return n;
}

function popcount32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function popcntFlags(r: RegFile, n: number): void {
  // POPCNT clears OF/SF/AF/CF/PF and sets ZF for a zero source; the parity delta forces PF=0.
  r[LF_RES_LO] = n;
  r[LF_RES_HI] = 0;
  r[LF_AUX] = PARITY[n] << 8;
}

export function popcnt(r: RegFile, bits: number, src: number): number {
  const n = popcount32(bits === 32 ? src : src & 0xffff);
  popcntFlags(r, n);
  return n;
}
export function popcnt64(r: RegFile, lo: number, hi: number): number {
  const n = popcount32(lo) + popcount32(hi);
  popcntFlags(r, n);
  r[OUT_HI] = 0;
  return n;
}

// ---- BSWAP (no flags; the 16-bit form is undefined in the SDM and not provided) -----------

export function bswap32(v: number): number {
  return (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24) | 0;
}
/** BSWAP r64: returns the new low word, high word in OUT_HI. */
export function bswap64(r: RegFile, lo: number, hi: number): number {
  r[OUT_HI] = bswap32(lo);
  return bswap32(hi);
}

// ---- sign extensions (no flags) ------------------------------------------------------------

/** CBW: AL → AX. */
export function cbw(al: number): number {
  return ((al << 24) >> 24) & 0xffff;
}
/** CWDE: AX → EAX. */
export function cwde(ax: number): number {
  return (ax << 16) >> 16;
}
/** CDQE: EAX → RAX; returns the high word (the low word is EAX itself). */
export function cdqe(eax: number): number {
  return eax >> 31;
}
/** CWD: the new DX (sign of AX). */
export function cwd(ax: number): number {
  return (ax << 16) >> 31 ? 0xffff : 0;
}
/** CDQ: the new EDX. */
export function cdq(eax: number): number {
  return eax >> 31;
}
/** CQO: the new RDX, both halves equal to this value. */
export function cqo(raxHi: number): number {
  return raxHi >> 31;
}

// ---- CMPXCHG / XADD -------------------------------------------------------------------------

/**
 * CMPXCHG flag effect: flags of CMP accumulator, destination. Returns 1 when they are equal:
 * the caller then stores the source into the destination and leaves the accumulator
 * unwritten. Otherwise it loads the destination into the accumulator (a 32-bit load
 * zero-extends RAX) and — measured on silicon — a register destination keeps all 64 bits;
 * a memory destination is written back with its old value (SDM: locked write cycle).
 */
export function cmpxchg(r: RegFile, bits: number, acc: number, dest: number): number {
  if (bits === 32) sub32(r, acc, dest);
  else subByWidth(r, bits, acc, dest);
  return getZF(r);
}
export function cmpxchg64(r: RegFile, accLo: number, accHi: number, destLo: number, destHi: number): number {
  sub64(r, accLo, accHi, destLo, destHi);
  return getZF(r);
}

/** XADD: returns dest + src (flags of ADD); the caller stores the old dest into the source register. */
export function xadd(r: RegFile, bits: number, dest: number, src: number): number {
  return bits === 32 ? add32(r, dest, src) : addByWidth(r, bits, dest, src);
}
export function xadd64(r: RegFile, dLo: number, dHi: number, sLo: number, sHi: number): number {
  return add64(r, dLo, dHi, sLo, sHi);
}
