// The x86 decoder: bytes + code mode → one decoded record (see record.ts). Never throws.
// Hot path; kept as a few small functions so V8 optimises each of them. Constants and tables
// are copied into module-local bindings (the destructuring below): V8 reads those faster than
// imported bindings, measured 12.5 → 15+ M instructions/s.
import * as forms from "../isa/forms.js";

const {
  FL_A16,
  FL_A32,
  FL_A64,
  FL_I64,
  FL_LOCK,
  FL_MODREG,
  FL_NREXB,
  FL_O64,
  FL_UNSUP,
  MP_66,
  MP_ANY,
  MP_F2,
  MP_F3,
  MP_NP,
} = forms;

import * as kinds from "../isa/operand-kinds.js";

const {
  CLS_CR,
  CLS_DR,
  CLS_GPR,
  CLS_GPR8H,
  CLS_SEG,
  LOC_FAR,
  LOC_FIXED,
  LOC_IMM,
  LOC_MOFFS,
  LOC_ONE,
  LOC_OPREG,
  LOC_REG,
  LOC_REL,
  LOC_RM,
  LOC_STR,
  SZ_A,
  SZ_B,
  SZ_DT,
  SZ_P,
  SZ_V,
  SZ_Y,
  SZ_Z,
} = kinds;

import * as rec from "./record.js";

const {
  OK_FAR,
  OK_IMM,
  OK_IMM2,
  OK_MEM,
  OK_REG,
  OK_REL,
  OK_STR,
  PFX_ADDRSIZE,
  PFX_LOCK,
  PFX_OPSIZE,
  PFX_REP,
  PFX_REPNE,
  PFX_REX,
  R_ASZ,
  R_DISP_HI,
  R_DISP_LO,
  R_FORM,
  R_IMM_LO,
  R_IMM2,
  R_LEN,
  R_MBASE,
  R_MINDEX,
  R_MODRM,
  R_MSCALE,
  R_MSEG,
  R_NOPS,
  R_OP,
  R_OP0,
  R_OPCODE,
  R_OSZ,
  R_PFX,
  R_SEG,
  R_STATUS,
  REG_RIP,
  SEG_DS,
  SEG_SS,
  ST_GP,
  ST_OK,
  ST_TRUNCATED,
  ST_UD,
  ST_UNSUPPORTED,
} = rec;

import * as tables from "./tables.js";

const {
  F_CHECK,
  F_FIXED,
  F_FLAGS,
  F_KIND,
  F_MODREQ,
  F_MP,
  F_NOPS,
  F_OP,
  F_OSREQ,
  F_OSZRULE,
  F_W,
  K_CLS,
  K_FIXED,
  K_IMMSIZE,
  K_LOC,
  K_MEMSIZE,
  K_SIGNED,
  K_SIZE,
  REG_COUNT,
  REG_LIST,
  REG_START,
  SLOT_COUNT,
  SLOT_LIST,
  SLOT_MODRM,
  SLOT_START,
} = tables;

// Prefix byte classes: 0 = not a prefix, 1 = 66, 2 = 67, 3 = F2, 4 = F3, 5 = F0, 6.. = segment.
const PREFIX = new Uint8Array(256);
PREFIX[0x66] = 1;
PREFIX[0x67] = 2;
PREFIX[0xf2] = 3;
PREFIX[0xf3] = 4;
PREFIX[0xf0] = 5;
PREFIX[0x26] = 6;
PREFIX[0x2e] = 7;
PREFIX[0x36] = 8;
PREFIX[0x3e] = 9;
PREFIX[0x64] = 10;
PREFIX[0x65] = 11;

// Decoder state shared by the helpers of one decode() call: one preallocated object (V8 keeps
// its fields in-object; measured faster than module-level variables, which live in a context).
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

/**
 * Decodes one instruction at bytes[pos] (bytes up to `limit`, exclusive) in the given code
 * mode (16, 32 or 64) into out[o … o + RECORD_STRIDE). Returns the length (also in out[o + R_LEN]).
 */
