// Per-instruction checks of the run loop's single-step mode (debugActive → beforeStep/afterStep):
// the CS-limit check of instruction fetch outside 64-bit mode (only while CS is not flat), and the
// debug exceptions (#DB, SDM Vol. 3B 17.2-17.3): RFLAGS.TF single-step traps (DR6.BS), DR0-DR3
// instruction breakpoints (faults, suppressed by RFLAGS.RF) and data breakpoints (traps after
// the access, DR6.Bn), DR7.GD general detect on MOV DR (DR6.BD), and the MOV SS / POP SS rule
// that holds a #DB back until the next instruction completes.
//
// Data breakpoints see the instruction's explicit memory operand and the memory its implicit
// stack and string pointers moved over (RSP, RSI, RDI before → after); accesses made through
// descriptor tables, the TSS or event delivery do not trigger them.
import { OK_MEM, R_LEN, R_NOPS, R_OP, R_OP0 } from "../decoder/record.js";
import { EventKind } from "../exec/deliver.js";
import { X86Exception } from "../exec/exception.js";
import { RF, TF } from "../exec/flags.js";
import { FLAGS_REST, RDI, RIP_HI, RIP_LO, RSI, RSP } from "../exec/regs.js";
import { S_BASE_LO, S_LIMIT, SEG_CS, SEG_DS, SEG_ES, SEG_SS, SEG_STRIDE } from "../exec/segment.js";
import { cpl } from "../exec/state.js";
import { MNEMONICS, OPS } from "../isa/forms.js";
import { CLS_SEG } from "../isa/operand-kinds.js";
import { X_NEXT } from "./block.js";
import type { Cpu } from "./cpu.js";
import { ea } from "./operands.js";
import { writesMemoryOperand } from "./segment-limits.js";

const DR6 = 12;
const DR7 = 14;
export const DR6_BD = 1 << 13;
export const DR6_BS = 1 << 14;
export const DR7_GD = 1 << 13;
const DB = 1;

/** Operations whose stack pointer movement is a stack access (1), and string operations (2 = writes ES:rDI). */
const STACK_OPS = new Uint8Array(MNEMONICS.length);
const STRING_OPS = new Uint8Array(MNEMONICS.length);
for (const m of [
  "PUSH",
  "POP",
  "CALL",
  "RET",
  "RETF",
  "ENTER",
  "LEAVE",
  "PUSHF",
  "PUSHFD",
  "PUSHFQ",
  "POPF",
  "POPFD",
  "POPFQ",
  "PUSHA",
  "PUSHAD",
  "POPA",
  "POPAD",
])
  STACK_OPS[OPS[m]] = 1;
for (const m of [
  "LODSB",
  "LODSW",
  "LODSD",
  "LODSQ",
  "CMPSB",
  "CMPSW",
  "CMPSD",
  "CMPSQ",
  "SCASB",
  "SCASW",
  "SCASD",
  "SCASQ",
  "OUTSB",
  "OUTSW",
  "OUTSD",
])
  STRING_OPS[OPS[m]] = 1;
for (const m of [
  "MOVSB",
  "MOVSW",
  "MOVSD",
  "MOVSQ",
  "STOSB",
  "STOSW",
  "STOSD",
  "STOSQ",
  "INSB",
  "INSW",
  "INSD",
])
  STRING_OPS[OPS[m]] = 2;

/**
 * True while the run loop must step one instruction at a time: #DB (TF, armed DR7, pending RF), or
 * a CS whose limit is below 4 GiB outside 64-bit mode (each instruction's fetch is limit-checked).
 */
export function debugActive(c: Cpu): boolean {
  return (
    (c.r[FLAGS_REST] & (TF | RF)) !== 0 ||
    (c.st.dr[DR7] & 0xff) !== 0 ||
    (!c.mode64 && c.st.seg[SEG_CS * SEG_STRIDE + S_LIMIT] !== -1)
  );
}

/** Address ranges an instruction is about to touch, captured before it runs. */
interface StepState {
  tf: boolean;
  memLo: number;
  memHi: number;
  memSize: number;
  memWrite: boolean;
  spLo: number;
  spHi: number;
  siLo: number;
  siHi: number;
  diLo: number;
  diHi: number;
}

