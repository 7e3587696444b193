// Far transfers and system-segment loads in protected / IA-32e mode (SDM Vol. 2: JMP, CALL,
// RET (far), LTR, LLDT, LGDT/LIDT): the code-segment checks with selector error codes,
// pushes/pops of CS:RIP, outer-level far returns, TSS busy marking, 16-byte system
// descriptors in IA-32e mode. Call gates, task switches and real mode are not implemented and
// raise UnsupportedError (no mainstream 64-bit kernel uses them).

import {
  type Descriptor,
  descDpl,
  isCodeSegment,
  isConforming,
  isDataSegment,
  isLongCode,
  markAccessed,
  readDescriptor,
} from "./descriptor.js";
import { raiseGP, UnsupportedError, Vector, X86Exception } from "./exception.js";
import { EFER_LMA, isCanonical, isCanonicalForMode } from "./msr.js";
import { hi, lo, RIP_HI, RIP_LO, RSP } from "./regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_L,
  AR_P,
  AR_S,
  AR_UNUSABLE,
  S_BASE_LO,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_STRIDE,
  SEG_TR,
  segAttr,
  segSelector,
  setSegment,
} from "./segment.js";
import { type CpuState, CR0_PE, cpl } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

function in64BitMode(cpu: CpuState): boolean {
  return (cpu.efer & EFER_LMA) !== 0 && (segAttr(cpu.seg, SEG_CS) & AR_L) !== 0;
}

/** Checks shared by far JMP and far CALL to a code segment (not through a gate). */
function checkDirectTarget(
  cpu: CpuState,
  mem: SystemMemory,
  selector: number,
  offLo: number,
  offHi: number,
): Descriptor {
  if (!(cpu.cr0 & CR0_PE)) throw new UnsupportedError("far transfer in real mode");
  if ((selector & 0xfffc) === 0) raiseGP(0, "far transfer to a null selector");
  const code = selector & 0xfffc;
  const d = readDescriptor(cpu, mem, selector, 0);
  if (!(d.attr & AR_S)) throw new UnsupportedError("far transfer through a call gate, TSS or task gate");
  if (!isCodeSegment(d.attr)) raiseGP(code, "far transfer target is not a code segment");
  const level = cpl(cpu);
  const dpl = descDpl(d.attr);
  if (isConforming(d.attr)) {
    if (dpl > level) raiseGP(code, "conforming target DPL above CPL");
  } else if ((selector & 3) > level || dpl !== level) {
    raiseGP(code, "nonconforming target: RPL above CPL or DPL != CPL");
  }
  if (!(d.attr & AR_P)) throw new X86Exception(Vector.NP, code, "target code segment not present");
  const long = (cpu.efer & EFER_LMA) !== 0;
  if (long && d.attr & AR_L && d.attr & AR_DB) raiseGP(code, "target has L=1 and D=1");
  if (long && isLongCode(d.attr)) {
    if (!isCanonicalForMode(cpu, offHi)) raiseGP(0, "target RIP not canonical");
  } else if (offHi !== 0 || offLo >>> 0 > d.limit) {
    raiseGP(0, "target EIP beyond the CS limit");
  }
  return d;
}

function loadCs(
  cpu: CpuState,
  mem: SystemMemory,
  d: Descriptor,
  selector: number,
  rpl: number,
  offLo: number,
  offHi: number,
): void {
  markAccessed(mem, d);
  setSegment(cpu.seg, SEG_CS, (selector & 0xfffc) | rpl, d.base, 0, d.limit, d.attr | 1);
  cpu.r[RIP_LO] = offLo;
  cpu.r[RIP_HI] = isLongCode(d.attr) && cpu.efer & EFER_LMA ? offHi : 0;
}

/** JMP ptr16:32 / JMP m16:32 / JMP m16:64 to a code segment. */
export function farJump(cpu: CpuState, mem: SystemMemory, selector: number, offLo: number, offHi = 0): void {
  const d = checkDirectTarget(cpu, mem, selector, offLo, offHi);
  loadCs(cpu, mem, d, selector, cpl(cpu), offLo, offHi);
}

/** Stack access at the current SS:RSP (64-bit mode: RSP alone) for `bytes` 4 or 8. */
function stackAddress(cpu: CpuState, offset: number): [number, number] {
  const r = cpu.r;
  if (in64BitMode(cpu)) {
    const a = addLinear(r[lo(RSP)], r[hi(RSP)], offset);
    return [a, addHi];
  }
  const big = (segAttr(cpu.seg, SEG_SS) & AR_DB) !== 0;
  const sp = big ? (r[lo(RSP)] + offset) >>> 0 : (r[lo(RSP)] + offset) & 0xffff;
  return [(cpu.seg[SEG_SS * SEG_STRIDE + S_BASE_LO] + sp) | 0, 0];
}

