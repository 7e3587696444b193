// Event delivery through the IDT in IA-32e mode and 32-bit protected mode (SDM Vol. 3A 6.12,
// 6.14), with the double-fault rules (6.15, Table 6-5) and triple fault (shutdown).
// All checks and stack writes happen before any register changes, so a fault during delivery
// leaves the interrupted state intact for the next attempt (#DF or a serial delivery).
//
// The caller sets RIP to the return address first: the faulting instruction for faults,
// the next instruction for traps, software interrupts and external events.

import {
  descDpl,
  isCodeSegment,
  isConforming,
  isDataSegment,
  isLongCode,
  readDescriptor,
} from "./descriptor.js";
import { FaultClass, faultClass, hasErrorCode, UnsupportedError, Vector, X86Exception } from "./exception.js";
import { IF, NT, RF, readRflags, TF, VM, writeRflags } from "./flags.js";
import { EFER_LMA, isCanonicalForMode } from "./msr.js";
import { hi as hiSlot, lo as loSlot, RIP_HI, RIP_LO, RSP } from "./regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_P,
  AR_UNUSABLE,
  S_ATTR,
  S_BASE_LO,
  S_LIMIT,
  S_SEL,
  SEG_CS,
  SEG_SS,
  SEG_STRIDE,
  SEG_TR,
  setSegment,
} from "./segment.js";
import { type CpuState, CR0_PE, cpl } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

export const EventKind = {
  /** A processor-detected exception (fault, trap or abort). */
  Exception: 0,
  /** An external (maskable) interrupt. */
  External: 1,
  Nmi: 2,
  /** INT n. */
  SoftwareInterrupt: 3,
  /** INT3 and INTO: gate DPL is checked like INT n. */
  SoftwareException: 4,
  /** INT1 (ICEBP): no gate DPL check, EXT set. */
  PrivilegedSoftwareException: 5,
} as const;

export interface X86Event {
  vector: number;
  kind: number;
  /** Pushed when the vector has one and kind is Exception; -1 for none. */
  errorCode?: number;
  /** #PF: the faulting linear address, loaded into CR2 before delivery. */
  cr2Lo?: number;
  cr2Hi?: number;
}

export type DeliveryResult = "delivered" | "shutdown";

/** Deliver an event, applying the double-fault rules to exceptions raised while delivering it. */
export function deliverEvent(cpu: CpuState, mem: SystemMemory, event: X86Event): DeliveryResult {
  let ev = event;
  for (let attempt = 0; attempt < 8; attempt++) {
    if (ev.vector === Vector.PF && ev.cr2Lo !== undefined) {
      cpu.cr2Lo = ev.cr2Lo;
      cpu.cr2Hi = ev.cr2Hi ?? 0;
    }
    try {
      deliverOnce(cpu, mem, ev);
      return "delivered";
    } catch (e) {
      if (!(e instanceof X86Exception)) throw e;
      const firstIsException = ev.kind === EventKind.Exception;
      const first = firstIsException ? faultClass(ev.vector) : FaultClass.Benign;
      const second = faultClass(e.vector);
      const serious = second !== FaultClass.Benign;
      if (firstIsException && ev.vector === Vector.DF && serious) return "shutdown";
      if (
        (first === FaultClass.Contributory && second === FaultClass.Contributory) ||
        (first === FaultClass.PageFault && serious)
      ) {
        ev = { vector: Vector.DF, kind: EventKind.Exception, errorCode: 0 };
      } else {
        ev = { vector: e.vector, kind: EventKind.Exception, errorCode: e.errorCode };
      }
    }
  }
  return "shutdown";
}

/** EXT: the event is external to the program (SDM 6.13). */
function extBit(kind: number): number {
  return kind === EventKind.SoftwareInterrupt || kind === EventKind.SoftwareException ? 0 : 1;
}

interface Gate {
  selector: number;
  offLo: number;
  offHi: number;
  ist: number;
  interruptGate: boolean;
}

