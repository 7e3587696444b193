// ADD/ADC/SUB/SBB/AND/OR/XOR/CMP/TEST/INC/DEC/NEG/NOT for 8/16/32/64-bit operands.
//
// Calling convention (the interpreter's, see EXEC.md): 8/16-bit helpers take operands whose
// high bits may be garbage and return the result masked to the width (the caller merges it
// into the destination); 32-bit helpers return an int32; 64-bit helpers take lo/hi pairs,
// return the low word and leave the high word in r[OUT_HI]. All of them record the lazy flags.
// CMP is SUB and TEST is AND with the result discarded.

import { getCF, setResult } from "./flags.js";
import { LF_AUX, LF_RES_HI, LF_RES_LO, OUT_HI, type RegFile } from "./regs.js";

const MASK = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0xffff];

function recordN(r: RegFile, bits: number, res: number, carries: number): void {
  const s = 32 - bits;
  const v = (res << s) >> s;
  r[LF_RES_LO] = v;
  r[LF_RES_HI] = v >> 31;
  r[LF_AUX] = ((carries << s) & 0xc0000000) | (carries & 8);
}

function record64(r: RegFile, resLo: number, resHi: number, carriesLo: number, carriesHi: number): void {
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = (carriesHi & 0xc0000000) | (carriesLo & 8);
}

function recordLogic(r: RegFile, resLo: number, resHi: number): void {
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = 0; // CF = OF = 0; AF is undefined and reads 0 here
}

// ---- add / adc --------------------------------------------------------------------------

function addN(r: RegFile, a: number, b: number, cin: number, bits: number): number {
  const m = MASK[bits];
  a &= m;
  b &= m;
  const res = (a + b + cin) & m;
  recordN(r, bits, res, (a & b) | ((a | b) & ~res));
  return res;
}

export function add8(r: RegFile, a: number, b: number): number {
  return addN(r, a, b, 0, 8);
}
export function add16(r: RegFile, a: number, b: number): number {
  return addN(r, a, b, 0, 16);
}
export function add32(r: RegFile, a: number, b: number): number {
  const res = (a + b) | 0;
  r[LF_RES_LO] = res;
  r[LF_RES_HI] = res >> 31;
  r[LF_AUX] = ((a & b) | ((a | b) & ~res)) & 0xc0000008;
  return res;
}
export function add64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const resLo = (aLo + bLo) | 0;
  const carry = resLo >>> 0 < aLo >>> 0 ? 1 : 0;
  const resHi = (aHi + bHi + carry) | 0;
  record64(r, resLo, resHi, (aLo & bLo) | ((aLo | bLo) & ~resLo), (aHi & bHi) | ((aHi | bHi) & ~resHi));
  r[OUT_HI] = resHi;
  return resLo;
}

export function adc8(r: RegFile, a: number, b: number): number {
  return addN(r, a, b, getCF(r), 8);
}
export function adc16(r: RegFile, a: number, b: number): number {
  return addN(r, a, b, getCF(r), 16);
}
export function adc32(r: RegFile, a: number, b: number): number {
  const res = (a + b + getCF(r)) | 0;
  r[LF_RES_LO] = res;
  r[LF_RES_HI] = res >> 31;
  r[LF_AUX] = ((a & b) | ((a | b) & ~res)) & 0xc0000008;
  return res;
}
export function adc64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const cin = getCF(r);
  const sum = (aLo >>> 0) + (bLo >>> 0) + cin;
  const resLo = sum | 0;
  const carry = sum > 0xffffffff ? 1 : 0;
  const resHi = (aHi + bHi + carry) | 0;
  record64(r, resLo, resHi, (aLo & bLo) | ((aLo | bLo) & ~resLo), (aHi & bHi) | ((aHi | bHi) & ~resHi));
  r[OUT_HI] = resHi;
  return resLo;
}

// ---- sub / sbb / cmp / neg --------------------------------------------------------------
// Borrow-out vector: bit i is the borrow out of bit i, (~a & b) | ((~a | b) & res).

