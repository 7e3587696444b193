// The x86 decoder: bytes + code mode → one decoded record (see record.ts). Never throws.
// Hot path: decodeInto is one mid-sized function with its state in locals and small pure
// helpers (well under V8's optimisation limits). Constants and tables
// are copied into module-local bindings (the destructuring below): V8 reads those faster than
// imported bindings, measured 12.5 → 15+ M instructions/s.

import * as forms from "../isa/forms.js";
import { decodeRare } from "./decode-rare.js";

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
  R_IMM_HI,
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

// 0F opcodes without forms in the table: most would carry a ModRM byte. Only matters for the
// reported length of an #UD record; 1 = no ModRM.
const NO_MODRM_UD_0F = new Uint8Array(256);
for (const x of [0x04, 0x0a, 0x0c, 0x0e, 0x36, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x77, 0xa6, 0xa7, 0xaa]) {
  NO_MODRM_UD_0F[x] = 1;
}

const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

// ---- the decoder: one function with its state in locals (measured 1.3x faster than state
// shared through an object), plus small pure helpers ----

/** Little-endian value of n (1, 2 or 4) bytes at p; bytes at or past `lim` read as 0. */
function le(bytes: Uint8Array, p: number, lim: number, n: number): number {
  if (p + n <= lim) {
    if (n === 1) return bytes[p];
    if (n === 2) return bytes[p] | (bytes[p + 1] << 8);
    return bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24);
  }
  let v = 0;
  for (let i = 0; i < n; i++) if (p + i < lim) v |= bytes[p + i] << (8 * i);
  return v;
}

/** Sign-extends an n-byte value to 32 bits. */
const sext = (v: number, n: number) => (n === 1 ? (v << 24) >> 24 : n === 2 ? (v << 16) >> 16 : v | 0);

/** A size rule for an instruction with operand size osz, address size asz in `mode`. */
function ruleSize(rule: number, osz: number, asz: number, mode: number): number {
  if (rule >= 0) return rule;
  switch (rule) {
    case SZ_V:
      return osz;
    case SZ_Y:
      return osz === 8 ? 8 : 4;
    case SZ_Z:
      return osz === 2 ? 2 : 4;
    case SZ_P:
      return 2 + osz;
    case SZ_DT:
      return mode === 64 ? 10 : 6;
    case SZ_A:
      return asz;
    case SZ_B:
      return 2 * osz;
    default:
      return 0;
  }
}

/** A register operand, packed; -1 for a register that does not exist (#UD). */
function regPacked(cls: number, num: number, size: number, rex: number): number {
  if (cls === CLS_GPR) {
    if (size === 1 && rex === 0 && num >= 4 && num < 8)
      return OK_REG | (CLS_GPR8H << 4) | ((num - 4) << 8) | (1 << 16);
    return OK_REG | (CLS_GPR << 4) | (num << 8) | (size << 16);
  }
  if (cls === CLS_SEG) {
    if ((num & 7) > 5) return -1;
    num &= 7;
  } else if (cls === CLS_CR) {
    if (!(num === 0 || num === 2 || num === 3 || num === 4 || num === 8)) return -1;
  } else if (cls === CLS_DR) {
    if (num > 7) return -1;
  } else if (cls === 7) num &= 7;
  return OK_REG | (cls << 4) | (num << 8) | (size << 16);
}

