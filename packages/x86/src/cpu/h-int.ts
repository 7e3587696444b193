// Integer handlers: ALU, INC/DEC/NEG/NOT, MOV family, LEA, XCHG/CMPXCHG/XADD, shifts,
// multiply/divide, bit ops, CMOV/SETcc, sign extensions. The semantics come from exec's helpers.
import { OK_MEM, OK_REG, PFX_REX_W, R_OP0, R_OSZ, R_PFX } from "../decoder/record.js";
import * as alu from "../exec/alu.js";
import * as bit from "../exec/bitops.js";
import { raiseGP } from "../exec/exception.js";
import { arithFlags, setArithFlags, testCondition } from "../exec/flags.js";
import * as md from "../exec/muldiv.js";
import { OUT_HI, OUT2_HI, OUT2_LO, RAX, RDX } from "../exec/regs.js";
import * as sh from "../exec/shift.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { ea, eaFor, memRead, memWrite, readOp, regWrite, segAddr, writeOp } from "./operands.js";

// ---- binary ALU: ADD OR ADC SBB AND SUB XOR CMP (opcode order), TEST = 8 ----
export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;
export const ALU_TEST = 8;

function compute32(c: Cpu, op: number, a: number, b: number): number {
  const r = c.r;
  switch (op) {
    case 0:
      return alu.add32(r, a, b);
    case 1:
      return alu.or32(r, a, b);
    case 2:
      return alu.adc32(r, a, b);
    case 3:
      return alu.sbb32(r, a, b);
    case 4:
    case 8:
      return alu.and32(r, a, b);
    case 5:
    case 7:
      return alu.sub32(r, a, b);
    default:
      return alu.xor32(r, a, b);
  }
}

function compute64(c: Cpu, op: number, a: number, aHi: number, b: number, bHi: number): number {
  const r = c.r;
  switch (op) {
    case 0:
      return alu.add64(r, a, aHi, b, bHi);
    case 1:
      return alu.or64(r, a, aHi, b, bHi);
    case 2:
      return alu.adc64(r, a, aHi, b, bHi);
    case 3:
      return alu.sbb64(r, a, aHi, b, bHi);
    case 4:
    case 8:
      return alu.and64(r, a, aHi, b, bHi);
    case 5:
    case 7:
      return alu.sub64(r, a, aHi, b, bHi);
    default:
      return alu.xor64(r, a, aHi, b, bHi);
  }
}

function computeSmall(c: Cpu, op: number, size: number, a: number, b: number): number {
  const r = c.r;
  if (size === 1) {
    switch (op) {
      case 0:
        return alu.add8(r, a, b);
      case 1:
        return alu.or8(r, a, b);
      case 2:
        return alu.adc8(r, a, b);
      case 3:
        return alu.sbb8(r, a, b);
      case 4:
      case 8:
        return alu.and8(r, a, b);
      case 5:
      case 7:
        return alu.sub8(r, a, b);
      default:
        return alu.xor8(r, a, b);
    }
  }
  switch (op) {
    case 0:
      return alu.add16(r, a, b);
    case 1:
      return alu.or16(r, a, b);
    case 2:
      return alu.adc16(r, a, b);
    case 3:
      return alu.sbb16(r, a, b);
    case 4:
    case 8:
      return alu.and16(r, a, b);
    case 5:
    case 7:
      return alu.sub16(r, a, b);
    default:
      return alu.xor16(r, a, b);
  }
}

function aluGeneric(c: Cpu, d: Int32Array, o: number, op: number): void {
  const size = d[o + R_OP0] >>> 16;
  const b = readOp(c, d, o, 1);
  const bHi = c.hi;
  const a = readOp(c, d, o, 0);
  let res: number;
  if (size === 4) res = compute32(c, op, a, b);
  else if (size === 8) res = compute64(c, op, a, c.hi, b, bHi);
  else res = computeSmall(c, op, size, a, b);
  if (op !== ALU_CMP && op !== ALU_TEST) writeOp(c, d, o, 0, res, c.r[OUT_HI], true);
}

const isReg = (p: number) => (p & 15) === OK_REG && ((p >>> 4) & 15) === 1;

