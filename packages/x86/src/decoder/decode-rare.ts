// Length-only decoding of the encodings the executor does not run: VEX/EVEX/XOP (AVX and
// later), x87 and AMD 3DNow!. Validity is modelled for x87 and 3DNow!; VEX/EVEX/XOP get their
// length from map and opcode (status ST_UNSUPPORTED) or ST_UD for impossible prefixes/maps.
import {
  PFX_LOCK,
  PFX_OPSIZE,
  PFX_REP,
  PFX_REPNE,
  R_ASZ,
  R_FORM,
  R_MODRM,
  R_NOPS,
  R_OP,
  R_OPCODE,
  R_OSZ,
  R_PFX,
  R_STATUS,
  ST_UD,
  ST_UNSUPPORTED,
} from "./record.js";
import { vex1Valid } from "./vex-map1.js";

// State shared by the helpers of the rare encodings (VEX/EVEX/XOP, x87, 3DNow!): one
// preallocated object. The common path (decodeInto) keeps its state in locals.
class DecoderState {
  code: Uint8Array = new Uint8Array(0);
  end = 0;
  /** read position */
  p = 0;
  mode = 64;
  pfx = 0;
  rex = 0;
  /** effective mandatory prefix: MP_66/F3/F2 or 0 */
  mp = 0;
  modrm = -1;
  /** the opcode byte (for +r register operands) */
  opbyte = 0;
  osz = 4;
  asz = 8;
  /** segment override or -1 */
  seg = -1;
}
const S = new DecoderState();

function byte(): number {
  const s = S;
  const b = s.p < s.end ? s.code[s.p] : 0;
  s.p++;
  return b;
}

function fail(out: Int32Array, o: number, status: number): number {
  const s = S;
  out[o + R_OP] = -1;
  out[o + R_FORM] = -1;
  out[o + R_NOPS] = 0;
  out[o + R_PFX] = s.pfx;
  out[o + R_OSZ] = s.osz;
  out[o + R_ASZ] = s.asz;
  return status;
}

// ---- encodings the executor does not run: length only ----

/** VEX (C4/C5), EVEX (62) and XOP (8F): length by map and opcode; status UNSUPPORTED. */
function decodeVexLength(out: Int32Array, o: number, lead: number): number {
  const s = S;
  if (s.pfx & (PFX_OPSIZE | PFX_REP | PFX_REPNE | PFX_LOCK) || s.rex !== 0) {
    return fail(out, o, ST_UD);
  }
  let map = 1;
  let vexPayload = 0; // the VEX byte holding vvvv, L and pp
  let rBar = 1; // VEX.R, stored inverted
  if (lead === 0xc5) {
    vexPayload = byte();
    rBar = vexPayload >>> 7;
  } else if (lead === 0x62) {
    const p0 = byte();
    byte();
    byte();
    map = p0 & 7;
  } else {
    const b1 = byte();
    map = b1 & 0x1f;
    rBar = b1 >>> 7;
    vexPayload = byte();
  }
  const op = byte();
  let imm = 0;
  let hasModrm = true;
  if (lead === 0x8f) {
    if (map === 8) imm = 1;
    else if (map === 10) imm = 4;
    else if (map !== 9) return fail(out, o, ST_UD);
  } else if (map === 1) {
    if (op === 0x77 && lead !== 0x62) hasModrm = false;
    if ((op >= 0x70 && op <= 0x73) || op === 0xc2 || op === 0xc4 || op === 0xc5 || op === 0xc6) imm = 1;
  } else if (map === 3) imm = 1;
  else if (map !== 2 && !(lead === 0x62 && (map === 5 || map === 6))) return fail(out, o, ST_UD);
  if (hasModrm) {
    s.modrm = byte();
    if (s.modrm >>> 6 !== 3) skipMemory();
  }
  s.p += imm;
  if ((lead === 0xc4 || lead === 0xc5) && map === 1) {
    const ok = vex1Valid(
      vexPayload & 3,
      op,
      hasModrm ? s.modrm : -1,
      (vexPayload >>> 3) & 15,
      (vexPayload >>> 2) & 1,
      rBar,
    );
    if (!ok) return fail(out, o, ST_UD);
  }
  return fail(out, o, ST_UNSUPPORTED);
}

/** Skips a ModRM memory operand's SIB and displacement (length-only decoding). */
function skipMemory(): void {
  const s = S;
  const mod = s.modrm >>> 6;
  const rm = s.modrm & 7;
  if (s.asz === 2) {
    if (mod === 0 && rm === 6) s.p += 2;
    else s.p += mod === 1 ? 1 : mod === 2 ? 2 : 0;
    return;
  }
  if (rm === 4) {
    const sib = byte();
    if ((sib & 7) === 5 && mod === 0) s.p += 4;
  } else if (rm === 5 && mod === 0) s.p += 4;
  s.p += mod === 1 ? 1 : mod === 2 ? 4 : 0;
}