function writeSlot(
  cpu: CpuState,
  mem: SystemMemory,
  offset: number,
  bytes: number,
  vLo: number,
  vHi: number,
): void {
  const user = cpl(cpu) === 3;
  const [a, ah] = stackAddress(cpu, offset);
  mem.writeU32(a, ah, vLo, user);
  if (bytes === 8) mem.writeU32(addLinear(a, ah, 4), addHi, vHi, user);
}

function readSlot(cpu: CpuState, mem: SystemMemory, offset: number, bytes: number): [number, number] {
  const user = cpl(cpu) === 3;
  const [a, ah] = stackAddress(cpu, offset);
  const vLo = mem.readU32(a, ah, user);
  return [vLo, bytes === 8 ? mem.readU32(addLinear(a, ah, 4), addHi, user) : 0];
}

function adjustSp(cpu: CpuState, delta: number): void {
  const r = cpu.r;
  if (in64BitMode(cpu)) {
    r[lo(RSP)] = addLinear(r[lo(RSP)], r[hi(RSP)], delta);
    r[hi(RSP)] = addHi;
  } else if (segAttr(cpu.seg, SEG_SS) & AR_DB) {
    r[lo(RSP)] = (r[lo(RSP)] + delta) | 0;
    r[hi(RSP)] = 0;
  } else {
    r[lo(RSP)] = (r[lo(RSP)] & 0xffff0000) | ((r[lo(RSP)] + delta) & 0xffff);
  }
}

/** CALL far to a code segment: pushes CS and the return RIP (already in RIP) with `operandBits` 32 or 64. */
export function farCall(
  cpu: CpuState,
  mem: SystemMemory,
  selector: number,
  offLo: number,
  offHi: number,
  operandBits: 32 | 64,
): void {
  const d = checkDirectTarget(cpu, mem, selector, offLo, offHi);
  const bytes = operandBits / 8;
  // Both pushes happen before anything is committed, so a #PF/#SS leaves the state intact.
  writeSlot(cpu, mem, -bytes, bytes, segSelector(cpu.seg, SEG_CS), 0);
  writeSlot(cpu, mem, -2 * bytes, bytes, cpu.r[RIP_LO], cpu.r[RIP_HI]);
  adjustSp(cpu, -2 * bytes);
  loadCs(cpu, mem, d, selector, cpl(cpu), offLo, offHi);
}

