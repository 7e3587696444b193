// Lazy arithmetic flags, carry-out-vector style (the technique Bochs documents): an ALU op
// stores its result sign-extended to 64 bits (LF_RES_LO/HI) and one 32-bit "aux" word:
//   bit 31      CF
//   bit 30      CF ^ OF  (so OF = bit31 ^ bit30)
//   bit 3       AF
//   bits 8..15  parity delta: PF is the parity of (result byte ^ delta)
//   bit 0       sign delta: SF = sign(result) ^ delta
// ZF is "result == 0". Every ALU op writes three int32 slots and no op kind, and reading
// a flag is a couple of bit operations. The deltas only serve to encode an arbitrary
// flags image (POPF, SAHF, partial writers) in the same record.

import { FLAGS_REST, LF_AUX, LF_RES_HI, LF_RES_LO, type RegFile } from "./regs.js";

export const CF = 1 << 0;
export const PF = 1 << 2;
export const AF = 1 << 4;
export const ZF = 1 << 6;
export const SF = 1 << 7;
export const TF = 1 << 8;
export const IF = 1 << 9;
export const DF = 1 << 10;
export const OF = 1 << 11;
export const IOPL = 3 << 12;
export const NT = 1 << 14;
export const RF = 1 << 16;
export const VM = 1 << 17;
export const AC = 1 << 18;
export const VIF = 1 << 19;
export const VIP = 1 << 20;
export const ID = 1 << 21;
/** The six arithmetic flags held lazily. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
/** Bit 1 of RFLAGS always reads 1. */
export const RFLAGS_FIXED1 = 1 << 1;
/** Bits software can change (everything else is reserved and reads as 0, bit 1 as 1). */
export const RFLAGS_WRITABLE = ARITH_FLAGS | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;

/** PARITY[b] is 1 when byte b has an even number of set bits (the PF rule). */
export const PARITY: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    let v = b;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    t[b] = (v & 1) ^ 1;
  }
  return t;
})();

export function getCF(r: RegFile): number {
  return r[LF_AUX] >>> 31;
}
export function getOF(r: RegFile): number {
  const a = r[LF_AUX];
  return ((a >>> 31) ^ (a >>> 30)) & 1;
}
export function getAF(r: RegFile): number {
  return (r[LF_AUX] >>> 3) & 1;
}
export function getZF(r: RegFile): number {
  return (r[LF_RES_LO] | r[LF_RES_HI]) === 0 ? 1 : 0;
}
export function getSF(r: RegFile): number {
  return ((r[LF_RES_HI] >>> 31) ^ r[LF_AUX]) & 1;
}
export function getPF(r: RegFile): number {
  return PARITY[(r[LF_RES_LO] ^ (r[LF_AUX] >>> 8)) & 0xff];
}

/** The six arithmetic flags as an RFLAGS image (other bits 0). */
export function arithFlags(r: RegFile): number {
  return getCF(r) | (getPF(r) << 2) | (getAF(r) << 4) | (getZF(r) << 6) | (getSF(r) << 7) | (getOF(r) << 11);
}

/** Load the lazy record so that it yields exactly the arithmetic flags of `f`. */
export function setArithFlags(r: RegFile, f: number): void {
  const cf = f & 1;
  const pf = (f >>> 2) & 1;
  const af = (f >>> 4) & 1;
  const zf = (f >>> 6) & 1;
  const sf = (f >>> 7) & 1;
  const of = (f >>> 11) & 1;
  let resLo: number;
  let resHi: number;
  let signDelta = 0;
  if (zf) {
    resLo = 0;
    resHi = 0;
    signDelta = sf; // ZF=1 with SF=1 only exists through POPF; the delta carries it
  } else {
    resLo = 1; // nonzero, parity odd
    resHi = sf ? -1 : 0;
  }
  const parityDelta = PARITY[resLo & 0xff] === pf ? 0 : 1;
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = (cf << 31) | ((cf ^ of) << 30) | (af << 3) | (parityDelta << 8) | signDelta;
}

/** Full RFLAGS as a 32-bit value (bits 63:32 are reserved zero). */
export function readRflags(r: RegFile): number {
  return (r[FLAGS_REST] | arithFlags(r) | RFLAGS_FIXED1) >>> 0;
}

/** Write RFLAGS; reserved bits are dropped, bit 1 forced. Privilege rules (IOPL, IF, VM) are the caller's. */
export function writeRflags(r: RegFile, f: number): void {
  setArithFlags(r, f);
  r[FLAGS_REST] = (f & RFLAGS_WRITABLE & ~ARITH_FLAGS) | RFLAGS_FIXED1;
}

/** Set CF only (CLC/STC/CMC, BT...): OF, and the result-derived flags, keep their values. */
export function setCF(r: RegFile, cf: number): void {
  const a = r[LF_AUX];
  const of = ((a >>> 31) ^ (a >>> 30)) & 1;
  r[LF_AUX] = (a & 0x3fffffff) | (cf << 31) | ((cf ^ of) << 30);
}

/** Set CF and OF, leave the rest (used by multiply and shifts after they stored their result). */
export function setCFOF(r: RegFile, cf: number, of: number): void {
  r[LF_AUX] = (r[LF_AUX] & 0x3fffffff) | (cf << 31) | ((cf ^ of) << 30);
}

/** Record a result of `bits` width with CF/OF/AF given (shifts, multiplies, logic ops). */
export function setResult(r: RegFile, bits: number, res: number, cf: number, of: number, af: number): void {
  const s = 32 - bits;
  const v = (res << s) >> s;
  r[LF_RES_LO] = v;
  r[LF_RES_HI] = v >> 31;
  r[LF_AUX] = (cf << 31) | ((cf ^ of) << 30) | (af << 3);
}

/** Same for a 64-bit result. */
export function setResult64(
  r: RegFile,
  resLo: number,
  resHi: number,
  cf: number,
  of: number,
  af: number,
): void {
  r[LF_RES_LO] = resLo;
  r[LF_RES_HI] = resHi;
  r[LF_AUX] = (cf << 31) | ((cf ^ of) << 30) | (af << 3);
}

// Condition codes in opcode order (the low nibble of Jcc/SETcc/CMOVcc).
export const CC_O = 0;
export const CC_NO = 1;
export const CC_B = 2;
export const CC_AE = 3;
export const CC_E = 4;
export const CC_NE = 5;
export const CC_BE = 6;
export const CC_A = 7;
export const CC_S = 8;
export const CC_NS = 9;
export const CC_P = 10;
export const CC_NP = 11;
export const CC_L = 12;
export const CC_GE = 13;
export const CC_LE = 14;
export const CC_G = 15;

/** Evaluate condition `cc` (0..15) against the lazy flags: 1 when it holds. */
export function testCondition(r: RegFile, cc: number): number {
  let v: number;
  switch (cc >>> 1) {
    case 0:
      v = getOF(r);
      break;
    case 1:
      v = getCF(r);
      break;
    case 2:
      v = getZF(r);
      break;
    case 3:
      v = getCF(r) | getZF(r);
      break;
    case 4:
      v = getSF(r);
      break;
    case 5:
      v = getPF(r);
      break;
    case 6:
      v = getSF(r) ^ getOF(r);
      break;
    default:
      v = getZF(r) | (getSF(r) ^ getOF(r));
      break;
  }
  return v ^ (cc & 1);
}