function readGate(cpu: CpuState, mem: SystemMemory, ev: X86Event, ext: number, long: boolean): Gate {
  const idtCode = (ev.vector << 3) | 2 | ext;
  const size = long ? 16 : 8;
  if (ev.vector * size + size - 1 > cpu.idtrLimit) {
    throw new X86Exception(Vector.GP, idtCode, `vector ${ev.vector} beyond the IDT limit`);
  }
  const base = addLinear(cpu.idtrBaseLo, long ? cpu.idtrBaseHi : 0, ev.vector * size);
  const baseHi = long ? addHi : 0;
  const w0 = mem.readU32(base, baseHi, false);
  const w1 = mem.readU32(addLinear(base, baseHi, 4), addHi, false);
  const type = (w1 >>> 8) & 0x1f; // includes S (must be 0 for gates)
  if (
    long
      ? type !== 0xe && type !== 0xf
      : type !== 0xe && type !== 0xf && type !== 5 && type !== 6 && type !== 7
  ) {
    throw new X86Exception(Vector.GP, idtCode, `IDT entry ${ev.vector} is not a valid gate (type ${type})`);
  }
  const soft = ev.kind === EventKind.SoftwareInterrupt || ev.kind === EventKind.SoftwareException;
  if (soft && ((w1 >>> 13) & 3) < cpl(cpu)) {
    throw new X86Exception(Vector.GP, idtCode, `gate DPL below CPL for INT ${ev.vector}`);
  }
  if (!(w1 & 0x8000)) throw new X86Exception(Vector.NP, idtCode, `IDT entry ${ev.vector} not present`);
  if (type === 5) throw new UnsupportedError("task-gate event delivery");
  if (type === 6 || type === 7) throw new UnsupportedError("16-bit interrupt/trap gate");
  let offHi = 0;
  if (long) offHi = mem.readU32(addLinear(base, baseHi, 8), addHi, false);
  return {
    selector: w0 >>> 16,
    offLo: (w0 & 0xffff) | (w1 & 0xffff0000),
    offHi,
    ist: long ? w1 & 7 : 0,
    interruptGate: (type & 1) === 0,
  };
}

/** Read 4 bytes of the current TSS at `offset`, with the TR limit check (#TS). */
function readTss(cpu: CpuState, mem: SystemMemory, offset: number, ext: number, long: boolean): number {
  const i = SEG_TR * SEG_STRIDE;
  if (offset + 3 > cpu.seg[i + S_LIMIT] >>> 0) {
    throw new X86Exception(
      Vector.TS,
      (cpu.seg[i + S_SEL] & 0xfffc) | ext,
      `TSS offset ${offset} beyond TR limit`,
    );
  }
  const a = addLinear(cpu.seg[i + S_BASE_LO], long ? cpu.seg[i + 2] : 0, offset);
  return mem.readU32(a, long ? addHi : 0, false);
}