// The helper per ALU op, so a specialised handler calls one small function (which V8 inlines
// into the handler, and the handler into a compiled block) instead of a switch over every op.
type Alu32 = (r: Int32Array, a: number, b: number) => number;
type Alu64 = (r: Int32Array, a: number, aHi: number, b: number, bHi: number) => number;
const ALU32: Alu32[] = [
  alu.add32,
  alu.or32,
  alu.adc32,
  alu.sbb32,
  alu.and32,
  alu.sub32,
  alu.xor32,
  alu.sub32,
  alu.and32,
];
const ALU8: Alu32[] = [
  alu.add8,
  alu.or8,
  alu.adc8,
  alu.sbb8,
  alu.and8,
  alu.sub8,
  alu.xor8,
  alu.sub8,
  alu.and8,
];
const ALU64: Alu64[] = [
  alu.add64,
  alu.or64,
  alu.adc64,
  alu.sbb64,
  alu.and64,
  alu.sub64,
  alu.xor64,
  alu.sub64,
  alu.and64,
];

/** Handler for a binary ALU op, specialised for the hot register shapes. */
export function selectAlu(op: number, d: Int32Array, o: number): Handler {
  const eaf = eaFor(d, o);
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  const size = p0 >>> 16;
  const write = op !== ALU_CMP && op !== ALU_TEST;
  const f32 = ALU32[op];
  const f64 = ALU64[op];
  if (isReg(p0) && size >= 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    if (isReg(p1)) {
      const si = ((p1 >>> 8) & 255) << 1;
      if (size === 4) {
        return write
          ? (c) => {
              const r = c.r;
              r[di] = f32(c.r, r[di], r[si]);
              r[di | 1] = 0;
            }
          : (c) => {
              f32(c.r, c.r[di], c.r[si]);
            };
      }
      return write
        ? (c) => {
            const r = c.r;
            r[di] = f64(c.r, r[di], r[di | 1], r[si], r[si | 1]);
            r[di | 1] = r[OUT_HI];
          }
        : (c) => {
            const r = c.r;
            f64(c.r, r[di], r[di | 1], r[si], r[si | 1]);
          };
    }
    if ((p1 & 15) === 3 /* OK_IMM */) {
      const imm = d[o + 19];
      const immHi = d[o + 20];
      if (size === 4) {
        return write
          ? (c) => {
              const r = c.r;
              r[di] = f32(c.r, r[di], imm);
              r[di | 1] = 0;
            }
          : (c) => {
              f32(c.r, c.r[di], imm);
            };
      }
      return write
        ? (c) => {
            const r = c.r;
            r[di] = f64(c.r, r[di], r[di | 1], imm, immHi);
            r[di | 1] = r[OUT_HI];
          }
        : (c) => {
            const r = c.r;
            f64(c.r, r[di], r[di | 1], imm, immHi);
          };
    }
  }
  if (isReg(p0) && (p1 & 15) === OK_MEM && size >= 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    if (size === 4) {
      return write
        ? (c, dd, oo) => {
            const v = c.mmu.read32(eaf(c, dd, oo), c.eaHi);
            const r = c.r;
            r[di] = f32(c.r, r[di], v);
            r[di | 1] = 0;
          }
        : (c, dd, oo) => {
            const v = c.mmu.read32(eaf(c, dd, oo), c.eaHi);
            f32(c.r, c.r[di], v);
          };
    }
    return (c, dd, oo) => {
      const m = c.mmu;
      const v = m.read64(eaf(c, dd, oo), c.eaHi);
      const r = c.r;
      const res = f64(c.r, r[di], r[di | 1], v, m.hi);
      if (write) {
        r[di] = res;
        r[di | 1] = r[OUT_HI];
      }
    };
  }
  if ((p0 & 15) === OK_MEM && (isReg(p1) || (p1 & 15) === 3) && size === 4) {
    const si = ((p1 >>> 8) & 255) << 1;
    const imm = d[o + 19];
    const fromReg = isReg(p1);
    return (c, dd, oo) => {
      const lo = eaf(c, dd, oo);
      const hi = c.eaHi;
      const m = c.mmu;
      const res = f32(c.r, m.read32(lo, hi), fromReg ? c.r[si] : imm);
      if (write) m.write32(lo, hi, res);
    };
  }
  if ((p0 & 15) === OK_MEM && (isReg(p1) || (p1 & 15) === 3) && size === 1) {
    // byte memory destination with an immediate or a low-byte register (CMP byte [m], imm is a sieve's test)
    const f8 = ALU8[op];
    const si = ((p1 >>> 8) & 255) << 1;
    const imm = d[o + 19];
    const fromReg = isReg(p1);
    return (c, dd, oo) => {
      const lo = eaf(c, dd, oo);
      const hi = c.eaHi;
      const m = c.mmu;
      const res = f8(c.r, m.read8(lo, hi), fromReg ? c.r[si] : imm);
      if (write) m.write8(lo, hi, res);
    };
  }
  return (c, dd, oo) => aluGeneric(c, dd, oo, op);
}