export function decodeInto(
  bytes: Uint8Array,
  pos: number,
  limit: number,
  codeMode: number,
  out: Int32Array,
  o: number,
): number {
  const s = S;
  s.code = bytes;
  const lim = Math.min(limit, bytes.length);
  s.end = lim;
  s.mode = codeMode;
  let q = pos;
  let b = q < lim ? bytes[q] : 0;
  let rx = 0;
  if (codeMode === 64 && (b & 0xf0) === 0x40) {
    rx = b;
    q++;
    b = q < lim ? bytes[q] : 0;
  }
  let slot = b;
  if (b === 0x0f) {
    const b2 = q + 1 < lim ? bytes[q + 1] : 0;
    slot = b2 === 0x38 || b2 === 0x3a || b2 === 0x0f ? 0x0f : 0x100 | b2;
  }
  let status: number;
  if (PREFIX[b] === 0 && SLOT_FAST[slot] === 1 && !(codeMode === 64 && (b & 0xf0) === 0x40)) {
    // fast path: at most a REX prefix, then a 1-byte or 0F-map opcode (most instructions)
    s.pfx = rx === 0 ? 0 : PFX_REX | ((rx & 15) << 6);
    s.rex = rx;
    s.seg = -1;
    s.mp = 0;
    out[o + R_SEG] = -1;
    s.asz = codeMode === 64 ? 8 : codeMode === 32 ? 4 : 2;
    s.osz = codeMode === 16 ? 2 : 4;
    q += slot > 0xff ? 2 : 1;
    s.opbyte = slot & 0xff;
    out[o + R_OPCODE] = slot;
    let start = SLOT_START[slot];
    let count = SLOT_COUNT[slot];
    let list = SLOT_LIST;
    let m = -1;
    if (SLOT_MODRM[slot] === 1) {
      m = q < lim ? bytes[q] : 0;
      q++;
      const key = (slot << 3) | ((m >>> 3) & 7);
      start = REG_START[key];
      count = REG_COUNT[key];
      list = REG_LIST;
    }
    s.modrm = m;
    out[o + R_MODRM] = m;
    s.p = q;
    const form = count === 0 ? -1 : matchForm(list, start, count);
    status = form < 0 ? fail(out, o, ST_UD) : decodeOperands(out, o, form);
  } else {
    s.p = pos;
    readPrefixes(out, o);
    status = decodeBody(out, o);
  }
  let len = s.p - pos;
  if (s.p > lim) {
    status = ST_TRUNCATED;
    len = lim - pos;
  } else if (len > 15) status = ST_GP;
  out[o + R_STATUS] = status;
  out[o + R_LEN] = len;
  return len;
}

// Slots the fast path handles: 1-byte and 0F-map opcodes with forms, except the VEX/EVEX/XOP
// leads, x87 escapes, 3DNow! and the 0F 38 / 0F 3A escapes (slot 0x0F itself).
const SLOT_FAST = new Uint8Array(512);
for (let x = 0; x < 512; x++) SLOT_FAST[x] = tables.SLOT_COUNT[x] > 0 ? 1 : 0;
for (const x of [0x0f, 0xc4, 0xc5, 0x62, 0x8f, 0x10f]) SLOT_FAST[x] = 0;
for (let x = 0xd8; x <= 0xdf; x++) SLOT_FAST[x] = 0;