function deliverOnce(cpu: CpuState, mem: SystemMemory, ev: X86Event): void {
  if (!(cpu.cr0 & CR0_PE)) throw new UnsupportedError("real-mode interrupt delivery");
  const r = cpu.r;
  const rflags = readRflags(r);
  if (rflags & VM) throw new UnsupportedError("virtual-8086 interrupt delivery");
  const long = (cpu.efer & EFER_LMA) !== 0;
  const ext = extBit(ev.kind);
  const gate = readGate(cpu, mem, ev, ext, long);

  // Target code segment (SDM 6.12.1.1 / 6.14.1).
  const selCode = (gate.selector & 0xfffc) | ext;
  if ((gate.selector & 0xfffc) === 0) throw new X86Exception(Vector.GP, ext, "null code selector in gate");
  const code = readDescriptor(cpu, mem, gate.selector, ext);
  if (!isCodeSegment(code.attr))
    throw new X86Exception(Vector.GP, selCode, "gate selector is not a code segment");
  if (long && !isLongCode(code.attr))
    throw new X86Exception(Vector.GP, selCode, "IA-32e gate target is not 64-bit code");
  const cur = cpl(cpu);
  const dpl = descDpl(code.attr);
  if (dpl > cur) throw new X86Exception(Vector.GP, selCode, "gate target DPL above CPL");
  if (!(code.attr & AR_P)) throw new X86Exception(Vector.NP, selCode, "gate target code segment not present");
  const newCpl = isConforming(code.attr) ? cur : dpl;
  const privChange = newCpl < cur;
  if (long && !isCanonicalForMode(cpu, gate.offHi)) {
    throw new X86Exception(Vector.GP, ext, "handler RIP is not canonical");
  }
  if (!long && gate.offLo >>> 0 > code.limit)
    throw new X86Exception(Vector.GP, ext, "handler EIP beyond CS limit");

  const pushError = ev.kind === EventKind.Exception && hasErrorCode(ev.vector);
  const errorCode = ev.errorCode ?? 0;
  // Faults push RF=1 so the faulting instruction is not re-trapped by an instruction breakpoint.
  const isFault =
    ev.kind === EventKind.Exception &&
    ev.vector !== Vector.BP &&
    ev.vector !== Vector.OF &&
    ev.vector !== Vector.DB;
  const flagsImage = isFault ? rflags | RF : rflags;
  const oldCs = cpu.seg[SEG_CS * SEG_STRIDE + S_SEL];
  const oldSs = cpu.seg[SEG_SS * SEG_STRIDE + S_SEL];
  const user = newCpl === 3;

  if (long) {
    let spLo = r[loSlot(RSP)];
    let spHi = r[hiSlot(RSP)];
    if (gate.ist !== 0) {
      spLo = readTss(cpu, mem, 36 + (gate.ist - 1) * 8, ext, true);
      spHi = readTss(cpu, mem, 40 + (gate.ist - 1) * 8, ext, true);
    } else if (privChange) {
      spLo = readTss(cpu, mem, 4 + newCpl * 8, ext, true);
      spHi = readTss(cpu, mem, 8 + newCpl * 8, ext, true);
    }
    if (!isCanonicalForMode(cpu, spHi)) {
      throw new X86Exception(Vector.SS, ext, "new stack pointer is not canonical");
    }
    spLo &= ~0xf; // the 64-bit frame starts 16-byte aligned
    const words: number[] = [
      oldSs,
      0,
      r[loSlot(RSP)],
      r[hiSlot(RSP)],
      flagsImage,
      0,
      oldCs,
      0,
      r[RIP_LO],
      r[RIP_HI],
    ];
    if (pushError) words.push(errorCode, 0);
    for (let k = 0; k < words.length; k += 2) {
      spLo = addLinear(spLo, spHi, -8);
      spHi = addHi;
      mem.writeU32(spLo, spHi, words[k], user);
      mem.writeU32(addLinear(spLo, spHi, 4), addHi, words[k + 1], user);
    }
    // Commit.
    setSegment(cpu.seg, SEG_CS, (gate.selector & 0xfffc) | newCpl, code.base, 0, code.limit, code.attr | 1);
    if (privChange) {
      // SS becomes a null selector with RPL = new CPL.
      setSegment(cpu.seg, SEG_SS, newCpl, 0, 0, 0, AR_UNUSABLE | (newCpl << AR_DPL_SHIFT));
    }
    r[loSlot(RSP)] = spLo;
    r[hiSlot(RSP)] = spHi;
    r[RIP_LO] = gate.offLo;
    r[RIP_HI] = gate.offHi;
  } else {
    let ssSel = oldSs;
    let ssBase = cpu.seg[SEG_SS * SEG_STRIDE + S_BASE_LO];
    let ssLimit = cpu.seg[SEG_SS * SEG_STRIDE + S_LIMIT];
    let ssAttr = cpu.seg[SEG_SS * SEG_STRIDE + S_ATTR];
    let esp = r[loSlot(RSP)];
    const trType = cpu.seg[SEG_TR * SEG_STRIDE + S_ATTR] & 0xf;
    if (privChange) {
      if (trType !== 9 && trType !== 11) throw new UnsupportedError("16-bit TSS stack switch");
      esp = readTss(cpu, mem, 4 + newCpl * 8, ext, false);
      ssSel = readTss(cpu, mem, 8 + newCpl * 8, ext, false) & 0xffff;
      const ssCode = (ssSel & 0xfffc) | ext;
      if ((ssSel & 0xfffc) === 0) throw new X86Exception(Vector.TS, ext, "null SS in TSS");
      const ss = readDescriptor(cpu, mem, ssSel, ext, Vector.TS);
      if ((ssSel & 3) !== newCpl) throw new X86Exception(Vector.TS, ssCode, "TSS SS RPL != new CPL");
      if (descDpl(ss.attr) !== newCpl) throw new X86Exception(Vector.TS, ssCode, "TSS SS DPL != new CPL");
      if (!isDataSegment(ss.attr) || !(ss.attr & 2)) {
        throw new X86Exception(Vector.TS, ssCode, "TSS SS is not a writable data segment");
      }
      if (!(ss.attr & AR_P)) throw new X86Exception(Vector.SS, ssCode, "TSS SS not present");
      ssBase = ss.base;
      ssLimit = ss.limit;
      ssAttr = ss.attr;
    }
    const big = (ssAttr & AR_DB) !== 0;
    const words: number[] = privChange ? [oldSs, r[loSlot(RSP)]] : [];
    words.push(flagsImage, oldCs, r[RIP_LO]);
    if (pushError) words.push(errorCode);
    let sp = big ? esp >>> 0 : esp & 0xffff;
    for (const w of words) {
      sp = big ? (sp - 4) >>> 0 : (sp - 4) & 0xffff;
      // Expand-up stack limit check (expand-down stacks are checked the other way).
      const expandDown = (ssAttr & 4) !== 0;
      const beyond = expandDown ? sp <= ssLimit >>> 0 : sp + 3 > ssLimit >>> 0;
      if (beyond)
        throw new X86Exception(
          Vector.SS,
          privChange ? (ssSel & 0xfffc) | ext : ext,
          "stack push beyond SS limit",
        );
      mem.writeU32((ssBase + sp) | 0, 0, w, user);
    }
    setSegment(cpu.seg, SEG_CS, (gate.selector & 0xfffc) | newCpl, code.base, 0, code.limit, code.attr | 1);
    if (privChange) setSegment(cpu.seg, SEG_SS, ssSel, ssBase, 0, ssLimit, ssAttr | 1);
    r[loSlot(RSP)] = big ? sp | 0 : (esp & 0xffff0000) | sp;
    r[hiSlot(RSP)] = 0;
    r[RIP_LO] = gate.offLo;
    r[RIP_HI] = 0;
  }

  let newFlags = rflags & ~(TF | NT | RF | VM);
  if (gate.interruptGate) newFlags &= ~IF;
  writeRflags(r, newFlags);
  if (ev.kind === EventKind.Nmi) cpu.nmiBlocked = true;
  cpu.halted = false;
}