// ---- unary ----

/** INC (0), DEC (1), NEG (2), NOT (3); 32/64-bit register forms specialised. */
export function selectUnary(kind: number, d: Int32Array, o: number): Handler {
  const p0 = d[o + R_OP0];
  const size = p0 >>> 16;
  if (isReg(p0) && size === 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    return (c) => {
      const r = c.r;
      const a = r[di];
      r[di] = kind === 0 ? alu.inc32(r, a) : kind === 1 ? alu.dec32(r, a) : kind === 2 ? alu.neg32(r, a) : ~a;
      r[di | 1] = 0;
    };
  }
  if (isReg(p0) && size === 8) {
    const di = ((p0 >>> 8) & 255) << 1;
    return (c) => {
      const r = c.r;
      const a = r[di];
      const ah = r[di | 1];
      r[di] =
        kind === 0
          ? alu.inc64(r, a, ah)
          : kind === 1
            ? alu.dec64(r, a, ah)
            : kind === 2
              ? alu.neg64(r, a, ah)
              : alu.not64(r, a, ah);
      r[di | 1] = r[OUT_HI];
    };
  }
  return (c, dd, oo) => unary(c, dd, oo, kind);
}

function unary(c: Cpu, d: Int32Array, o: number, kind: number): void {
  const r = c.r;
  const size = d[o + R_OP0] >>> 16;
  const a = readOp(c, d, o, 0);
  let res: number;
  let hi = 0;
  if (size === 8) {
    const aHi = c.hi;
    res =
      kind === 0
        ? alu.inc64(r, a, aHi)
        : kind === 1
          ? alu.dec64(r, a, aHi)
          : kind === 2
            ? alu.neg64(r, a, aHi)
            : alu.not64(r, a, aHi);
    hi = r[OUT_HI];
  } else if (size === 4) {
    res =
      kind === 0
        ? alu.inc32(r, a)
        : kind === 1
          ? alu.dec32(r, a)
          : kind === 2
            ? alu.neg32(r, a)
            : alu.not32(a);
  } else if (size === 2) {
    res =
      kind === 0
        ? alu.inc16(r, a)
        : kind === 1
          ? alu.dec16(r, a)
          : kind === 2
            ? alu.neg16(r, a)
            : alu.not16(a);
  } else {
    res =
      kind === 0 ? alu.inc8(r, a) : kind === 1 ? alu.dec8(r, a) : kind === 2 ? alu.neg8(r, a) : alu.not8(a);
  }
  writeOp(c, d, o, 0, res, hi, true);
}

// ---- moves ----

export function selectMov(d: Int32Array, o: number): Handler {
  const eaf = eaFor(d, o);
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  const size = p0 >>> 16;
  if (isReg(p0) && isReg(p1) && size >= 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    const si = ((p1 >>> 8) & 255) << 1;
    return size === 8
      ? (c) => {
          const r = c.r;
          r[di] = r[si];
          r[di | 1] = r[si | 1];
        }
      : (c) => {
          const r = c.r;
          r[di] = r[si];
          r[di | 1] = 0;
        };
  }
  if (isReg(p0) && (p1 & 15) === OK_MEM && size >= 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    return size === 8
      ? (c, dd, oo) => {
          const lo = eaf(c, dd, oo);
          const v = c.mmu.read64(lo, c.eaHi);
          const r = c.r;
          r[di] = v;
          r[di | 1] = c.mmu.hi;
        }
      : (c, dd, oo) => {
          const lo = eaf(c, dd, oo);
          const v = c.mmu.read32(lo, c.eaHi);
          const r = c.r;
          r[di] = v;
          r[di | 1] = 0;
        };
  }
  if ((p0 & 15) === OK_MEM && isReg(p1) && size >= 4) {
    const si = ((p1 >>> 8) & 255) << 1;
    return size === 8
      ? (c, dd, oo) => {
          const lo = eaf(c, dd, oo);
          c.mmu.write64(lo, c.eaHi, c.r[si], c.r[si | 1]);
        }
      : (c, dd, oo) => {
          const lo = eaf(c, dd, oo);
          c.mmu.write32(lo, c.eaHi, c.r[si]);
        };
  }
  if ((p0 & 15) === OK_MEM && (p1 & 15) === 3 /* imm */) {
    const v = d[o + 19];
    const vHi = d[o + 20];
    if (size === 1) return (c, dd, oo) => c.mmu.write8(eaf(c, dd, oo), c.eaHi, v);
    if (size === 4) return (c, dd, oo) => c.mmu.write32(eaf(c, dd, oo), c.eaHi, v);
    if (size === 8) return (c, dd, oo) => c.mmu.write64(eaf(c, dd, oo), c.eaHi, v, vHi);
  }
  return hMovGeneric;
}

