// String instructions MOVS, CMPS, STOS, LODS, SCAS with REP/REPE/REPNE (SDM Vol. 2 pages and
// Vol. 1 7.3.9): element sizes 1/2/4/8, address sizes 16/32/64 (SI/DI/CX wrap at the address
// size; 32-bit updates zero-extend), DF direction, the REPE/REPNE termination on ZF, and
// interruptible repetition: at most `maxIterations` per call, with registers reflecting every
// completed iteration, so the run loop can deliver an interrupt and re-execute.
// INS/OUTS are port I/O and belong to the run loop's io stop.

import { sub8, sub16, sub32, sub64 } from "./alu.js";
import type { DataMemory } from "./data-memory.js";
import { DF, getZF } from "./flags.js";
import { FLAGS_REST, hi, lo, RAX, RCX, RDI, type RegFile, RSI } from "./regs.js";
import { SEG_DS, SEG_ES } from "./segment.js";
import type { CpuState } from "./state.js";

export const StringOp = { MOVS: 0, CMPS: 1, STOS: 2, LODS: 3, SCAS: 4 } as const;
/** Prefix: none, F3 (REP / REPE), F2 (REPNE). */
export const RepPrefix = { NONE: 0, REPE: 1, REPNE: 2 } as const;

function readReg(r: RegFile, n: number, addrBits: number): [number, number] {
  if (addrBits === 64) return [r[lo(n)], r[hi(n)]];
  if (addrBits === 32) return [r[lo(n)], 0];
  return [r[lo(n)] & 0xffff, 0];
}

/** Add `delta` to register n at the address size (16: low word only; 32: zero-extends). */
function step(r: RegFile, n: number, addrBits: number, delta: number): void {
  const l = r[lo(n)];
  if (addrBits === 64) {
    const s = (l >>> 0) + delta;
    r[lo(n)] = s | 0;
    r[hi(n)] = (r[hi(n)] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
  } else if (addrBits === 32) {
    r[lo(n)] = (l + delta) | 0;
    r[hi(n)] = 0;
  } else {
    r[lo(n)] = (l & 0xffff0000) | ((l + delta) & 0xffff);
  }
}

function countIsZero(r: RegFile, addrBits: number): boolean {
  if (addrBits === 64) return (r[lo(RCX)] | r[hi(RCX)]) === 0;
  if (addrBits === 32) return r[lo(RCX)] === 0;
  return (r[lo(RCX)] & 0xffff) === 0;
}

// Element value as lo/hi (hi only for 8-byte elements).
let elemHi = 0;
function load(
  mem: DataMemory,
  seg: number,
  offLo: number,
  offHi: number,
  size: number,
  addrBits: number,
): number {
  if (size < 8) {
    elemHi = 0;
    return mem.read(seg, offLo, offHi, size as 1 | 2 | 4);
  }
  const v = mem.read(seg, offLo, offHi, 4);
  const next = addrBits === 16 ? (offLo + 4) & 0xffff : (offLo + 4) | 0;
  elemHi = mem.read(seg, next, addrBits === 64 && next >>> 0 < offLo >>> 0 ? (offHi + 1) | 0 : offHi, 4);
  return v;
}
function store(
  mem: DataMemory,
  seg: number,
  offLo: number,
  offHi: number,
  size: number,
  addrBits: number,
  vLo: number,
  vHi: number,
): void {
  if (size < 8) {
    mem.write(seg, offLo, offHi, size as 1 | 2 | 4, vLo);
    return;
  }
  mem.write(seg, offLo, offHi, 4, vLo);
  const next = addrBits === 16 ? (offLo + 4) & 0xffff : (offLo + 4) | 0;
  mem.write(seg, next, addrBits === 64 && next >>> 0 < offLo >>> 0 ? (offHi + 1) | 0 : offHi, 4, vHi);
}

function compare(r: RegFile, size: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  if (size === 1) sub8(r, aLo, bLo);
  else if (size === 2) sub16(r, aLo, bLo);
  else if (size === 4) sub32(r, aLo, bLo);
  else sub64(r, aLo, aHi, bLo, bHi);
}

/**
 * Execute a string instruction. `srcSeg` is DS unless overridden (the destination is always
 * ES). Returns true when the instruction is complete (advance RIP), false when REP
 * iterations remain after `maxIterations` (leave RIP; re-execute after pending events).
 */
export function stringOp(
  cpu: CpuState,
  mem: DataMemory,
  op: number,
  size: 1 | 2 | 4 | 8,
  addrBits: 16 | 32 | 64,
  rep: number,
  srcSeg: number = SEG_DS,
  maxIterations = 0x7fffffff,
): boolean {
  const r = cpu.r;
  const delta = r[FLAGS_REST] & DF ? -size : size;
  for (let n = 0; ; n++) {
    if (rep !== RepPrefix.NONE) {
      if (countIsZero(r, addrBits)) return true;
      if (n >= maxIterations) return false;
    }
    const [siLo, siHi] = readReg(r, RSI, addrBits);
    const [diLo, diHi] = readReg(r, RDI, addrBits);
    switch (op) {
      case StringOp.MOVS: {
        const v = load(mem, srcSeg, siLo, siHi, size, addrBits);
        store(mem, SEG_ES, diLo, diHi, size, addrBits, v, elemHi);
        step(r, RSI, addrBits, delta);
        step(r, RDI, addrBits, delta);
        break;
      }
      case StringOp.STOS:
        store(mem, SEG_ES, diLo, diHi, size, addrBits, r[lo(RAX)], r[hi(RAX)]);
        step(r, RDI, addrBits, delta);
        break;
      case StringOp.LODS: {
        const v = load(mem, srcSeg, siLo, siHi, size, addrBits);
        writeAccumulator(r, size, v, elemHi);
        step(r, RSI, addrBits, delta);
        break;
      }
      case StringOp.CMPS: {
        const a = load(mem, srcSeg, siLo, siHi, size, addrBits);
        const aHi = elemHi;
        const b = load(mem, SEG_ES, diLo, diHi, size, addrBits);
        compare(r, size, a, aHi, b, elemHi);
        step(r, RSI, addrBits, delta);
        step(r, RDI, addrBits, delta);
        break;
      }
      case StringOp.SCAS: {
        const b = load(mem, SEG_ES, diLo, diHi, size, addrBits);
        compare(r, size, r[lo(RAX)], r[hi(RAX)], b, elemHi);
        step(r, RDI, addrBits, delta);
        break;
      }
      default:
        throw new RangeError(`stringOp: unknown op ${op}`);
    }
    if (rep === RepPrefix.NONE) return true;
    step(r, RCX, addrBits, -1);
    if (op === StringOp.CMPS || op === StringOp.SCAS) {
      const zf = getZF(r);
      if ((rep === RepPrefix.REPE && zf === 0) || (rep === RepPrefix.REPNE && zf === 1)) return true;
    }
  }
}

function writeAccumulator(r: RegFile, size: number, vLo: number, vHi: number): void {
  const i = lo(RAX);
  if (size === 1) r[i] = (r[i] & ~0xff) | (vLo & 0xff);
  else if (size === 2) r[i] = (r[i] & ~0xffff) | (vLo & 0xffff);
  else {
    r[i] = vLo;
    r[i + 1] = size === 8 ? vHi : 0;
  }
}