// x87 register forms (ModRM C0-FF) that do not exist, per escape byte D8-DF: bit i of the
// 64-bit mask (as two words) set = ModRM C0+i undefined.
const X87_UD_LO = new Int32Array(8);
const X87_UD_HI = new Int32Array(8);
function x87Undefined(esc: number, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    const bit = i - 0xc0;
    if (bit < 32) X87_UD_LO[esc] |= 1 << bit;
    else X87_UD_HI[esc] |= 1 << (bit - 32);
  }
}
x87Undefined(1, 0xd1, 0xd7);
x87Undefined(1, 0xe2, 0xe3);
x87Undefined(1, 0xe6, 0xe7);
x87Undefined(1, 0xef, 0xef);
x87Undefined(2, 0xe0, 0xe8);
x87Undefined(2, 0xea, 0xff);
x87Undefined(3, 0xe5, 0xe7);
x87Undefined(3, 0xf8, 0xff);
x87Undefined(5, 0xf0, 0xff);
x87Undefined(6, 0xd8, 0xd8);
x87Undefined(6, 0xda, 0xdf);
x87Undefined(7, 0xe1, 0xe7);
x87Undefined(7, 0xf8, 0xff);
// memory forms that do not exist: D9 /1, DB /4, DB /6, DD /5
const X87_MEM_UD = [0, 1 << 1, 0, (1 << 4) | (1 << 6), 0, 1 << 5, 0, 0];

/** x87 escape (D8-DF): length and validity; status UNSUPPORTED (no x87 in the executor). */
function decodeX87(out: Int32Array, o: number, esc: number): number {
  const s = S;
  s.modrm = byte();
  out[o + R_MODRM] = s.modrm;
  const e = esc - 0xd8;
  if (s.modrm >>> 6 === 3) {
    const bit = s.modrm - 0xc0;
    const ud = bit < 32 ? (X87_UD_LO[e] >>> bit) & 1 : (X87_UD_HI[e] >>> (bit - 32)) & 1;
    if (ud || s.pfx & PFX_LOCK) return fail(out, o, ST_UD);
  } else {
    skipMemory();
    if ((X87_MEM_UD[e] >>> ((s.modrm >>> 3) & 7)) & 1 || s.pfx & PFX_LOCK) return fail(out, o, ST_UD);
  }
  return fail(out, o, ST_UNSUPPORTED);
}

// 3DNow! (0F 0F /r ib): the suffix byte selects the operation (AMD set; the Cyrix-only
// PFRCPV/PFRSQRTV suffixes 86/87 are not included).
const AMD3DNOW = new Uint8Array(256);
for (const x of [
  0x0c, 0x0d, 0x1c, 0x1d, 0x8a, 0x8e, 0x90, 0x94, 0x96, 0x97, 0x9a, 0x9e, 0xa0, 0xa4, 0xa6, 0xa7, 0xaa, 0xae,
  0xb0, 0xb4, 0xb6, 0xb7, 0xbb, 0xbf,
]) {
  AMD3DNOW[x] = 1;
}

function decode3dnow(out: Int32Array, o: number): number {
  const s = S;
  s.modrm = byte();
  out[o + R_MODRM] = s.modrm;
  if (s.modrm >>> 6 !== 3) skipMemory();
  const suffix = byte();
  if (AMD3DNOW[suffix] === 0 || s.pfx & PFX_LOCK) return fail(out, o, ST_UD);
  return fail(out, o, ST_UNSUPPORTED);
}

/**
 * VEX/EVEX/XOP, x87 and 3DNow! encodings, from the byte after the lead/escape byte at `p`:
 * writes the record's status (ST_UNSUPPORTED or ST_UD) and returns the position after the
 * instruction.
 */
export function decodeRare(
  bytes: Uint8Array,
  lim: number,
  p: number,
  mode: number,
  pfx: number,
  rex: number,
  seg: number,
  mp: number,
  asz: number,
  map: number,
  b: number,
  out: Int32Array,
  o: number,
): number {
  const s = S;
  s.code = bytes;
  s.end = lim;
  s.p = p;
  s.mode = mode;
  s.pfx = pfx;
  s.rex = rex;
  s.seg = seg;
  s.mp = mp;
  s.asz = asz;
  s.osz = mode === 16 ? 2 : 4;
  s.modrm = -1;
  let status: number;
  if (map === 1) {
    out[o + R_OPCODE] = 0x10f;
    status = decode3dnow(out, o);
  } else {
    out[o + R_OPCODE] = b;
    status = b >= 0xd8 && b <= 0xdf ? decodeX87(out, o, b) : decodeVexLength(out, o, b);
  }
  out[o + R_STATUS] = status;
  return s.p;
}