/** RET far (with `popBytes` from RET imm16), same or outer privilege level. */
export function farReturn(cpu: CpuState, mem: SystemMemory, operandBits: 32 | 64, popBytes = 0): void {
  if (!(cpu.cr0 & CR0_PE)) throw new UnsupportedError("far return in real mode");
  const bytes = operandBits / 8;
  const [ripLo, ripHi] = readSlot(cpu, mem, 0, bytes);
  const selector = readSlot(cpu, mem, bytes, bytes)[0] & 0xffff;
  if ((selector & 0xfffc) === 0) raiseGP(0, "far return to a null selector");
  const code = selector & 0xfffc;
  const d = readDescriptor(cpu, mem, selector, 0);
  const level = cpl(cpu);
  const rpl = selector & 3;
  if (!isCodeSegment(d.attr)) raiseGP(code, "far return target is not a code segment");
  if (rpl < level) raiseGP(code, "far return RPL below CPL");
  const dpl = descDpl(d.attr);
  if (isConforming(d.attr) ? dpl > rpl : dpl !== rpl) raiseGP(code, "far return DPL does not match RPL");
  if (!(d.attr & AR_P)) throw new X86Exception(Vector.NP, code, "far return code segment not present");
  const long = (cpu.efer & EFER_LMA) !== 0;
  const toLong = long && isLongCode(d.attr);
  if (toLong ? !isCanonicalForMode(cpu, ripHi) : ripLo >>> 0 > d.limit) {
    raiseGP(0, "far return RIP not canonical or beyond CS limit");
  }
  if (rpl === level) {
    adjustSp(cpu, 2 * bytes + popBytes);
    loadCs(cpu, mem, d, selector, rpl, ripLo, toLong ? ripHi : 0);
    return;
  }
  // Outer level: SS:RSP follow the immediate's pop area.
  const [spLo, spHi] = readSlot(cpu, mem, 2 * bytes + popBytes, bytes);
  const ssSel = readSlot(cpu, mem, 3 * bytes + popBytes, bytes)[0] & 0xffff;
  let ssBase = 0;
  let ssLimit = 0;
  let ssAttr = AR_UNUSABLE | (rpl << AR_DPL_SHIFT);
  if ((ssSel & 0xfffc) === 0) {
    if (!toLong || rpl === 3) raiseGP(0, "far return to a null SS");
  } else {
    const ssCode = ssSel & 0xfffc;
    const s = readDescriptor(cpu, mem, ssSel, 0);
    if ((ssSel & 3) !== rpl) raiseGP(ssCode, "far return SS RPL != CS RPL");
    if (!isDataSegment(s.attr) || !(s.attr & 2))
      raiseGP(ssCode, "far return SS is not a writable data segment");
    if (descDpl(s.attr) !== rpl) raiseGP(ssCode, "far return SS DPL != CS RPL");
    if (!(s.attr & AR_P)) throw new X86Exception(Vector.SS, ssCode, "far return SS not present");
    markAccessed(mem, s);
    ssBase = s.base;
    ssLimit = s.limit;
    ssAttr = s.attr | 1;
  }
  loadCs(cpu, mem, d, selector, rpl, ripLo, toLong ? ripHi : 0);
  setSegment(cpu.seg, SEG_SS, ssSel, ssBase, 0, ssLimit, ssAttr);
  const r = cpu.r;
  r[lo(RSP)] = spLo;
  r[hi(RSP)] = toLong ? spHi : 0;
  adjustSp(cpu, popBytes);
  for (const seg of [SEG_ES, SEG_DS, SEG_FS, SEG_GS]) {
    const attr = segAttr(cpu.seg, seg);
    if (attr & AR_UNUSABLE) continue;
    if ((isDataSegment(attr) || !isConforming(attr)) && descDpl(attr) < rpl) {
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

/** Read a system descriptor (16 bytes in IA-32e mode) for LTR/LLDT. */
function readSystemDescriptor(cpu: CpuState, mem: SystemMemory, selector: number): [Descriptor, number] {
  const code = selector & 0xfffc;
  if (selector & 4) raiseGP(code, "system descriptor selector points into the LDT");
  const d = readDescriptor(cpu, mem, selector, 0);
  let baseHi = 0;
  if (cpu.efer & EFER_LMA) {
    if ((selector & 0xfff8) + 15 > cpu.gdtrLimit)
      raiseGP(code, "16-byte system descriptor beyond the GDT limit");
    const a = addLinear(d.addrLo, d.addrHi, 8);
    const ah = addHi;
    baseHi = mem.readU32(a, ah, false);
    const upper = mem.readU32(addLinear(a, ah, 4), addHi, false);
    if ((upper >>> 8) & 0x1f) raiseGP(code, "upper half of a 16-byte descriptor has a nonzero type");
    if (!isCanonical(baseHi, cpu.config.linearAddressBits))
      raiseGP(code, "system descriptor base not canonical");
  }
  return [d, baseHi];
}

/** LTR: load TR from an available TSS descriptor and mark it busy. CPL 0 is the caller's check. */
export function ltr(cpu: CpuState, mem: SystemMemory, selector: number): void {
  if ((selector & 0xfffc) === 0) raiseGP(0, "LTR with a null selector");
  const code = selector & 0xfffc;
  const [d, baseHi] = readSystemDescriptor(cpu, mem, selector);
  const type = d.attr & 0x1f; // with S
  const ok = cpu.efer & EFER_LMA ? type === 9 : type === 9 || type === 1;
  if (!ok) raiseGP(code, "LTR target is not an available TSS");
  if (!(d.attr & AR_P)) throw new X86Exception(Vector.NP, code, "TSS not present");
  mem.writeU32(addLinear(d.addrLo, d.addrHi, 4), addHi, d.hi | 0x200, false); // busy
  setSegment(cpu.seg, SEG_TR, selector, d.base, baseHi, d.limit, d.attr | 2);
}

/** LLDT: a null selector leaves LDTR unusable. */
export function lldt(cpu: CpuState, mem: SystemMemory, selector: number): void {
  if ((selector & 0xfffc) === 0) {
    setSegment(cpu.seg, SEG_LDTR, selector, 0, 0, 0, AR_UNUSABLE);
    return;
  }
  const code = selector & 0xfffc;
  const [d, baseHi] = readSystemDescriptor(cpu, mem, selector);
  if ((d.attr & 0x1f) !== 2) raiseGP(code, "LLDT target is not an LDT descriptor");
  if (!(d.attr & AR_P)) throw new X86Exception(Vector.NP, code, "LDT not present");
  setSegment(cpu.seg, SEG_LDTR, selector, d.base, baseHi, d.limit, d.attr);
}

/** LGDT/LIDT after the operand was read: in 64-bit mode the base must be canonical. */
export function loadDescriptorTable(
  cpu: CpuState,
  which: "gdt" | "idt",
  baseLo: number,
  baseHi: number,
  limit: number,
): void {
  const mode64 = in64BitMode(cpu);
  if (mode64 && !isCanonical(baseHi, cpu.config.linearAddressBits))
    raiseGP(0, `L${which.toUpperCase()}: base not canonical`);
  const hiWord = mode64 ? baseHi : 0;
  if (which === "gdt") {
    cpu.gdtrBaseLo = baseLo;
    cpu.gdtrBaseHi = hiWord;
    cpu.gdtrLimit = limit & 0xffff;
  } else {
    cpu.idtrBaseLo = baseLo;
    cpu.idtrBaseHi = hiWord;
    cpu.idtrLimit = limit & 0xffff;
  }
}