/** Form checks beyond the slot (mandatory prefix, REX.W, ModRM, mode, operand size). */
function fits(
  f: number,
  modrm: number,
  mp: number,
  rex: number,
  mode: number,
  asz: number,
  size: number,
): boolean {
  const fmp = F_MP[f];
  if (fmp !== MP_ANY) {
    if (fmp === MP_NP) {
      if (mp !== 0) return false;
    } else if (fmp !== mp) return false;
  }
  const fw = F_W[f];
  if (fw >= 0 && fw !== ((rex >>> 3) & 1)) return false;
  if (modrm >= 0) {
    const fx = F_FIXED[f];
    if (fx >= 0 && fx !== modrm) return false;
    const mr = F_MODREQ[f];
    const mod = modrm >>> 6;
    if (mr === 1 ? mod === 3 : mr === 2 && mod !== 3) return false;
  }
  const flags = F_FLAGS[f];
  if (flags & (FL_O64 | FL_I64 | FL_NREXB | FL_A16 | FL_A32 | FL_A64)) {
    if (flags & FL_O64 && mode !== 64) return false;
    if (flags & FL_I64 && mode === 64) return false;
    if (flags & FL_NREXB && rex & 1) return false;
    if (flags & FL_A16 && asz !== 2) return false;
    if (flags & FL_A32 && asz !== 4) return false;
    if (flags & FL_A64 && asz !== 8) return false;
  }
  const req = F_OSREQ[f];
  return req === 0 || (req & (size >>> 1)) !== 0;
}

/**
 * Decodes one instruction at bytes[pos] (bytes up to `limit`, exclusive) in the given code
 * mode (16, 32 or 64) into out[o … o + RECORD_STRIDE). Returns the length (also in out[o + R_LEN]).
 */
