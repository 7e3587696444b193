// Operand access for handlers: effective addresses (base + index*scale + disp, RIP-relative,
// address-size truncation, segment base), register and memory reads/writes by operand size,
// and stack pushes/pops. 64-bit values are int32 lo/hi pairs; helpers that produce a high word
// leave it in `c.hi`.
import {
  OK_IMM,
  OK_MEM,
  OK_REG,
  PFX_REX,
  R_ASZ,
  R_DISP_HI,
  R_DISP_LO,
  R_IMM_HI,
  R_IMM_LO,
  R_MBASE,
  R_MINDEX,
  R_MSCALE,
  R_MSEG,
  R_OP0,
  R_PFX,
  REG_RIP,
} from "../decoder/record.js";
import { raiseUD } from "../exec/exception.js";
import { RIP_HI, RIP_LO, RSP } from "../exec/regs.js";
import { S_BASE_HI, S_BASE_LO, S_SEL, SEG_STRIDE } from "../exec/segment.js";
import { CLS_GPR, CLS_GPR8H, CLS_SEG, CLS_XMM } from "../isa/operand-kinds.js";
import { EA_BASE_DISP, EA_BASE_INDEX, EA_INDEX_DISP, X_EA } from "./block.js";
import { segmentedEa, segmentedLinear } from "./segment-limits.js";

const SCALE_SHIFT = [0, 0, 1, 0, 2, 0, 0, 0, 3];

import type { Cpu } from "./cpu.js";

/** Linear address of the instruction's memory operand; bits 63:32 in c.eaHi. */
export function ea(c: Cpu, d: Int32Array, o: number): number {
  // Small on purpose, so V8 inlines it and the shape's helper into each handler.
  const shape = d[o + X_EA];
  if (shape === EA_BASE_DISP) return eaBaseDisp(c, d, o);
  if (shape === EA_BASE_INDEX) return eaBaseIndex(c, d, o);
  if (shape === EA_INDEX_DISP) return eaIndexDisp(c, d, o);
  return eaGeneric(c, d, o);
}