function subN(r: RegFile, a: number, b: number, bin: number, bits: number): number {
  const m = MASK[bits];
  a &= m;
  b &= m;
  const res = (a - b - bin) & m;
  recordN(r, bits, res, (~a & b) | ((~a | b) & res));
  return res;
}

export function sub8(r: RegFile, a: number, b: number): number {
  return subN(r, a, b, 0, 8);
}
export function sub16(r: RegFile, a: number, b: number): number {
  return subN(r, a, b, 0, 16);
}
export function sub32(r: RegFile, a: number, b: number): number {
  const res = (a - b) | 0;
  r[LF_RES_LO] = res;
  r[LF_RES_HI] = res >> 31;
  r[LF_AUX] = ((~a & b) | ((~a | b) & res)) & 0xc0000008;
  return res;
}
export function sub64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const resLo = (aLo - bLo) | 0;
  const borrow = aLo >>> 0 < bLo >>> 0 ? 1 : 0;
  const resHi = (aHi - bHi - borrow) | 0;
  record64(r, resLo, resHi, (~aLo & bLo) | ((~aLo | bLo) & resLo), (~aHi & bHi) | ((~aHi | bHi) & resHi));
  r[OUT_HI] = resHi;
  return resLo;
}

export function sbb8(r: RegFile, a: number, b: number): number {
  return subN(r, a, b, getCF(r), 8);
}
export function sbb16(r: RegFile, a: number, b: number): number {
  return subN(r, a, b, getCF(r), 16);
}
export function sbb32(r: RegFile, a: number, b: number): number {
  const res = (a - b - getCF(r)) | 0;
  r[LF_RES_LO] = res;
  r[LF_RES_HI] = res >> 31;
  r[LF_AUX] = ((~a & b) | ((~a | b) & res)) & 0xc0000008;
  return res;
}
export function sbb64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const bin = getCF(r);
  const diff = (aLo >>> 0) - (bLo >>> 0) - bin;
  const resLo = diff | 0;
  const borrow = diff < 0 ? 1 : 0;
  const resHi = (aHi - bHi - borrow) | 0;
  record64(r, resLo, resHi, (~aLo & bLo) | ((~aLo | bLo) & resLo), (~aHi & bHi) | ((~aHi | bHi) & resHi));
  r[OUT_HI] = resHi;
  return resLo;
}

export const cmp8 = sub8;
export const cmp16 = sub16;
export const cmp32 = sub32;
export const cmp64 = sub64;

export function neg8(r: RegFile, a: number): number {
  return subN(r, 0, a, 0, 8);
}
export function neg16(r: RegFile, a: number): number {
  return subN(r, 0, a, 0, 16);
}
export function neg32(r: RegFile, a: number): number {
  return sub32(r, 0, a);
}
export function neg64(r: RegFile, aLo: number, aHi: number): number {
  return sub64(r, 0, 0, aLo, aHi);
}

// ---- logic ------------------------------------------------------------------------------

function logicN(r: RegFile, res: number, bits: number): number {
  const s = 32 - bits;
  const v = (res << s) >> s;
  recordLogic(r, v, v >> 31);
  return res & MASK[bits];
}

export function and8(r: RegFile, a: number, b: number): number {
  return logicN(r, a & b, 8);
}
export function and16(r: RegFile, a: number, b: number): number {
  return logicN(r, a & b, 16);
}
export function and32(r: RegFile, a: number, b: number): number {
  const res = a & b;
  recordLogic(r, res, res >> 31);
  return res;
}
export function and64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const resLo = aLo & bLo;
  const resHi = aHi & bHi;
  recordLogic(r, resLo, resHi);
  r[OUT_HI] = resHi;
  return resLo;
}
export function or8(r: RegFile, a: number, b: number): number {
  return logicN(r, a | b, 8);
}
export function or16(r: RegFile, a: number, b: number): number {
  return logicN(r, a | b, 16);
}
export function or32(r: RegFile, a: number, b: number): number {
  const res = a | b;
  recordLogic(r, res, res >> 31);
  return res;
}
export function or64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const resLo = aLo | bLo;
  const resHi = aHi | bHi;
  recordLogic(r, resLo, resHi);
  r[OUT_HI] = resHi;
  return resLo;
}
export function xor8(r: RegFile, a: number, b: number): number {
  return logicN(r, a ^ b, 8);
}
export function xor16(r: RegFile, a: number, b: number): number {
  return logicN(r, a ^ b, 16);
}
export function xor32(r: RegFile, a: number, b: number): number {
  const res = a ^ b;
  recordLogic(r, res, res >> 31);
  return res;
}
export function xor64(r: RegFile, aLo: number, aHi: number, bLo: number, bHi: number): number {
  const resLo = aLo ^ bLo;
  const resHi = aHi ^ bHi;
  recordLogic(r, resLo, resHi);
  r[OUT_HI] = resHi;
  return resLo;
}