function readPrefixes(out: Int32Array, o: number): void {
  const s = S;
  s.pfx = 0;
  s.rex = 0;
  s.seg = -1;
  let rep = 0; // last of F2/F3
  const start = s.p;
  const first = s.p < s.end ? s.code[s.p] : 0;
  if (PREFIX[first] === 0 && !(s.mode === 64 && (first & 0xf0) === 0x40)) {
    // no prefixes (the common case)
    s.mp = 0;
    out[o + R_SEG] = -1;
    s.asz = s.mode === 64 ? 8 : s.mode === 32 ? 4 : 2;
    return;
  }
  while (s.p < s.end && s.p - start < 15) {
    const b = s.code[s.p];
    const k = PREFIX[b];
    if (k !== 0) {
      s.rex = 0; // a REX followed by a legacy prefix is ignored
      if (k === 1) s.pfx |= PFX_OPSIZE;
      else if (k === 2) s.pfx |= PFX_ADDRSIZE;
      else if (k === 3) rep = 3;
      else if (k === 4) rep = 4;
      else if (k === 5) s.pfx |= PFX_LOCK;
      else s.seg = k - 6;
      s.p++;
    } else if (s.mode === 64 && (b & 0xf0) === 0x40) {
      s.rex = b;
      s.p++;
    } else break;
  }
  if (rep === 3) s.pfx |= PFX_REPNE;
  else if (rep === 4) s.pfx |= PFX_REP;
  if (s.rex !== 0) s.pfx |= PFX_REX | ((s.rex & 15) << 6);
  s.mp = rep === 4 ? MP_F3 : rep === 3 ? MP_F2 : s.pfx & PFX_OPSIZE ? MP_66 : 0;
  out[o + R_SEG] = s.seg;
  if (s.mode === 64) s.asz = s.pfx & PFX_ADDRSIZE ? 4 : 8;
  else if (s.mode === 32) s.asz = s.pfx & PFX_ADDRSIZE ? 2 : 4;
  else s.asz = s.pfx & PFX_ADDRSIZE ? 4 : 2;
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

function decodeBody(out: Int32Array, o: number): number {
  const s = S;
  let map = 0;
  let b = byte();
  s.modrm = -1;
  s.osz = s.mode === 16 ? 2 : 4;
  if (b === 0x0f) {
    b = byte();
    map = 1;
    if (b === 0x38) {
      map = 2;
      b = byte();
    } else if (b === 0x3a) {
      map = 3;
      b = byte();
    } else if (b === 0x0f) {
      out[o + R_OPCODE] = 0x10f;
      return decode3dnow(out, o);
    }
  } else if (b === 0xc4 || b === 0xc5 || b === 0x62 || b === 0x8f) {
    const next = s.p < s.end ? s.code[s.p] : 0;
    const isVex = b === 0x8f ? (next & 0x1f) >= 8 : s.mode === 64 || (next & 0xc0) === 0xc0 || s.p >= s.end;
    if (isVex) {
      out[o + R_OPCODE] = b;
      return decodeVexLength(out, o, b);
    }
  } else if (b >= 0xd8 && b <= 0xdf) {
    out[o + R_OPCODE] = b;
    return decodeX87(out, o, b);
  }
  const slot = (map << 8) | b;
  s.opbyte = b;
  out[o + R_OPCODE] = slot;
  let count = SLOT_COUNT[slot];
  let start = SLOT_START[slot];
  let list = SLOT_LIST;
  if (SLOT_MODRM[slot] === 1) {
    s.modrm = byte();
    const key = (slot << 3) | ((s.modrm >>> 3) & 7);
    start = REG_START[key];
    count = REG_COUNT[key];
    list = REG_LIST;
  }
  out[o + R_MODRM] = s.modrm;
  if (count === 0) {
    if (map === 1 && s.modrm < 0 && NO_MODRM_UD_0F[b] === 0) s.modrm = byte(); // length as the CPU would fetch
    return fail(out, o, ST_UD);
  }
  const form = matchForm(list, start, count);
  if (form < 0) return fail(out, o, ST_UD);
  return decodeOperands(out, o, form);
}

// 0F opcodes without forms in the table: most would carry a ModRM byte. Only matters for the
// reported length of an #UD record; 1 = no ModRM.
const NO_MODRM_UD_0F = new Uint8Array(256);
for (const x of [0x04, 0x0a, 0x0c, 0x0e, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x77, 0xa6, 0xa7, 0xaa]) {
  NO_MODRM_UD_0F[x] = 1;
}

/** Operand size for a form's size rule (F_OSZRULE). */
function operandSize(rule: number): number {
  const s = S;
  const has66 = (s.pfx & PFX_OPSIZE) !== 0 && rule < 4;
  if (s.mode === 64) {
    const r = rule & 3;
    if (r === 2 || s.rex & 8) return 8;
    if (r === 1) return has66 ? 2 : 8;
    return has66 ? 2 : 4;
  }
  if (s.mode === 32) return has66 ? 2 : 4;
  return has66 ? 4 : 2;
}

function matchForm(list: Int32Array, start: number, count: number): number {
  const s = S;
  const mod = s.modrm >>> 6;
  for (let i = start; i < start + count; i++) {
    const f = list[i];
    const size = operandSize(F_OSZRULE[f]);
    if (F_CHECK[f] !== 0 && !formFits(f, mod, size)) continue;
    s.osz = size;
    const fmp = F_MP[f];
    if (fmp >= MP_66) {
      // the prefix selected the form: it is not a REP/REPNE/operand-size prefix
      if (fmp === MP_66) s.pfx &= ~PFX_OPSIZE;
      else s.pfx &= ~(PFX_REP | PFX_REPNE);
    }
    if (s.pfx & PFX_LOCK && (!(F_FLAGS[f] & FL_LOCK) || mod === 3)) return -1;
    return f;
  }
  return -1;
}

/** The checks of a form beyond its slot: mandatory prefix, REX.W, ModRM, S.mode, sizes. */
function formFits(f: number, mod: number, size: number): boolean {
  const s = S;
  const fmp = F_MP[f];
  if (fmp !== MP_ANY) {
    if (fmp === MP_NP) {
      if (s.mp !== 0) return false;
    } else if (fmp !== s.mp) return false;
  }
  const fw = F_W[f];
  if (fw >= 0 && fw !== ((s.rex >>> 3) & 1)) return false;
  if (s.modrm >= 0) {
    const fx = F_FIXED[f];
    if (fx >= 0 && fx !== s.modrm) return false;
    const mr = F_MODREQ[f];
    if (mr === 1 ? mod === 3 : mr === 2 && mod !== 3) return false;
  }
  const flags = F_FLAGS[f];
  if (flags & (FL_O64 | FL_I64 | FL_NREXB | FL_A16 | FL_A32 | FL_A64)) {
    if (flags & FL_O64 && s.mode !== 64) return false;
    if (flags & FL_I64 && s.mode === 64) return false;
    if (flags & FL_NREXB && s.rex & 1) return false;
    if (flags & FL_A16 && s.asz !== 2) return false;
    if (flags & FL_A32 && s.asz !== 4) return false;
    if (flags & FL_A64 && s.asz !== 8) return false;
  }
  const req = F_OSREQ[f];
  return req === 0 || (req & (size >>> 1)) !== 0;
}

/** Size rule → bytes: the operand-size rule inline (the common case), others via sizeOf. */
function sz(rule: number): number {
  const s = S;
  return rule === SZ_V ? s.osz : rule > 0 ? rule : sizeOf(rule);
}

/** Size rule → bytes for the current instruction (fixed sizes return at once). */
function sizeOf(rule: number): number {
  const s = S;
  if (rule >= 0) return rule;
  switch (rule) {
    case SZ_V:
      return s.osz;
    case SZ_Y:
      return s.osz === 8 ? 8 : 4;
    case SZ_Z:
      return s.osz === 2 ? 2 : 4;
    case SZ_P:
      return 2 + s.osz;
    case SZ_DT:
      return s.mode === 64 ? 10 : 6;
    case SZ_A:
      return s.asz;
    case SZ_B:
      return 2 * s.osz;
    default:
      return 0;
  }
}

/** Reads an immediate of `n` bytes into IMM (or DISP); returns false on a bad size. */
function readImm(out: Int32Array, slotLo: number, n: number, signed: boolean): void {
  let lo: number;
  let hi = 0;
  if (n === 1) {
    lo = byte();
    if (signed) lo = (lo << 24) >> 24;
  } else if (n === 2) {
    lo = byte() | (byte() << 8);
    if (signed) lo = (lo << 16) >> 16;
  } else {
    lo = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
    if (n === 8) hi = byte() | (byte() << 8) | (byte() << 16) | (byte() << 24);
    else if (signed) hi = lo >> 31;
    out[slotLo] = lo;
    out[slotLo + 1] = hi;
    return;
  }
  out[slotLo] = lo;
  out[slotLo + 1] = signed ? lo >> 31 : 0;
}

function decodeOperands(out: Int32Array, o: number, f: number): number {
  const s = S;
  const flags = F_FLAGS[f];
  const mod = flags & FL_MODREG ? 3 : s.modrm >>> 6;
  out[o + R_OP] = F_OP[f];
  out[o + R_FORM] = f;
  out[o + R_OSZ] = s.osz;
  out[o + R_ASZ] = s.asz;
  // memory and immediate slots are written only when the instruction has them (record.ts)
  if (s.modrm >= 0 && mod !== 3) decodeMemory(out, o);
  const n = F_NOPS[f];
  out[o + R_NOPS] = n;
  let immSeen = 0;
  for (let i = 0; i < n; i++) {
    const k = F_KIND[f * 4 + i];
    const loc = K_LOC[k];
    let v: number;
    if (K_CLS[k] === CLS_GPR && (loc === LOC_REG || (loc === LOC_RM && mod === 3))) {
      // general-purpose register operands, the common case, without the generic switch
      const num =
        loc === LOC_REG ? ((s.modrm >>> 3) & 7) | ((s.rex & 4) << 1) : (s.modrm & 7) | ((s.rex & 1) << 3);
      const size = sz(K_SIZE[k]);
      v =
        size === 1 && s.rex === 0 && num >= 4
          ? OK_REG | (CLS_GPR8H << 4) | ((num - 4) << 8) | (1 << 16)
          : OK_REG | (CLS_GPR << 4) | (num << 8) | (size << 16);
    } else {
      v = decodeOperand(out, o, k, mod, immSeen);
      if (v < 0) return fail(out, o, ST_UD);
      if (loc === LOC_IMM || loc === LOC_REL || loc === LOC_FAR) immSeen++;
    }
    out[o + R_OP0 + i] = v;
  }
  out[o + R_PFX] = s.pfx;
  // forms the executor does not run (SHA, SVM…) are fully decoded but marked unsupported
  return flags & FL_UNSUP ? ST_UNSUPPORTED : ST_OK;
}

/** One operand → packed value (see record.ts), or -1 for an invalid register (#UD). */
function decodeOperand(out: Int32Array, o: number, k: number, mod: number, immSeen: number): number {
  const s = S;
  const loc = K_LOC[k];
  const cls = K_CLS[k];
  switch (loc) {
    case LOC_REG:
      if (cls === CLS_SEG && ((s.modrm >>> 3) & 7) === K_FIXED[k]) return -1;
      return regOperand(cls, ((s.modrm >>> 3) & 7) | ((s.rex & 4) << 1), sz(K_SIZE[k]));
    case LOC_RM:
      if (mod === 3) return regOperand(cls, (s.modrm & 7) | ((s.rex & 1) << 3), sz(K_SIZE[k]));
      return OK_MEM | (sz(K_MEMSIZE[k]) << 16);
    case LOC_OPREG:
      return regOperand(cls, (s.opbyte & 7) | ((s.rex & 1) << 3), sz(K_SIZE[k]));
    case LOC_FIXED:
      return (
        (cls === CLS_SEG ? OK_REG | (CLS_SEG << 4) : OK_REG | (CLS_GPR << 4)) |
        (K_FIXED[k] << 8) |
        (sizeOf(K_SIZE[k]) << 16)
      );
    case LOC_ONE:
      out[o + R_IMM_LO] = 1;
      return OK_IMM | (1 << 16);
    case LOC_IMM: {
      const n = sizeOf(K_IMMSIZE[k]);
      const size = sizeOf(K_SIZE[k]);
      if (immSeen === 0) {
        readImm(out, o + R_IMM_LO, n, K_SIGNED[k] === 1);
        return OK_IMM | (size << 16);
      }
      out[o + R_IMM2] = n === 1 ? byte() : byte() | (byte() << 8);
      return OK_IMM2 | (size << 16);
    }
    case LOC_REL:
      readImm(out, o + R_IMM_LO, sizeOf(K_IMMSIZE[k]), true);
      return OK_REL | (s.osz << 16);
    case LOC_FAR:
      readImm(out, o + R_IMM_LO, sizeOf(K_IMMSIZE[k]), false);
      out[o + R_IMM2] = byte() | (byte() << 8);
      return OK_FAR | (sizeOf(K_SIZE[k]) << 16);
    case LOC_MOFFS:
      out[o + R_MBASE] = -1;
      out[o + R_MINDEX] = -1;
      out[o + R_MSCALE] = 1;
      out[o + R_MSEG] = s.seg >= 0 ? s.seg : SEG_DS;
      readImm(out, o + R_DISP_LO, s.asz, false);
      return OK_MEM | (sizeOf(K_SIZE[k]) << 16);
    case LOC_STR:
      return OK_STR | (K_FIXED[k] << 8) | (sizeOf(K_SIZE[k]) << 16);
    default:
      return 0;
  }
}

function regOperand(cls: number, num: number, size: number): number {
  const s = S;
  if (cls === CLS_GPR) {
    if (size === 1 && s.rex === 0 && num >= 4 && num < 8)
      return OK_REG | (CLS_GPR8H << 4) | ((num - 4) << 8) | (1 << 16);
    return OK_REG | (CLS_GPR << 4) | (num << 8) | (size << 16);
  }
  if (cls === CLS_SEG) {
    if ((num & 7) > 5) return -1;
    num &= 7; // REX.R does not extend segment registers
  } else if (cls === CLS_CR) {
    // CR0, CR2, CR3, CR4, CR8 exist (CR1, CR5-7, CR9-15: #UD)
    if (!(num === 0 || num === 2 || num === 3 || num === 4 || num === 8)) return -1;
  } else if (cls === CLS_DR) {
    if (num > 7) return -1;
  } else if (cls === 7) {
    num &= 7; // MMX registers ignore REX
  }
  return OK_REG | (cls << 4) | (num << 8) | (size << 16);
}

const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

function decodeMemory(out: Int32Array, o: number): void {
  const s = S;
  const mod = s.modrm >>> 6;
  const rm = s.modrm & 7;
  let defSs = false;
  out[o + R_DISP_LO] = 0;
  out[o + R_DISP_HI] = 0;
  out[o + R_MSCALE] = 1;
  if (s.asz === 2) {
    let base = BASE16[rm];
    const index = INDEX16[rm];
    if (mod === 0 && rm === 6) {
      base = -1;
      readImm(out, o + R_DISP_LO, 2, false);
    } else if (mod === 1) readImm(out, o + R_DISP_LO, 1, true);
    else if (mod === 2) readImm(out, o + R_DISP_LO, 2, true);
    out[o + R_MBASE] = base;
    out[o + R_MINDEX] = index;
    defSs = base === 5;
  } else {
    let base = rm | ((s.rex & 1) << 3);
    let index = -1;
    let scale = 1;
    if (rm === 4) {
      const sib = byte();
      out[o + R_MODRM] = s.modrm | (sib << 8) | 0x10000;
      scale = 1 << (sib >>> 6);
      index = ((sib >>> 3) & 7) | ((s.rex & 2) << 2);
      if (index === 4) index = -1;
      base = (sib & 7) | ((s.rex & 1) << 3);
      if ((sib & 7) === 5 && mod === 0) {
        base = -1;
        readImm(out, o + R_DISP_LO, 4, true);
      }
    } else if (rm === 5 && mod === 0) {
      base = s.mode === 64 ? REG_RIP : -1;
      readImm(out, o + R_DISP_LO, 4, true);
    }
    if (mod === 1) readImm(out, o + R_DISP_LO, 1, true);
    else if (mod === 2) readImm(out, o + R_DISP_LO, 4, true);
    out[o + R_MBASE] = base;
    out[o + R_MINDEX] = index;
    out[o + R_MSCALE] = scale;
    defSs = base === 4 || base === 5;
  }
  out[o + R_MSEG] = s.seg >= 0 ? s.seg : defSs ? SEG_SS : SEG_DS;
}

// ---- encodings the executor does not run: length only ----

/** VEX (C4/C5), EVEX (62) and XOP (8F): length by map and opcode; status UNSUPPORTED. */
function decodeVexLength(out: Int32Array, o: number, lead: number): number {
  const s = S;
  if (s.pfx & (PFX_OPSIZE | PFX_REP | PFX_REPNE | PFX_LOCK) || s.rex !== 0) {
    return fail(out, o, ST_UD);
  }
  let map = 1;
  if (lead === 0xc5) byte();
  else if (lead === 0x62) {
    const p0 = byte();
    byte();
    byte();
    map = p0 & 7;
  } else {
    map = byte() & 0x1f;
    byte();
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