const hMovGeneric: Handler = (c, d, o) => {
  const v = readOp(c, d, o, 1);
  writeOp(c, d, o, 0, v, c.hi, false);
};

/** MOVZX: a 32/64-bit register loaded from a byte or word in memory is specialised. */
export function selectMovzx(d: Int32Array, o: number): Handler {
  const eaf = eaFor(d, o);
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  if (isReg(p0) && p0 >>> 16 >= 4 && (p1 & 15) === OK_MEM) {
    const di = ((p0 >>> 8) & 255) << 1;
    return p1 >>> 16 === 1
      ? (c, dd, oo) => {
          const v = c.mmu.read8(eaf(c, dd, oo), c.eaHi);
          const r = c.r;
          r[di] = v;
          r[di | 1] = 0;
        }
      : (c, dd, oo) => {
          const v = c.mmu.read16(eaf(c, dd, oo), c.eaHi);
          const r = c.r;
          r[di] = v;
          r[di | 1] = 0;
        };
  }
  return hMovzx;
}

/** MOVZX / MOVSX / MOVSXD: source operand size from its packing, destination size from operand 0. */
export const hMovzx: Handler = (c, d, o) => {
  const ss = d[o + R_OP0 + 1] >>> 16;
  const v = readOp(c, d, o, 1);
  writeOp(c, d, o, 0, ss === 1 ? v & 0xff : v & 0xffff, 0, false);
};
export const hMovsx: Handler = (c, d, o) => {
  const ss = d[o + R_OP0 + 1] >>> 16;
  let v = readOp(c, d, o, 1);
  if (ss === 1) v = (v << 24) >> 24;
  else if (ss === 2) v = (v << 16) >> 16;
  const ds = d[o + R_OP0] >>> 16;
  writeOp(c, d, o, 0, ds === 2 ? v & 0xffff : v, v >> 31, false);
};

export const hLea: Handler = (c, d, o) => {
  // LEA: the offset only (no segment base), truncated to the operand size.
  const seg = d[o + 13];
  d[o + 13] = 3; // DS: base 0 in 64-bit mode; outside it we subtract the base below
  let lo = ea(c, d, o);
  d[o + 13] = seg;
  if (!c.mode64) lo = (lo - c.st.seg[3 * 8 + 1]) | 0;
  const size = d[o + R_OP0] >>> 16;
  regWrite(c, 1, (d[o + R_OP0] >>> 8) & 255, size, lo, c.eaHi);
};

export const hXchg: Handler = (c, d, o) => {
  const a = readOp(c, d, o, 0);
  const aHi = c.hi;
  const wasMem = (d[o + R_OP0] & 15) === OK_MEM;
  const saveLo = c.eaLo;
  const saveHi = c.eaHi;
  const b = readOp(c, d, o, 1);
  const bHi = c.hi;
  c.eaLo = saveLo;
  c.eaHi = saveHi;
  writeOp(c, d, o, 0, b, bHi, wasMem);
  const p1 = d[o + R_OP0 + 1];
  if ((p1 & 15) === OK_MEM) {
    memWrite(c, p1 >>> 16, c.eaLo, c.eaHi, a, aHi);
  } else regWrite(c, (p1 >>> 4) & 15, (p1 >>> 8) & 255, p1 >>> 16, a, aHi);
};

