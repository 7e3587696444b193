// String instructions MOVS/STOS/LODS/CMPS/SCAS with REP/REPE/REPNE. A long REP runs in chunks:
// after CHUNK elements the instruction is left pending (RIP back at it, registers reflect the
// progress), so budgets, interrupts and stops stay responsive; each chunk counts as one retirement.
import { PFX_REP, PFX_REPNE, R_ASZ, R_LEN, R_OP0, R_PFX, R_SEG } from "../decoder/record.js";
import * as alu from "../exec/alu.js";
import { subByWidth } from "../exec/alu-width.js";
import { DF, getZF } from "../exec/flags.js";
import { FLAGS_REST, RAX, RCX, RDI, RIP_HI, RIP_LO, RSI } from "../exec/regs.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { memRead, memWrite, regWrite, segAddr } from "./operands.js";
import { segmentedLinear } from "./segment-limits.js";

const CHUNK = 4096;
const SEG_ES = 0;
const SEG_DS = 3;

export const STR_MOVS = 0;
export const STR_STOS = 1;
export const STR_LODS = 2;
export const STR_CMPS = 3;
export const STR_SCAS = 4;

/** Reads index register `reg` at address size asz (zero-extended); high word in c.hi. */
function idx(c: Cpu, reg: number, asz: number): number {
  const r = c.r;
  if (asz === 8) {
    c.hi = r[(reg << 1) | 1];
    return r[reg << 1];
  }
  c.hi = 0;
  return asz === 4 ? r[reg << 1] : r[reg << 1] & 0xffff;
}

function advance(c: Cpu, reg: number, asz: number, delta: number): void {
  const r = c.r;
  if (asz === 8) {
    const s = (r[reg << 1] >>> 0) + delta;
    r[(reg << 1) | 1] = (r[(reg << 1) | 1] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
    r[reg << 1] = s | 0;
  } else regWrite(c, 1, reg, asz, (r[reg << 1] + delta) | 0, 0);
}

/** Element count of a REP prefix (rCX by address size) is zero? */
export function countZero(c: Cpu, asz: number): boolean {
  const r = c.r;
  if (asz === 8) return (r[RCX << 1] | r[(RCX << 1) | 1]) === 0;
  return (asz === 4 ? r[RCX << 1] : r[RCX << 1] & 0xffff) === 0;
}

export function decCount(c: Cpu, asz: number): void {
  advance(c, RCX, asz, -1);
}

/** Source address seg:rSI (override honoured) for a `size`-byte element; high word in c.eaHi. */
export function srcAddr(c: Cpu, d: Int32Array, o: number, asz: number, size = 1): number {
  const off = idx(c, RSI, asz);
  const seg = d[o + R_SEG] >= 0 ? d[o + R_SEG] : SEG_DS;
  if (c.mode64) return segAddr(c, seg, off, c.hi);
  c.eaHi = 0;
  return segmentedLinear(c, seg, off, size, false);
}

/** Destination address ES:rDI (written by MOVS/STOS/INS, read by CMPS/SCAS). */
export function dstAddr(c: Cpu, asz: number, size = 1, write = true): number {
  const off = idx(c, RDI, asz);
  if (c.mode64) return segAddr(c, SEG_ES, off, c.hi);
  c.eaHi = 0;
  return segmentedLinear(c, SEG_ES, off, size, write);
}

/** Puts RIP back at the current instruction (so it runs again) and ends the block. */
export function rewind(c: Cpu, d: Int32Array, o: number): void {
  const r = c.r;
  const s = (r[RIP_LO] >>> 0) - d[o + R_LEN];
  r[RIP_LO] = s | 0;
  if (s < 0 && c.mode64) r[RIP_HI] = (r[RIP_HI] - 1) | 0;
  c.breakBlock = true;
}

export function selectString(kind: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const size = d[o + R_OP0] >>> 16;
    const asz = d[o + R_ASZ];
    const pfx = d[o + R_PFX];
    const rep = (pfx & (PFX_REP | PFX_REPNE)) !== 0;
    const delta = r[FLAGS_REST] & DF ? -size : size;
    const cond = kind === STR_CMPS || kind === STR_SCAS;
    const repne = (pfx & PFX_REPNE) !== 0;
    for (let n = 0; ; n++) {
      if (rep) {
        if (countZero(c, asz)) return;
        if (n === CHUNK) {
          rewind(c, d, o);
          return;
        }
      }
      switch (kind) {
        case STR_MOVS: {
          const s = srcAddr(c, d, o, asz, size);
          const v = memRead(c, size, s, c.eaHi);
          const vHi = c.hi;
          const t = dstAddr(c, asz, size);
          memWrite(c, size, t, c.eaHi, v, vHi);
          advance(c, RSI, asz, delta);
          advance(c, RDI, asz, delta);
          break;
        }
        case STR_STOS: {
          const t = dstAddr(c, asz, size);
          memWrite(c, size, t, c.eaHi, r[RAX << 1], r[(RAX << 1) | 1]);
          advance(c, RDI, asz, delta);
          break;
        }
        case STR_LODS: {
          const s = srcAddr(c, d, o, asz, size);
          const v = memRead(c, size, s, c.eaHi);
          regWrite(c, 1, RAX, size, v, c.hi);
          advance(c, RSI, asz, delta);
          break;
        }
        case STR_CMPS: {
          const s = srcAddr(c, d, o, asz, size);
          const a = memRead(c, size, s, c.eaHi);
          const aHi = c.hi;
          const t = dstAddr(c, asz, size, false);
          const b = memRead(c, size, t, c.eaHi);
          compare(c, size, a, aHi, b, c.hi);
          advance(c, RSI, asz, delta);
          advance(c, RDI, asz, delta);
          break;
        }
        default: {
          const t = dstAddr(c, asz, size, false);
          const b = memRead(c, size, t, c.eaHi);
          compare(c, size, r[RAX << 1], r[(RAX << 1) | 1], b, c.hi);
          advance(c, RDI, asz, delta);
        }
      }
      if (!rep) return;
      decCount(c, asz);
      if (cond && getZF(r) === (repne ? 1 : 0)) return;
    }
  };
}

function compare(c: Cpu, size: number, a: number, aHi: number, b: number, bHi: number): void {
  if (size === 8) alu.sub64(c.r, a, aHi, b, bHi);
  else if (size === 4) alu.sub32(c.r, a, b);
  else subByWidth(c.r, size * 8, a, b);
}
