// IRET/IRETD/IRETQ in protected and IA-32e mode (SDM Vol. 2 IRET pseudocode,
// PROTECTED-MODE-RETURN): same-level and outer-level returns, the selector checks with
// their error codes, the CPL/IOPL rules for which RFLAGS bits change, nulling data segments
// that the outer level may not use, and NMI unblocking. Task returns (NT=1) and returns to
// virtual-8086 mode stop as unsupported.

import {
  descDpl,
  isCodeSegment,
  isConforming,
  isDataSegment,
  isLongCode,
  markAccessed,
  readDescriptor,
} from "./descriptor.js";
import { raiseGP, UnsupportedError, Vector, X86Exception } from "./exception.js";
import {
  AC,
  ARITH_FLAGS,
  DF,
  ID,
  IF,
  IOPL,
  NT,
  RF,
  readRflags,
  TF,
  VIF,
  VIP,
  VM,
  writeRflags,
} from "./flags.js";
import { EFER_LMA, isCanonicalForMode } from "./msr.js";
import { hi, lo, RIP_HI, RIP_LO, RSP } from "./regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_L,
  AR_P,
  AR_UNUSABLE,
  S_ATTR,
  S_BASE_LO,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
  SEG_STRIDE,
  segAttr,
  setSegment,
} from "./segment.js";
import { type CpuState, CR0_PE, cpl } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