export const hCmpxchg: Handler = (c, d, o) => {
  const r = c.r;
  const size = d[o + R_OP0] >>> 16;
  const dest = readOp(c, d, o, 0);
  const destHi = c.hi;
  const isMem = (d[o + R_OP0] & 15) === OK_MEM;
  const src = readOp(c, d, o, 1);
  const srcHi = c.hi;
  let eq: number;
  if (size === 8) eq = bit.cmpxchg64(r, r[0], r[1], dest, destHi);
  else eq = bit.cmpxchg(r, size * 8, size === 4 ? r[0] : r[0] & (size === 2 ? 0xffff : 0xff), dest);
  if (eq) writeOp(c, d, o, 0, src, srcHi, isMem);
  else {
    // A memory destination is written back with its own value (locked cycle); RAX gets the old value.
    if (isMem) writeOp(c, d, o, 0, dest, destHi, true);
    regWrite(c, 1, RAX, size, dest, destHi);
  }
};

export const hXadd: Handler = (c, d, o) => {
  const r = c.r;
  const size = d[o + R_OP0] >>> 16;
  const dest = readOp(c, d, o, 0);
  const destHi = c.hi;
  const isMem = (d[o + R_OP0] & 15) === OK_MEM;
  const saveLo = c.eaLo;
  const saveHi = c.eaHi;
  const src = readOp(c, d, o, 1);
  const srcHi = c.hi;
  const sum = size === 8 ? bit.xadd64(r, dest, destHi, src, srcHi) : bit.xadd(r, size * 8, dest, src);
  const sumHi = r[OUT_HI];
  writeOp(c, d, o, 1, dest, destHi, false);
  c.eaLo = saveLo;
  c.eaHi = saveHi;
  writeOp(c, d, o, 0, sum, sumHi, isMem);
};

/** CMPXCHG8B / CMPXCHG16B m64/m128. */
export const hCmpxchgNb: Handler = (c, d, o) => {
  const r = c.r;
  const wide = (d[o + R_PFX] & PFX_REX_W) !== 0;
  const lo = ea(c, d, o);
  const hi = c.eaHi;
  const m = c.mmu;
  if (!wide) {
    const v0 = m.read32(lo, hi);
    const v1 = m.read32((lo + 4) | 0, hi);
    const eq = v0 === r[0] && v1 === r[4];
    if (eq) {
      m.write32(lo, hi, r[6]);
      m.write32((lo + 4) | 0, hi, r[2]);
    } else {
      m.write32(lo, hi, v0);
      m.write32((lo + 4) | 0, hi, v1);
      regWrite(c, 1, RAX, 4, v0, 0);
      regWrite(c, 1, RDX, 4, v1, 0);
    }
    setZf(c, eq);
    return;
  }
  if ((lo & 15) !== 0) raiseGP(0, "CMPXCHG16B: operand not 16-byte aligned");
  const t = c.tmp4;
  m.read128(lo, hi, t, 0);
  const eq = t[0] === r[0] && t[1] === r[1] && t[2] === r[4] && t[3] === r[5];
  if (eq) {
    t[0] = r[6];
    t[1] = r[7];
    t[2] = r[2];
    t[3] = r[3];
    m.write128(lo, hi, t, 0);
  } else {
    m.write128(lo, hi, t, 0);
    r[0] = t[0];
    r[1] = t[1];
    r[4] = t[2];
    r[5] = t[3];
  }
  setZf(c, eq);
};

function setZf(c: Cpu, zf: boolean): void {
  // Only ZF changes: re-encode the other flags around it.
  const r = c.r;
  setArithFlags(r, (arithFlags(r) & ~0x40) | (zf ? 0x40 : 0));
}

export const hBswap: Handler = (c, d, o) => {
  const p = d[o + R_OP0];
  const reg = (p >>> 8) & 255;
  const r = c.r;
  if (p >>> 16 === 8) {
    const lo = bit.bswap64(r, r[reg << 1], r[(reg << 1) | 1]);
    r[(reg << 1) | 1] = r[OUT_HI];
    r[reg << 1] = lo;
  } else if (p >>> 16 === 4) regWrite(c, 1, reg, 4, bit.bswap32(r[reg << 1]), 0);
  else regWrite(c, 1, reg, 2, 0, 0); // BSWAP r16 is undefined; Intel parts clear it
};

// ---- shifts and rotates: ROL ROR RCL RCR SHL SHR SAL SAR ----

// One helper per shift kind (SAL = SHL), called directly by the specialised handlers.
type ShiftN = (r: Int32Array, bits: number, a: number, count: number) => number;
type Shift64 = (r: Int32Array, a: number, aHi: number, count: number) => number;
const SHIFT_N: ShiftN[] = [sh.rol, sh.ror, sh.rcl, sh.rcr, sh.shl, sh.shr, sh.shl, sh.sar];
const SHIFT_64: Shift64[] = [sh.rol64, sh.ror64, sh.rcl64, sh.rcr64, sh.shl64, sh.shr64, sh.shl64, sh.sar64];