const step: StepState = {
  tf: false,
  memLo: 0,
  memHi: 0,
  memSize: 0,
  memWrite: false,
  spLo: 0,
  spHi: 0,
  siLo: 0,
  siHi: 0,
  diLo: 0,
  diHi: 0,
};

/** Breakpoint n's enable bits, R/W type and length in bytes from DR7. */
function bp(dr7: number, n: number): { on: boolean; rw: number; len: number } {
  const len = (dr7 >>> (18 + 4 * n)) & 3;
  return { on: ((dr7 >>> (2 * n)) & 3) !== 0, rw: (dr7 >>> (16 + 4 * n)) & 3, len: [1, 2, 8, 4][len] };
}

/** Does [lo, lo+size) (a 64-bit linear address as lo/hi) overlap breakpoint n's range? */
function hits(c: Cpu, n: number, len: number, lo: number, hi: number, size: number): boolean {
  const dr = c.st.dr;
  if (size <= 0) return false;
  const bLo = dr[2 * n] & ~(len - 1);
  if (dr[2 * n + 1] !== hi) return false;
  const a = lo >>> 0;
  const b = bLo >>> 0;
  return a < b + len && b < a + size;
}

/** A #DB fault: DR6 bits set, RF=1 in the pushed image (so IRET does not re-trigger it); the run loop delivers it at the instruction. */
function faultDb(c: Cpu, dr6Bits: number, why: string): never {
  c.st.dr[DR6] |= dr6Bits;
  c.r[FLAGS_REST] |= RF;
  throw new X86Exception(DB, -1, why);
}

/** A #DB trap after the instruction: delivered now with RIP at the next instruction. */
function trapDb(c: Cpu, dr6Bits: number): void {
  c.st.dr[DR6] |= dr6Bits;
  c.deliver(DB, EventKind.Exception, -1);
}

function linearOf(c: Cpu, seg: number, lo: number): number {
  return c.mode64 ? lo : (lo + c.st.seg[seg * SEG_STRIDE + S_BASE_LO]) | 0;
}

/**
 * Before the instruction at RIP (record d[o]) runs in debug-step mode: instruction breakpoints
 * (skipped with RF=1) throw the #DB fault; otherwise the ranges data breakpoints compare are captured.
 */
export function beforeStep(c: Cpu, d: Int32Array, o: number, pageLo: number): void {
  const r = c.r;
  const dr = c.st.dr;
  if (!c.mode64) {
    // Code fetch: every byte of the instruction must lie within the CS limit (SDM Vol. 3A 5.3).
    const limit = c.st.seg[SEG_CS * SEG_STRIDE + S_LIMIT] >>> 0;
    if ((r[RIP_LO] >>> 0) + d[o + R_LEN] - 1 > limit)
      throw new X86Exception(13, 0, "instruction fetch beyond the CS limit");
  }
  const dr7 = dr[DR7];
  step.tf = (r[FLAGS_REST] & TF) !== 0;
  if (dr7 & 0xff && !(r[FLAGS_REST] & RF)) {
    let bits = 0;
    for (let n = 0; n < 4; n++) {
      const b = bp(dr7, n);
      // Instruction breakpoints need LEN = 00; the address is the linear RIP (CS base is 0 in practice).
      if (b.on && b.rw === 0 && dr[2 * n] === linearOf(c, 1, r[RIP_LO]) && dr[2 * n + 1] === r[RIP_HI])
        bits |= 1 << n;
    }
    if (bits) faultDb(c, bits, "instruction breakpoint");
  }
  step.memSize = 0;
  if (dr7 & 0xff) {
    for (let k = 0; k < d[o + R_NOPS]; k++) {
      const p = d[o + R_OP0 + k];
      if ((p & 15) !== OK_MEM || d[o + R_OP] === OPS.LEA) continue;
      const start = r[RIP_LO];
      r[RIP_LO] = pageLo + d[o + X_NEXT]; // RIP-relative operands are relative to the next instruction
      try {
        step.memLo = ea(c, d, o);
        step.memHi = c.eaHi;
        step.memSize = Math.max(p >>> 16, 1);
        step.memWrite = k === 0 && writesMemoryOperand(d, o);
      } catch {
        step.memSize = 0; // the instruction will fault on it
      }
      r[RIP_LO] = start;
    }
    step.spLo = r[RSP << 1];
    step.spHi = r[(RSP << 1) | 1];
    step.siLo = r[RSI << 1];
    step.siHi = r[(RSI << 1) | 1];
    step.diLo = r[RDI << 1];
    step.diHi = r[(RDI << 1) | 1];
  }
}

