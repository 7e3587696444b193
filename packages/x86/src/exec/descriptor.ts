// Segment descriptors: reading them from the GDT/LDT and loading data/stack segment
// registers with the protected-mode checks of the MOV/POP Sreg instruction pages (SDM Vol. 2)
// and Vol. 3A 5.5-5.7. Error codes carry the selector (index, TI) with RPL bits cleared.

import { raiseGP, Vector, X86Exception } from "./exception.js";
import { EFER_LMA } from "./msr.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  AR_UNUSABLE,
  attrFromDescriptorHigh,
  byteLimit,
  S_ATTR,
  S_BASE_HI,
  S_BASE_LO,
  S_LIMIT,
  SEG_CS,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_STRIDE,
  setSegment,
} from "./segment.js";
import { type CpuState, CR0_PE, cpl } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

/** A decoded 8-byte descriptor. */
export interface Descriptor {
  lo: number;
  hi: number;
  base: number;
  /** Byte-granular limit (G applied). */
  limit: number;
  /** VMX access-rights layout (segment.ts). */
  attr: number;
  /** Where it lives, for setting the accessed bit. */
  addrLo: number;
  addrHi: number;
}

export const descType = (attr: number): number => attr & 0xf;
export const descDpl = (attr: number): number => (attr >>> AR_DPL_SHIFT) & 3;
export const isCodeSegment = (attr: number): boolean => (attr & AR_S) !== 0 && (attr & 8) !== 0;
export const isDataSegment = (attr: number): boolean => (attr & AR_S) !== 0 && (attr & 8) === 0;
export const isConforming = (attr: number): boolean => isCodeSegment(attr) && (attr & 4) !== 0;

export function decodeDescriptor(lo: number, hi: number, addrLo = 0, addrHi = 0): Descriptor {
  const attr = attrFromDescriptorHigh(hi);
  const rawLimit = (lo & 0xffff) | (hi & 0xf0000);
  return {
    lo,
    hi,
    base: ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0,
    limit: byteLimit(rawLimit, (attr & AR_G) !== 0),
    attr,
    addrLo,
    addrHi,
  };
}

/**
 * Read the descriptor named by `selector` (not null). Beyond the table limit, or an LDT
 * reference without a usable LDT, raises `faultVector` (#GP by default, #TS during task and
 * gate processing) with the selector error code (+EXT).
 */
export function readDescriptor(
  cpu: CpuState,
  mem: SystemMemory,
  selector: number,
  ext: number,
  faultVector: number = Vector.GP,
): Descriptor {
  const code = (selector & 0xfffc) | ext;
  const index = selector & 0xfff8;
  let baseLo: number;
  let baseHi: number;
  let limit: number;
  if (selector & 4) {
    const i = SEG_LDTR * SEG_STRIDE;
    if (cpu.seg[i + S_ATTR] & AR_UNUSABLE || (cpu.seg[i] & 0xfffc) === 0) {
      throw new X86Exception(faultVector, code, "LDT selector with no LDT loaded");
    }
    baseLo = cpu.seg[i + S_BASE_LO];
    baseHi = cpu.seg[i + S_BASE_HI];
    limit = cpu.seg[i + S_LIMIT] >>> 0;
  } else {
    baseLo = cpu.gdtrBaseLo;
    baseHi = cpu.gdtrBaseHi;
    limit = cpu.gdtrLimit;
  }
  if (index + 7 > limit)
    throw new X86Exception(faultVector, code, `selector 0x${selector.toString(16)} beyond table limit`);
  const aLo = addLinear(baseLo, cpu.efer & EFER_LMA ? baseHi : 0, index);
  const aHi = cpu.efer & EFER_LMA ? addHi : 0;
  const lo = mem.readU32(aLo, aHi, false);
  const hiAddr = addLinear(aLo, aHi, 4);
  const hi = mem.readU32(hiAddr, addHi, false);
  return decodeDescriptor(lo, hi, aLo, aHi);
}

/** Set the accessed bit in memory (segment loads do this as a locked write). */
export function markAccessed(mem: SystemMemory, d: Descriptor): void {
  if (d.hi & 0x100) return;
  const a = addLinear(d.addrLo, d.addrHi, 4);
  mem.writeU32(a, addHi, d.hi | 0x100, false);
  d.hi |= 0x100;
  d.attr |= 1;
}

/**
 * MOV/POP to DS, ES, FS, GS or SS in protected mode (SDM MOV: "IF SS is loaded ... ELSE IF DS,
 * ES, FS, or GS is loaded"). Real mode loads base = selector << 4.
 */
export function loadDataSegment(cpu: CpuState, mem: SystemMemory, seg: number, selector: number): void {
  selector &= 0xffff;
  const i = seg * SEG_STRIDE;
  if (!(cpu.cr0 & CR0_PE)) {
    cpu.seg[i] = selector;
    cpu.seg[i + S_BASE_LO] = selector << 4;
    cpu.seg[i + S_BASE_HI] = 0;
    return;
  }
  if (seg === SEG_CS) throw new RangeError("loadDataSegment: CS is loaded by far transfers, not MOV/POP");
  const level = cpl(cpu);
  const rpl = selector & 3;
  const code = selector & 0xfffc;
  const long64 = (cpu.efer & EFER_LMA) !== 0 && (cpu.seg[SEG_CS * SEG_STRIDE + S_ATTR] & AR_L) !== 0;
  if ((selector & 0xfffc) === 0) {
    if (seg === SEG_SS) {
      // A null SS is legal only in 64-bit mode at CPL < 3 with RPL = CPL.
      if (!long64 || level === 3 || rpl !== level) raiseGP(0, "null selector loaded into SS");
    }
    // Null selector: the register becomes unusable; in 64-bit mode FS/GS keep their base.
    const keepBase = long64 && (seg === SEG_FS || seg === SEG_GS);
    setSegment(
      cpu.seg,
      seg,
      selector,
      keepBase ? cpu.seg[i + S_BASE_LO] : 0,
      keepBase ? cpu.seg[i + S_BASE_HI] : 0,
      0,
      AR_UNUSABLE | (seg === SEG_SS ? level << AR_DPL_SHIFT : 0),
    );
    return;
  }
  const d = readDescriptor(cpu, mem, selector, 0);
  const dpl = descDpl(d.attr);
  if (seg === SEG_SS) {
    if (rpl !== level) raiseGP(code, "SS selector RPL != CPL");
    if (!isDataSegment(d.attr) || !(d.attr & 2)) raiseGP(code, "SS must be a writable data segment");
    if (dpl !== level) raiseGP(code, "SS descriptor DPL != CPL");
    if (!(d.attr & AR_P)) throw new X86Exception(Vector.SS, code, "stack segment not present");
  } else {
    const readableCode = isCodeSegment(d.attr) && (d.attr & 2) !== 0;
    if (!isDataSegment(d.attr) && !readableCode) raiseGP(code, "not a data or readable code segment");
    if (isDataSegment(d.attr) || !isConforming(d.attr)) {
      if (rpl > dpl || level > dpl) raiseGP(code, "RPL or CPL above the descriptor's DPL");
    }
    if (!(d.attr & AR_P)) throw new X86Exception(Vector.NP, code, "segment not present");
  }
  markAccessed(mem, d);
  setSegment(cpu.seg, seg, selector, d.base | 0, 0, d.limit | 0, d.attr);
}

/** Code-segment attributes check shared by far transfers and event delivery. */
export function isLongCode(attr: number): boolean {
  return (attr & AR_L) !== 0 && (attr & AR_DB) === 0;
}