/** Shift/rotate selector: register destination with an immediate count specialised. */
export function selectShiftFor(kind: number, d: Int32Array, o: number): Handler {
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  const size = p0 >>> 16;
  if (isReg(p0) && (p1 & 15) === 3 && size >= 4) {
    const di = ((p0 >>> 8) & 255) << 1;
    const count = d[o + 19] & 0xff;
    if (size === 4) {
      const f = SHIFT_N[kind];
      return (c) => {
        const r = c.r;
        r[di] = f(r, 32, r[di], count);
        r[di | 1] = 0;
      };
    }
    const f = SHIFT_64[kind];
    return (c) => {
      const r = c.r;
      r[di] = f(r, r[di], r[di | 1], count);
      r[di | 1] = r[OUT_HI];
    };
  }
  return GENERIC_SHIFTS[kind];
}

const GENERIC_SHIFTS: Handler[] = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => selectShift(k));

export function selectShift(kind: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const size = d[o + R_OP0] >>> 16;
    const count = d[o + R_OP0 + 1] & 15 ? readOp(c, d, o, 1) & 0xff : 1;
    const a = readOp(c, d, o, 0);
    let res: number;
    let hi = 0;
    if (size === 8) {
      const aHi = c.hi;
      switch (kind) {
        case 0:
          res = sh.rol64(r, a, aHi, count);
          break;
        case 1:
          res = sh.ror64(r, a, aHi, count);
          break;
        case 2:
          res = sh.rcl64(r, a, aHi, count);
          break;
        case 3:
          res = sh.rcr64(r, a, aHi, count);
          break;
        case 5:
          res = sh.shr64(r, a, aHi, count);
          break;
        case 7:
          res = sh.sar64(r, a, aHi, count);
          break;
        default:
          res = sh.shl64(r, a, aHi, count);
      }
      hi = r[OUT_HI];
    } else {
      const bits = size * 8;
      switch (kind) {
        case 0:
          res = sh.rol(r, bits, a, count);
          break;
        case 1:
          res = sh.ror(r, bits, a, count);
          break;
        case 2:
          res = sh.rcl(r, bits, a, count);
          break;
        case 3:
          res = sh.rcr(r, bits, a, count);
          break;
        case 5:
          res = sh.shr(r, bits, a, count);
          break;
        case 7:
          res = sh.sar(r, bits, a, count);
          break;
        default:
          res = sh.shl(r, bits, a, count);
      }
    }
    writeOp(c, d, o, 0, res, hi, true);
  };
}

export function selectShd(left: boolean): Handler {
  return (c, d, o) => {
    const r = c.r;
    const size = d[o + R_OP0] >>> 16;
    const count = readOp(c, d, o, 2) & 0xff;
    const s = readOp(c, d, o, 1);
    const sHi = c.hi;
    const a = readOp(c, d, o, 0);
    let res: number;
    let hi = 0;
    if (size === 8) {
      res = left ? sh.shld64(r, a, c.hi, s, sHi, count) : sh.shrd64(r, a, c.hi, s, sHi, count);
      hi = r[OUT_HI];
    } else res = left ? sh.shld(r, size * 8, a, s, count) : sh.shrd(r, size * 8, a, s, count);
    writeOp(c, d, o, 0, res, hi, true);
  };
}

// ---- multiply / divide ----