/** index * scale + displacement (no base), 64-bit, no segment base. */
function eaIndexDisp(c: Cpu, d: Int32Array, o: number): number {
  const r = c.r;
  const x = d[o + R_MINDEX] << 1;
  const sh = SCALE_SHIFT[d[o + R_MSCALE]];
  const il = r[x] << sh;
  const ih = sh === 0 ? r[x | 1] : (r[x | 1] << sh) | (r[x] >>> (32 - sh));
  const s = (il >>> 0) + (d[o + R_DISP_LO] >>> 0);
  c.eaHi = (ih + d[o + R_DISP_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
  return s | 0;
}

export type EaFn = (c: Cpu, d: Int32Array, o: number) => number;

/**
 * The effective-address function for one decoded record, chosen at decode time: for the 64-bit
 * shapes a closure with the registers, scale and displacement captured (no record loads, no shape
 * test; constants once V8 inlines it into a compiled block), else `ea` itself.
 */
export function eaFor(d: Int32Array, o: number): EaFn {
  const shape = d[o + X_EA];
  const du = d[o + R_DISP_LO] >>> 0;
  const dh = d[o + R_DISP_HI];
  if (shape === EA_BASE_DISP) {
    const b = d[o + R_MBASE] << 1;
    return (c) => {
      const r = c.r;
      const s = (r[b] >>> 0) + du;
      c.eaHi = (r[b | 1] + dh + (s > 0xffffffff ? 1 : 0)) | 0;
      return s | 0;
    };
  }
  if (shape === EA_BASE_INDEX || shape === EA_INDEX_DISP) {
    const b = shape === EA_BASE_INDEX ? d[o + R_MBASE] << 1 : -1;
    const x = d[o + R_MINDEX] << 1;
    const sh = SCALE_SHIFT[d[o + R_MSCALE]];
    const rsh = 32 - sh;
    return (c) => {
      const r = c.r;
      const xl = r[x];
      const il = xl << sh;
      const ih = sh === 0 ? r[x | 1] : (r[x | 1] << sh) | (xl >>> rsh);
      const s1 = (b < 0 ? 0 : r[b] >>> 0) + du;
      const s2 = (s1 >>> 0) + (il >>> 0);
      c.eaHi = ((b < 0 ? 0 : r[b | 1]) + dh + ih + (s1 > 0xffffffff ? 1 : 0) + (s2 > 0xffffffff ? 1 : 0)) | 0;
      return s2 | 0;
    };
  }
  return ea;
}

/** base (a GPR, or RIP: REG_RIP << 1 is RIP_LO's slot) + displacement, 64-bit, no segment base. */
function eaBaseDisp(c: Cpu, d: Int32Array, o: number): number {
  const r = c.r;
  const b = d[o + R_MBASE] << 1;
  const s = (r[b] >>> 0) + (d[o + R_DISP_LO] >>> 0);
  c.eaHi = (r[b | 1] + d[o + R_DISP_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
  return s | 0;
}

/** base + index * scale + displacement, 64-bit, no segment base. */
function eaBaseIndex(c: Cpu, d: Int32Array, o: number): number {
  const r = c.r;
  const b = d[o + R_MBASE] << 1;
  const x = d[o + R_MINDEX] << 1;
  const sh = SCALE_SHIFT[d[o + R_MSCALE]];
  const il = r[x] << sh;
  const ih = sh === 0 ? r[x | 1] : (r[x | 1] << sh) | (r[x] >>> (32 - sh));
  const s1 = (r[b] >>> 0) + (d[o + R_DISP_LO] >>> 0);
  const s2 = (s1 >>> 0) + (il >>> 0);
  c.eaHi = (r[b | 1] + d[o + R_DISP_HI] + ih + (s1 > 0xffffffff ? 1 : 0) + (s2 > 0xffffffff ? 1 : 0)) | 0;
  return s2 | 0;
}

function eaGeneric(c: Cpu, d: Int32Array, o: number): number {
  const r = c.r;
  let lo = d[o + R_DISP_LO];
  let hi = d[o + R_DISP_HI];
  const base = d[o + R_MBASE];
  if (base >= 0) {
    let bl: number;
    let bh: number;
    if (base === REG_RIP) {
      bl = r[RIP_LO];
      bh = r[RIP_HI];
    } else {
      bl = r[base << 1];
      bh = r[(base << 1) | 1];
    }
    const s = (lo >>> 0) + (bl >>> 0);
    hi = (hi + bh + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  const index = d[o + R_MINDEX];
  if (index >= 0) {
    let il = r[index << 1];
    let ih = r[(index << 1) | 1];
    const scale = d[o + R_MSCALE];
    if (scale !== 1) {
      const sh = scale === 2 ? 1 : scale === 4 ? 2 : 3;
      ih = (ih << sh) | (il >>> (32 - sh));
      il <<= sh;
    }
    const s = (lo >>> 0) + (il >>> 0);
    hi = (hi + ih + (s > 0xffffffff ? 1 : 0)) | 0;
    lo = s | 0;
  }
  const asz = d[o + R_ASZ];
  if (asz !== 8) {
    hi = 0;
    if (asz === 2) lo &= 0xffff;
  }
  const seg = d[o + R_MSEG];
  if (c.mode64) {
    if (seg >= 4) {
      const sb = seg * SEG_STRIDE;
      const s = (lo >>> 0) + (c.st.seg[sb + S_BASE_LO] >>> 0);
      hi = (hi + c.st.seg[sb + S_BASE_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
      lo = s | 0;
    }
  } else {
    lo = segmentedEa(c, d, o, seg, lo);
  }
  c.eaHi = hi;
  return lo;
}

/** Linear address of seg:offset for string instructions and XLAT (offset already address-size truncated). */
export function segAddr(c: Cpu, seg: number, offLo: number, offHi: number): number {
  if (c.mode64) {
    if (seg >= 4) {
      const sb = seg * SEG_STRIDE;
      const s = (offLo >>> 0) + (c.st.seg[sb + S_BASE_LO] >>> 0);
      c.eaHi = (offHi + c.st.seg[sb + S_BASE_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
      return s | 0;
    }
    c.eaHi = offHi;
    return offLo;
  }
  c.eaHi = 0;
  return (offLo + c.st.seg[seg * SEG_STRIDE + S_BASE_LO]) | 0;
}

export function memRead(c: Cpu, size: number, lo: number, hi: number): number {
  const m = c.mmu;
  switch (size) {
    case 1:
      return m.read8(lo, hi);
    case 2:
      return m.read16(lo, hi);
    case 4:
      return m.read32(lo, hi);
    default: {
      const v = m.read64(lo, hi);
      c.hi = m.hi;
      return v;
    }
  }
}

export function memWrite(c: Cpu, size: number, lo: number, hi: number, v: number, vHi: number): void {
  const m = c.mmu;
  switch (size) {
    case 1:
      m.write8(lo, hi, v);
      return;
    case 2:
      m.write16(lo, hi, v);
      return;
    case 4:
      m.write32(lo, hi, v);
      return;
    default:
      m.write64(lo, hi, v, vHi);
  }
}

/** Reads a GPR of `size` bytes (8/16-bit zero-extended); 64-bit: high word in c.hi. */
export function regRead(c: Cpu, cls: number, reg: number, size: number): number {
  const r = c.r;
  if (cls === CLS_GPR8H) return (r[reg << 1] >>> 8) & 0xff;
  switch (size) {
    case 1:
      return r[reg << 1] & 0xff;
    case 2:
      return r[reg << 1] & 0xffff;
    case 4:
      return r[reg << 1];
    default:
      c.hi = r[(reg << 1) | 1];
      return r[reg << 1];
  }
}

/** Writes a GPR with the width rules (32-bit writes zero-extend, 8/16-bit merge). */
export function regWrite(c: Cpu, cls: number, reg: number, size: number, v: number, vHi: number): void {
  const r = c.r;
  const i = reg << 1;
  if (cls === CLS_GPR8H) {
    r[i] = (r[i] & 0xffff00ff) | ((v & 0xff) << 8);
    return;
  }
  switch (size) {
    case 1:
      r[i] = (r[i] & 0xffffff00) | (v & 0xff);
      return;
    case 2:
      r[i] = (r[i] & 0xffff0000) | (v & 0xffff);
      return;
    case 4:
      r[i] = v;
      r[i | 1] = 0;
      return;
    default:
      r[i] = v;
      r[i | 1] = vHi;
  }
}

/**
 * Reads operand k (register, memory or immediate) at its packed size. For a memory operand the
 * linear address is left in c.eaLo/c.eaHi so a read-modify-write can store back without
 * recomputing it. 64-bit: high word in c.hi.
 */
export function readOp(c: Cpu, d: Int32Array, o: number, k: number): number {
  const p = d[o + R_OP0 + k];
  const kind = p & 15;
  const size = p >>> 16;
  if (kind === OK_REG) {
    const cls = (p >>> 4) & 15;
    if (cls === CLS_GPR || cls === CLS_GPR8H) return regRead(c, cls, (p >>> 8) & 255, size);
    if (cls === CLS_SEG) return c.st.seg[((p >>> 8) & 255) * SEG_STRIDE + S_SEL] & 0xffff;
    raiseUD("register class not readable here");
  }
  if (kind === OK_MEM) {
    const lo = ea(c, d, o);
    c.eaLo = lo;
    return memRead(c, size, lo, c.eaHi);
  }
  if (kind === OK_IMM) {
    const lo = d[o + R_IMM_LO];
    if (size === 8) {
      c.hi = d[o + R_IMM_HI];
      return lo;
    }
    return size === 1 ? lo & 0xff : size === 2 ? lo & 0xffff : lo;
  }
  raiseUD("operand kind not readable");
}

/** Writes operand k; a memory operand reuses c.eaLo/c.eaHi when `again` (after readOp of the same operand). */
export function writeOp(
  c: Cpu,
  d: Int32Array,
  o: number,
  k: number,
  v: number,
  vHi: number,
  again: boolean,
): void {
  const p = d[o + R_OP0 + k];
  const kind = p & 15;
  const size = p >>> 16;
  if (kind === OK_REG) {
    regWrite(c, (p >>> 4) & 15, (p >>> 8) & 255, size, v, vHi);
    return;
  }
  if (kind === OK_MEM) {
    let lo: number;
    if (again) lo = c.eaLo;
    else {
      lo = ea(c, d, o);
      c.eaLo = lo;
    }
    memWrite(c, size, lo, c.eaHi, v, vHi);
    return;
  }
  raiseUD("operand kind not writable");
}

export const opIsReg = (p: number): boolean => (p & 15) === OK_REG;
export const opIsXmm = (p: number): boolean => (p & 15) === OK_REG && ((p >>> 4) & 15) === CLS_XMM;
export const hasRex = (d: Int32Array, o: number): boolean => (d[o + R_PFX] & PFX_REX) !== 0;

// ---- stack ----

/** Stack address size in bytes (8 in 64-bit mode, else SS.B ? 4 : 2). */
function stackPointer(c: Cpu, delta: number): number {
  const r = c.r;
  const sl = r[RSP << 1];
  if (c.mode64) {
    const s = (sl >>> 0) + delta;
    c.spHi = (r[(RSP << 1) | 1] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
    return s | 0;
  }
  c.spHi = 0;
  if (c.stack32) return (sl + delta) | 0;
  return (sl & 0xffff0000) | ((sl + delta) & 0xffff);
}

function setSp(c: Cpu, lo: number): void {
  const r = c.r;
  r[RSP << 1] = lo;
  if (c.mode64) r[(RSP << 1) | 1] = c.spHi;
}

/** Linear address of the stack slot at SP (address size applied) + the SS base outside 64-bit mode (limit-checked). */
function stackLinear(c: Cpu, sp: number, size: number): number {
  if (c.mode64) return sp;
  return segmentedLinear(c, 2, c.stack32 ? sp : sp & 0xffff, size, true);
}

export function push(c: Cpu, size: number, v: number, vHi: number): void {
  const sp = stackPointer(c, -size);
  const hi = c.spHi;
  const lin = stackLinear(c, sp, size);
  const m = c.mmu;
  if (size === 8) m.writeStack64(lin, hi, v, vHi);
  else if (size === 4) m.writeStack32(lin, hi, v);
  else m.writeStack16(lin, hi, v);
  setSp(c, sp);
}

/** Pops `size` bytes; 64-bit: high word in c.hi. */
export function pop(c: Cpu, size: number): number {
  const r = c.r;
  const cur = r[RSP << 1];
  const curHi = c.mode64 ? r[(RSP << 1) | 1] : 0;
  const lin = stackLinear(c, cur, size);
  const m = c.mmu;
  let v: number;
  if (size === 8) {
    v = m.readStack64(lin, curHi);
    c.hi = m.hi;
  } else if (size === 4) v = m.readStack32(lin, curHi);
  else v = m.readStack16(lin, curHi);
  setSp(c, stackPointer(c, size));
  return v;
}

/** Reads the stack slot `offset` bytes above SP without popping (RET imm16 / LEAVE helpers). */
export function adjustSp(c: Cpu, delta: number): void {
  setSp(c, stackPointer(c, delta));
}