/** IRET with operand size 32 or 64 (16-bit IRET stops as unsupported). */
export function iret(cpu: CpuState, mem: SystemMemory, operandBits: 32 | 64): void {
  if (!(cpu.cr0 & CR0_PE)) throw new UnsupportedError("real-mode IRET");
  const r = cpu.r;
  const flags = readRflags(r);
  if (flags & VM) throw new UnsupportedError("IRET in virtual-8086 mode");
  const long = (cpu.efer & EFER_LMA) !== 0;
  if (flags & NT) {
    if (long) raiseGP(0, "IRET with NT=1 in IA-32e mode");
    throw new UnsupportedError("IRET task return (NT=1)");
  }
  const mode64 = long && (segAttr(cpu.seg, SEG_CS) & AR_L) !== 0;
  const slot = operandBits === 64 ? 8 : 4;

  // Stack reads: 64-bit mode uses RSP directly; otherwise SS.base + ESP (or SP).
  const ssAttr = cpu.seg[SEG_SS * SEG_STRIDE + S_ATTR];
  const ssBase = cpu.seg[SEG_SS * SEG_STRIDE + S_BASE_LO];
  const bigStack = mode64 || (ssAttr & AR_DB) !== 0;
  const spLo = r[lo(RSP)];
  const spHi = mode64 ? r[hi(RSP)] : 0;
  const level = cpl(cpu);
  const readSlot = (k: number): [number, number] => {
    if (mode64) {
      const a = addLinear(spLo, spHi, k * slot);
      const ah = addHi;
      const vLo = mem.readU32(a, ah, level === 3);
      const vHi = slot === 8 ? mem.readU32(addLinear(a, ah, 4), addHi, level === 3) : 0;
      return [vLo, vHi];
    }
    const off = bigStack ? (spLo + k * slot) >>> 0 : (spLo + k * slot) & 0xffff;
    return [mem.readU32((ssBase + off) | 0, 0, level === 3), 0];
  };

  const [ripLo, ripHi] = readSlot(0);
  const csSel = readSlot(1)[0] & 0xffff;
  const newFlags = readSlot(2)[0];
  if (!long && newFlags & VM && level === 0) throw new UnsupportedError("IRET to virtual-8086 mode");

  if ((csSel & 0xfffc) === 0) raiseGP(0, "IRET to a null CS");
  const csCode = csSel & 0xfffc;
  const cs = readDescriptor(cpu, mem, csSel, 0);
  const rpl = csSel & 3;
  if (!isCodeSegment(cs.attr)) raiseGP(csCode, "IRET CS is not a code segment");
  if (rpl < level) raiseGP(csCode, "IRET CS RPL below CPL");
  if (long && cs.attr & AR_L && cs.attr & AR_DB) raiseGP(csCode, "IRET CS has L=1 and D=1");
  const dpl = descDpl(cs.attr);
  if (isConforming(cs.attr) ? dpl > rpl : dpl !== rpl) raiseGP(csCode, "IRET CS DPL does not match RPL");
  if (!(cs.attr & AR_P)) throw new X86Exception(Vector.NP, csCode, "IRET CS not present");
  const toLong = long && isLongCode(cs.attr);
  if (toLong ? !isCanonicalForMode(cpu, ripHi) : ripLo >>> 0 > cs.limit) {
    raiseGP(0, "IRET target RIP not canonical or beyond CS limit");
  }

  const outer = rpl > level;
  let newSpLo: number;
  let newSpHi = 0;
  let ss: { sel: number; base: number; limit: number; attr: number } | null = null;
  if (outer || mode64) {
    const [sLo, sHi] = readSlot(3);
    const ssSel = readSlot(4)[0] & 0xffff;
    newSpLo = sLo;
    newSpHi = mode64 ? sHi : 0;
    if ((ssSel & 0xfffc) === 0) {
      // A null SS is allowed only returning to 64-bit code at RPL < 3.
      if (!toLong || rpl === 3) raiseGP(0, "IRET to a null SS");
      ss = { sel: ssSel, base: 0, limit: 0, attr: AR_UNUSABLE | (rpl << AR_DPL_SHIFT) };
    } else {
      const ssCode = ssSel & 0xfffc;
      const d = readDescriptor(cpu, mem, ssSel, 0);
      if ((ssSel & 3) !== rpl) raiseGP(ssCode, "IRET SS RPL != CS RPL");
      if (!isDataSegment(d.attr) || !(d.attr & 2)) raiseGP(ssCode, "IRET SS is not a writable data segment");
      if (descDpl(d.attr) !== rpl) raiseGP(ssCode, "IRET SS DPL != CS RPL");
      if (!(d.attr & AR_P)) throw new X86Exception(Vector.SS, ssCode, "IRET SS not present");
      markAccessed(mem, d);
      ss = { sel: ssSel, base: d.base, limit: d.limit, attr: d.attr | 1 };
    }
  } else {
    newSpLo = bigStack ? (spLo + 3 * slot) | 0 : (spLo & 0xffff0000) | ((spLo + 3 * slot) & 0xffff);
  }

  // Commit.
  markAccessed(mem, cs);
  setSegment(cpu.seg, SEG_CS, csSel, cs.base, 0, cs.limit, cs.attr | 1);
  if (ss) setSegment(cpu.seg, SEG_SS, ss.sel, ss.base, 0, ss.limit, ss.attr);
  r[lo(RSP)] = newSpLo;
  r[hi(RSP)] = newSpHi;
  r[RIP_LO] = ripLo;
  r[RIP_HI] = toLong ? ripHi : 0;

  let changeable = ARITH_FLAGS | TF | DF | NT | RF | AC | ID;
  if (level <= (flags & IOPL) >>> 12) changeable |= IF;
  if (level === 0) changeable |= IOPL | VIF | VIP | IF;
  writeRflags(r, (flags & ~changeable) | (newFlags & changeable));

  if (outer) {
    // Data segments the outer level may not use become null.
    for (const seg of [SEG_ES, SEG_DS, SEG_FS, SEG_GS]) {
      const attr = segAttr(cpu.seg, seg);
      if (attr & AR_UNUSABLE) continue;
      const dataOrNonconforming = isDataSegment(attr) || (isCodeSegment(attr) && !isConforming(attr));
      if (dataOrNonconforming && descDpl(attr) < rpl) {
        const i = seg * SEG_STRIDE;
        const keepBase = long && (seg === SEG_FS || seg === SEG_GS);
        setSegment(
          cpu.seg,
          seg,
          0,
          keepBase ? cpu.seg[i + 1] : 0,
          keepBase ? cpu.seg[i + 2] : 0,
          0,
          AR_UNUSABLE,
        );
      }
    }
  }
  cpu.nmiBlocked = false;
}