/** MUL/IMUL/DIV/IDIV r/m (one operand: rDX:rAX implicit). kind 0 MUL, 1 IMUL, 2 DIV, 3 IDIV. */
export function selectMulDiv1(kind: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const size = d[o + R_OP0] >>> 16;
    const s = readOp(c, d, o, 0);
    const sHi = c.hi;
    if (size === 1) {
      const ax = r[0] & 0xffff;
      const v =
        kind === 0
          ? md.mul8(r, ax & 0xff, s)
          : kind === 1
            ? md.imul8(r, ax & 0xff, s)
            : kind === 2
              ? md.div8(ax, s)
              : md.idiv8(ax, s);
      regWrite(c, 1, RAX, 2, v, 0);
      return;
    }
    if (size === 8) {
      let lo: number;
      if (kind === 0) lo = md.mul64(r, r[0], r[1], s, sHi);
      else if (kind === 1) lo = md.imul64(r, r[0], r[1], s, sHi);
      else if (kind === 2) lo = md.div64(r, r[4], r[5], r[0], r[1], s, sHi);
      else lo = md.idiv64(r, r[4], r[5], r[0], r[1], s, sHi);
      const hi = r[OUT_HI];
      const dLo = r[OUT2_LO];
      const dHi = r[OUT2_HI];
      r[0] = lo;
      r[1] = hi;
      r[4] = dLo;
      r[5] = dHi;
      return;
    }
    const a = size === 4 ? r[0] : r[0] & 0xffff;
    const dx = size === 4 ? r[4] : r[4] & 0xffff;
    let v: number;
    if (size === 4) {
      v =
        kind === 0
          ? md.mul32(r, a, s)
          : kind === 1
            ? md.imul32(r, a, s)
            : kind === 2
              ? md.div32(r, dx, a, s)
              : md.idiv32(r, dx, a, s);
    } else {
      v =
        kind === 0
          ? md.mul16(r, a, s)
          : kind === 1
            ? md.imul16(r, a, s)
            : kind === 2
              ? md.div16(r, dx, a, s)
              : md.idiv16(r, dx, a, s);
    }
    const dv = r[OUT2_LO];
    regWrite(c, 1, RAX, size, v, 0);
    regWrite(c, 1, RDX, size, dv, 0);
  };
}

/** IMUL r, r/m and IMUL r, r/m, imm. */
export const hImul2: Handler = (c, d, o) => {
  const r = c.r;
  const size = d[o + R_OP0] >>> 16;
  const three = d[o + 8] === 3;
  const b = readOp(c, d, o, three ? 2 : 1);
  const bHi = c.hi;
  const a = readOp(c, d, o, three ? 1 : 0);
  let v: number;
  if (size === 8) v = md.imulTrunc64(r, a, c.hi, b, bHi);
  else if (size === 4) v = md.imulTrunc32(r, a, b);
  else v = md.imulTrunc16(r, a, b);
  writeOp(c, d, o, 0, v, r[OUT_HI], false);
};

// ---- bit ops ----

/** BT/BTS/BTR/BTC (op 0..3). A register offset with a memory operand addresses beyond the operand. */
export function selectBt(op: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const p0 = d[o + R_OP0];
    const p1 = d[o + R_OP0 + 1];
    const size = p0 >>> 16;
    const bits = size * 8;
    let off = readOp(c, d, o, 1);
    const offHi = c.hi;
    if ((p0 & 15) === OK_MEM && (p1 & 15) === OK_REG) {
      // Bit string: move the address by (signed offset >> log2(bits)) operand-size units.
      let lo = ea(c, d, o);
      let hi = c.eaHi;
      let units: number;
      if (size === 8) units = ((offHi << 26) | (off >>> 6)) * 8;
      else units = size === 4 ? (off >> 5) * 4 : ((off << 16) >> 20) * 2;
      const s = (lo >>> 0) + units;
      if (c.mode64) hi = (hi + Math.floor(s / 4294967296)) | 0;
      lo = s | 0;
      if (size === 2) off &= 15;
      c.eaLo = lo;
      c.eaHi = hi;
      const a = memRead(c, size, lo, hi);
      const aHi = c.hi;
      if (size === 8) {
        const v = bit.bt64(r, a, aHi, off & 63, op as 0 | 1 | 2 | 3);
        if (op) memWrite(c, 8, lo, hi, v, r[OUT_HI]);
      } else if (op === 0) bit.bt(r, bits, a, off);
      else
        memWrite(
          c,
          size,
          lo,
          hi,
          op === 1
            ? bit.bts(r, bits, a, off)
            : op === 2
              ? bit.btr(r, bits, a, off)
              : bit.btc(r, bits, a, off),
          0,
        );
      return;
    }
    const a = readOp(c, d, o, 0);
    const aHi = c.hi;
    if (size === 8) {
      const v = bit.bt64(r, a, aHi, off & 63, op as 0 | 1 | 2 | 3);
      if (op) writeOp(c, d, o, 0, v, r[OUT_HI], true);
    } else if (op === 0) bit.bt(r, bits, a, off);
    else
      writeOp(
        c,
        d,
        o,
        0,
        op === 1 ? bit.bts(r, bits, a, off) : op === 2 ? bit.btr(r, bits, a, off) : bit.btc(r, bits, a, off),
        0,
        true,
      );
  };
}