export const test8 = and8;
export const test16 = and16;
export const test32 = and32;
export const test64 = and64;

/** NOT changes no flags. */
export function not8(a: number): number {
  return ~a & 0xff;
}
export function not16(a: number): number {
  return ~a & 0xffff;
}
export function not32(a: number): number {
  return ~a;
}
export function not64(r: RegFile, aLo: number, aHi: number): number {
  r[OUT_HI] = ~aHi;
  return ~aLo;
}

// ---- inc / dec: CF is preserved ----------------------------------------------------------

function incDecRecord(r: RegFile, bits: number, res: number, of: number, af: number): void {
  const cf = r[LF_AUX] >>> 31;
  setResult(r, bits, res, cf, of, af);
}

function incN(r: RegFile, a: number, bits: number): number {
  const m = MASK[bits];
  const res = (a + 1) & m;
  incDecRecord(r, bits, res, res === (m >>> 1) + 1 ? 1 : 0, (res & 0xf) === 0 ? 1 : 0);
  return res;
}
function decN(r: RegFile, a: number, bits: number): number {
  const m = MASK[bits];
  const res = (a - 1) & m;
  incDecRecord(r, bits, res, res === m >>> 1 ? 1 : 0, (res & 0xf) === 0xf ? 1 : 0);
  return res;
}

export function inc8(r: RegFile, a: number): number {
  return incN(r, a, 8);
}
export function inc16(r: RegFile, a: number): number {
  return incN(r, a, 16);
}
export function inc32(r: RegFile, a: number): number {
  const res = (a + 1) | 0;
  incDecRecord(r, 32, res, res === -0x80000000 ? 1 : 0, (res & 0xf) === 0 ? 1 : 0);
  return res;
}
export function inc64(r: RegFile, aLo: number, aHi: number): number {
  const resLo = (aLo + 1) | 0;
  const resHi = resLo === 0 ? (aHi + 1) | 0 : aHi;
  const cf = r[LF_AUX] >>> 31;
  const of = resHi === -0x80000000 && resLo === 0 ? 1 : 0;
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = (cf << 31) | ((cf ^ of) << 30) | ((resLo & 0xf) === 0 ? 8 : 0);
  r[OUT_HI] = resHi;
  return resLo;
}
export function dec8(r: RegFile, a: number): number {
  return decN(r, a, 8);
}
export function dec16(r: RegFile, a: number): number {
  return decN(r, a, 16);
}
export function dec32(r: RegFile, a: number): number {
  const res = (a - 1) | 0;
  incDecRecord(r, 32, res, res === 0x7fffffff ? 1 : 0, (res & 0xf) === 0xf ? 1 : 0);
  return res;
}
export function dec64(r: RegFile, aLo: number, aHi: number): number {
  const resLo = (aLo - 1) | 0;
  const resHi = resLo === -1 ? (aHi - 1) | 0 : aHi;
  const cf = r[LF_AUX] >>> 31;
  const of = resHi === 0x7fffffff && resLo === -1 ? 1 : 0;
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = (cf << 31) | ((cf ^ of) << 30) | ((resLo & 0xf) === 0xf ? 8 : 0);
  r[OUT_HI] = resHi;
  return resLo;
}