/** [min, max) of a register's value before and after, as a linear range through `seg`. */
function moved(c: Cpu, reg: number, seg: number, lo0: number, hi0: number): [number, number, number] {
  const r = c.r;
  const lo1 = r[reg << 1];
  const hi1 = c.mode64 ? r[(reg << 1) | 1] : 0;
  if (lo1 === lo0 && hi1 === (c.mode64 ? hi0 : 0)) return [0, 0, 0];
  const a = lo0 >>> 0 < lo1 >>> 0 ? lo0 : lo1;
  const size = Math.min(Math.abs((lo1 >>> 0) - (lo0 >>> 0)), 4096);
  return [linearOf(c, seg, a), c.mode64 ? hi1 : 0, size];
}

/**
 * After the instruction completed in debug-step mode: data breakpoints and the single-step trap
 * (unless the instruction delivered an event itself, or it was MOV SS / POP SS, whose #DB waits
 * for the next instruction). RF is cleared on completion (IRET may load it).
 */
export function afterStep(c: Cpu, d: Int32Array, o: number, pageLo: number): void {
  const r = c.r;
  const dr = c.st.dr;
  const dr7 = dr[DR7];
  const op = d[o + R_OP];
  if (op !== OPS.IRET && op !== OPS.IRETD && op !== OPS.IRETQ) r[FLAGS_REST] &= ~RF;
  let bits = 0;
  if (dr7 & 0xff) {
    const ranges: [number, number, number, boolean][] = [];
    if (step.memSize > 0) ranges.push([step.memLo, step.memHi, step.memSize, step.memWrite]);
    if (STACK_OPS[op]) {
      const sp = moved(c, RSP, SEG_SS, step.spLo, step.spHi);
      ranges.push([sp[0], sp[1], sp[2], true]);
    }
    if (STRING_OPS[op]) {
      const si = moved(c, RSI, SEG_DS, step.siLo, step.siHi);
      ranges.push([si[0], si[1], si[2], false]);
      const di = moved(c, RDI, SEG_ES, step.diLo, step.diHi);
      ranges.push([di[0], di[1], di[2], STRING_OPS[op] === 2]);
    }
    for (let n = 0; n < 4; n++) {
      const b = bp(dr7, n);
      if (!b.on || b.rw === 0 || b.rw === 2) continue; // execute, or I/O breakpoints (not modelled)
      for (const [lo, hi, size, write] of ranges) {
        if ((b.rw === 3 || write) && hits(c, n, b.len, lo, hi, size)) bits |= 1 << n;
      }
    }
  }
  // Single-step: TF was set when the instruction began and no event was delivered by it.
  const deliveredEvent =
    (op === OPS.INT || op === OPS.INT3 || op === OPS.INTO || op === OPS.INT1) &&
    r[RIP_LO] !== pageLo + d[o + X_NEXT];
  const p0 = d[o + R_OP0];
  const movSs =
    (op === OPS.MOV || op === OPS.POP) &&
    (p0 & 15) === 1 &&
    ((p0 >>> 4) & 15) === CLS_SEG &&
    ((p0 >>> 8) & 255) === SEG_SS;
  if (step.tf && !deliveredEvent && !movSs) bits |= DR6_BS;
  if (bits && !movSs) trapDb(c, bits);
  else if (bits & 0xf) dr[DR6] |= bits & 0xf; // held back by MOV SS: reported with the next #DB
}

/** MOV to/from DRn at CPL 0 with DR7.GD set: #DB fault with DR6.BD, GD cleared for the handler. */
export function checkGeneralDetect(c: Cpu): void {
  const dr = c.st.dr;
  if (!(dr[DR7] & DR7_GD) || cpl(c.st) !== 0) return; // at CPL > 0 the MOV's #GP(0) comes first
  dr[DR7] &= ~DR7_GD;
  faultDb(c, DR6_BD, "MOV DR with DR7.GD=1");
}