export function decodeInto(
  bytes: Uint8Array,
  pos: number,
  limit: number,
  mode: number,
  out: Int32Array,
  o: number,
): number {
  const lim = Math.min(limit, bytes.length);
  let p = pos;
  let pfx = 0;
  let rex = 0;
  let seg = -1;
  let rep = 0;
  while (p < lim && p - pos < 15) {
    const x = bytes[p];
    const k = PREFIX[x];
    if (k !== 0) {
      rex = 0; // a REX followed by a legacy prefix is ignored
      if (k === 1) pfx |= PFX_OPSIZE;
      else if (k === 2) pfx |= PFX_ADDRSIZE;
      else if (k === 3) rep = 3;
      else if (k === 4) rep = 4;
      else if (k === 5) pfx |= PFX_LOCK;
      else seg = k - 6;
    } else if (mode === 64 && (x & 0xf0) === 0x40) rex = x;
    else break;
    p++;
  }
  if (rep === 3) pfx |= PFX_REPNE;
  else if (rep === 4) pfx |= PFX_REP;
  if (rex !== 0) pfx |= PFX_REX | ((rex & 15) << 6);
  const mp = rep === 4 ? MP_F3 : rep === 3 ? MP_F2 : pfx & PFX_OPSIZE ? MP_66 : 0;
  out[o + R_SEG] = seg;
  const a67 = (pfx & PFX_ADDRSIZE) !== 0;
  const asz = mode === 64 ? (a67 ? 4 : 8) : mode === 32 ? (a67 ? 2 : 4) : a67 ? 4 : 2;
  let b = p < lim ? bytes[p] : 0;
  p++;
  let map = 0;
  let slow = false;
  if (b === 0x0f) {
    b = p < lim ? bytes[p] : 0;
    p++;
    map = 1;
    if (b === 0x38 || b === 0x3a) {
      map = b === 0x38 ? 2 : 3;
      b = p < lim ? bytes[p] : 0;
      p++;
    } else if (b === 0x0f) slow = true;
  } else if (b === 0xc4 || b === 0xc5 || b === 0x62 || b === 0x8f) {
    const next = p < lim ? bytes[p] : 0;
    slow = b === 0x8f ? (next & 0x1f) >= 8 : mode === 64 || (next & 0xc0) === 0xc0 || p >= lim;
  } else if (b >= 0xd8 && b <= 0xdf) slow = true;
  let status: number;
  if (slow) {
    p = decodeRare(bytes, lim, p, mode, pfx, rex, seg, mp, asz, map, b, out, o);
    status = out[o + R_STATUS];
  } else {
    const slot = (map << 8) | b;
    out[o + R_OPCODE] = slot;
    let start = SLOT_START[slot];
    let count = SLOT_COUNT[slot];
    let list = SLOT_LIST;
    let modrm = -1;
    if (SLOT_MODRM[slot] === 1) {
      modrm = p < lim ? bytes[p] : 0;
      p++;
      const key = (slot << 3) | ((modrm >>> 3) & 7);
      start = REG_START[key];
      count = REG_COUNT[key];
      list = REG_LIST;
    } else if (count === 0 && map === 1 && NO_MODRM_UD_0F[b] === 0) p++; // length as the CPU would fetch
    out[o + R_MODRM] = modrm;
    let f = -1;
    let osz = mode === 16 ? 2 : 4;
    for (let i = start; i < start + count; i++) {
      const c = list[i];
      const rule = F_OSZRULE[c];
      const has66 = (pfx & PFX_OPSIZE) !== 0 && rule < 4;
      let size: number;
      if (mode === 64) {
        const r = rule & 3;
        size = r === 2 || rex & 8 ? 8 : r === 1 ? (has66 ? 2 : 8) : has66 ? 2 : 4;
      } else if (mode === 32) size = has66 ? 2 : 4;
      else size = has66 ? 4 : 2;
      if (F_CHECK[c] !== 0 && !fits(c, modrm, mp, rex, mode, asz, size)) continue;
      f = c;
      osz = size;
      break;
    }
    const flags = f >= 0 ? F_FLAGS[f] : 0;
    if (f >= 0) {
      const fmp = F_MP[f];
      if (fmp === MP_66) pfx &= ~PFX_OPSIZE;
      else if (fmp >= MP_F3) pfx &= ~(PFX_REP | PFX_REPNE);
      if (pfx & PFX_LOCK && (!(flags & FL_LOCK) || modrm >>> 6 === 3)) f = -1;
    }
    out[o + R_OSZ] = osz;
    out[o + R_ASZ] = asz;
    out[o + R_PFX] = pfx;
    if (f < 0) {
      out[o + R_OP] = -1;
      out[o + R_FORM] = -1;
      out[o + R_NOPS] = 0;
      status = ST_UD;
    } else {
      out[o + R_OP] = F_OP[f];
      out[o + R_FORM] = f;
      const mod = flags & FL_MODREG ? 3 : modrm >>> 6;
      if (modrm >= 0 && mod !== 3) {
        // memory operand: ModRM/SIB/displacement
        const rm = modrm & 7;
        let base: number;
        let index = -1;
        let scale = 1;
        let disp = 0;
        let defSs: boolean;
        if (asz === 2) {
          base = BASE16[rm];
          index = INDEX16[rm];
          if (mod === 0 && rm === 6) {
            base = -1;
            disp = le(bytes, p, lim, 2);
            p += 2;
          } else if (mod === 1) {
            disp = sext(le(bytes, p, lim, 1), 1);
            p += 1;
          } else if (mod === 2) {
            disp = sext(le(bytes, p, lim, 2), 2);
            p += 2;
          }
          defSs = base === 5;
        } else {
          base = rm | ((rex & 1) << 3);
          if (rm === 4) {
            const sib = p < lim ? bytes[p] : 0;
            p++;
            out[o + R_MODRM] = modrm | (sib << 8) | 0x10000;
            scale = 1 << (sib >>> 6);
            index = ((sib >>> 3) & 7) | ((rex & 2) << 2);
            if (index === 4) index = -1;
            base = (sib & 7) | ((rex & 1) << 3);
            if ((sib & 7) === 5 && mod === 0) {
              base = -1;
              disp = le(bytes, p, lim, 4);
              p += 4;
            }
          } else if (rm === 5 && mod === 0) {
            base = mode === 64 ? REG_RIP : -1;
            disp = le(bytes, p, lim, 4);
            p += 4;
          }
          if (mod === 1) {
            disp = sext(le(bytes, p, lim, 1), 1);
            p += 1;
          } else if (mod === 2) {
            disp = le(bytes, p, lim, 4);
            p += 4;
          }
          defSs = base === 4 || base === 5;
        }
        out[o + R_MBASE] = base;
        out[o + R_MINDEX] = index;
        out[o + R_MSCALE] = scale;
        out[o + R_DISP_LO] = disp;
        out[o + R_DISP_HI] = asz === 2 && mod === 0 ? 0 : disp >> 31;
        out[o + R_MSEG] = seg >= 0 ? seg : defSs ? SEG_SS : SEG_DS;
      }
      const n = F_NOPS[f];
      out[o + R_NOPS] = n;
      let immSeen = 0;
      status = flags & FL_UNSUP ? ST_UNSUPPORTED : ST_OK;
      for (let i = 0; i < n; i++) {
        const k = F_KIND[f * 4 + i];
        const loc = K_LOC[k];
        const cls = K_CLS[k];
        const r = K_SIZE[k];
        const size = r === SZ_V ? osz : r > 0 ? r : ruleSize(r, osz, asz, mode);
        let v: number;
        if (loc === LOC_REG) {
          const num = ((modrm >>> 3) & 7) | ((rex & 4) << 1);
          v = cls === CLS_SEG && (num & 7) === K_FIXED[k] ? -1 : regPacked(cls, num, size, rex);
        } else if (loc === LOC_RM) {
          if (mod === 3) v = regPacked(cls, (modrm & 7) | ((rex & 1) << 3), size, rex);
          else {
            const mr = K_MEMSIZE[k];
            v = OK_MEM | ((mr === SZ_V ? osz : mr >= 0 ? mr : ruleSize(mr, osz, asz, mode)) << 16);
          }
        } else if (loc === LOC_OPREG) v = regPacked(cls, (b & 7) | ((rex & 1) << 3), size, rex);
        else if (loc === LOC_IMM || loc === LOC_REL || loc === LOC_FAR) {
          const nb = ruleSize(K_IMMSIZE[k], osz, asz, mode);
          const signed = loc === LOC_REL || K_SIGNED[k] === 1;
          if (immSeen === 0) {
            let lo: number;
            let hi = 0;
            if (nb === 8) {
              lo = le(bytes, p, lim, 4);
              hi = le(bytes, p + 4, lim, 4);
            } else {
              lo = le(bytes, p, lim, nb);
              if (signed) {
                lo = sext(lo, nb);
                hi = lo >> 31;
              }
            }
            p += nb;
            out[o + R_IMM_LO] = lo;
            out[o + R_IMM_HI] = hi;
            if (loc === LOC_FAR) {
              out[o + R_IMM2] = le(bytes, p, lim, 2);
              p += 2;
              v = OK_FAR | (size << 16);
            } else v = loc === LOC_REL ? OK_REL | (osz << 16) : OK_IMM | (size << 16);
          } else {
            out[o + R_IMM2] = le(bytes, p, lim, nb);
            p += nb;
            v = OK_IMM2 | (size << 16);
          }
          immSeen++;
        } else if (loc === LOC_FIXED) {
          v =
            (cls === CLS_SEG ? OK_REG | (CLS_SEG << 4) : OK_REG | (CLS_GPR << 4)) |
            (K_FIXED[k] << 8) |
            (size << 16);
        } else if (loc === LOC_ONE) {
          out[o + R_IMM_LO] = 1;
          out[o + R_IMM_HI] = 0;
          v = OK_IMM | (1 << 16);
        } else if (loc === LOC_MOFFS) {
          out[o + R_MBASE] = -1;
          out[o + R_MINDEX] = -1;
          out[o + R_MSCALE] = 1;
          out[o + R_MSEG] = seg >= 0 ? seg : SEG_DS;
          out[o + R_DISP_LO] = le(bytes, p, lim, asz === 8 ? 4 : asz);
          out[o + R_DISP_HI] = asz === 8 ? le(bytes, p + 4, lim, 4) : 0;
          p += asz;
          v = OK_MEM | (size << 16);
        } else v = OK_STR | (K_FIXED[k] << 8) | (size << 16); // LOC_STR
        if (v < 0) {
          out[o + R_OP] = -1;
          out[o + R_FORM] = -1;
          out[o + R_NOPS] = 0;
          status = ST_UD;
          break;
        }
        out[o + R_OP0 + i] = v;
      }
    }
  }
  let len = p - pos;
  if (p > lim) {
    status = ST_TRUNCATED;
    len = Math.max(lim - pos, 0);
  } else if (len > 15) status = ST_GP;
  out[o + R_STATUS] = status;
  out[o + R_LEN] = len;
  return len;
}