/** BSF BSR TZCNT LZCNT POPCNT (kind 0..4). */
export function selectBitScan(kind: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const size = d[o + R_OP0] >>> 16;
    const s = readOp(c, d, o, 1);
    const sHi = c.hi;
    const p0 = d[o + R_OP0];
    const reg = (p0 >>> 8) & 255;
    const dest = r[reg << 1];
    const destHi = r[(reg << 1) | 1];
    let v: number;
    let hi = 0;
    if (size === 8) {
      v =
        kind === 0
          ? bit.bsf64(r, dest, destHi, s, sHi)
          : kind === 1
            ? bit.bsr64(r, dest, destHi, s, sHi)
            : kind === 2
              ? bit.tzcnt64(r, s, sHi)
              : kind === 3
                ? bit.lzcnt64(r, s, sHi)
                : bit.popcnt64(r, s, sHi);
      hi = kind <= 1 ? r[OUT_HI] : 0;
    } else {
      const bits = size * 8;
      v =
        kind === 0
          ? bit.bsf(r, bits, dest, s)
          : kind === 1
            ? bit.bsr(r, bits, dest, s)
            : kind === 2
              ? bit.tzcnt(r, bits, s)
              : kind === 3
                ? bit.lzcnt(r, bits, s)
                : bit.popcnt(r, bits, s);
      // BSF/BSR with a zero source leave a 32-bit destination unchanged (upper half included).
      if (kind <= 1 && size === 4 && v === dest && (s | 0) === 0) return;
    }
    regWrite(c, 1, reg, size, v, hi);
  };
}

// ---- conditions ----

export function selectSetcc(cc: number): Handler {
  return (c, d, o) => writeOp(c, d, o, 0, testCondition(c.r, cc), 0, false);
}

export function selectCmovcc(cc: number): Handler {
  return (c, d, o) => {
    const size = d[o + R_OP0] >>> 16;
    const v = readOp(c, d, o, 1); // the source is read (and may fault) whatever the condition
    const vHi = c.hi;
    if (testCondition(c.r, cc)) writeOp(c, d, o, 0, v, vHi, false);
    else if (size === 4) c.r[(((d[o + R_OP0] >>> 8) & 255) << 1) | 1] = 0; // a 32-bit CMOV always zero-extends
  };
}

// ---- sign extension of rAX ----

export const hCbw: Handler = (c, d, o) => {
  const r = c.r;
  const osz = d[o + R_OSZ];
  if (osz === 2) regWrite(c, 1, RAX, 2, bit.cbw(r[0] & 0xff), 0);
  else if (osz === 4) regWrite(c, 1, RAX, 4, bit.cwde(r[0] & 0xffff), 0);
  else {
    r[1] = bit.cdqe(r[0]);
  }
};
export const hCwd: Handler = (c, d, o) => {
  const r = c.r;
  const osz = d[o + R_OSZ];
  if (osz === 2) regWrite(c, 1, RDX, 2, bit.cwd(r[0] & 0xffff), 0);
  else if (osz === 4) regWrite(c, 1, RDX, 4, bit.cdq(r[0]), 0);
  else {
    const v = bit.cqo(r[1]);
    r[4] = v;
    r[5] = v;
  }
};

export const hMovbe: Handler = (c, d, o) => {
  const size = d[o + R_OP0] >>> 16;
  const v = readOp(c, d, o, 1);
  const vHi = c.hi;
  if (size === 8) writeOp(c, d, o, 0, bit.bswap32(vHi), bit.bswap32(v), false);
  else if (size === 4) writeOp(c, d, o, 0, bit.bswap32(v), 0, false);
  else writeOp(c, d, o, 0, ((v & 0xff) << 8) | ((v >>> 8) & 0xff), 0, false);
};

export const hXlat: Handler = (c, d, o) => {
  const r = c.r;
  const asz = d[o + 5];
  let lo = (r[6] + (r[0] & 0xff)) | 0;
  let hi = 0;
  if (asz === 8) {
    const s = (r[6] >>> 0) + (r[0] & 0xff);
    lo = s | 0;
    hi = (r[7] + (s > 0xffffffff ? 1 : 0)) | 0;
  } else if (asz === 2) lo = (r[6] + (r[0] & 0xff)) & 0xffff;
  const seg = d[o + 7] >= 0 ? d[o + 7] : 3;
  const a = segAddr(c, seg, lo, hi);
  regWrite(c, 1, RAX, 1, c.mmu.read8(a, c.eaHi), 0);
};
