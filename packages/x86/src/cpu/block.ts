// Decoded blocks: straight-line runs of pre-decoded instructions inside one guest-physical page
// (or one instruction that crosses into the next page: see crossGpa).
// Each instruction is one decoder record (RECORD_STRIDE slots) widened to X_STRIDE slots; the
// extra slots hold what the run loop precomputes once per decode.
import { RECORD_STRIDE } from "../decoder/record.js";
import type { CompiledBlock } from "./block-compiler.js";
import type { Cpu } from "./cpu.js";

/** Slots per instruction in a block (decoder record + our extras). A power of two: o = i << X_SHIFT. */
export const X_SHIFT = 5;
export const X_STRIDE = 1 << X_SHIFT;
/** Page offset (0..4096+14) of the next instruction: RIP after it = page base + this. */
export const X_NEXT = RECORD_STRIDE;
/** Page offset of this instruction. */
export const X_START = RECORD_STRIDE + 1;
/** Effective-address shape precomputed at decode: EA_GENERIC, or EA_BASE_DISP (64-bit base/RIP + disp, no segment base). */
export const X_EA = RECORD_STRIDE + 2;
export const EA_GENERIC = 0;
export const EA_BASE_DISP = 1;
/** base + index * scale + disp, 64-bit, no segment base. */
export const EA_BASE_INDEX = 2;
/** index * scale + disp (no base), 64-bit, no segment base. */
export const EA_INDEX_DISP = 3;

/** An instruction handler: runs the instruction whose record starts at d[o]. RIP already points past it. */
export type Handler = (c: Cpu, d: Int32Array, o: number) => void;

export class Block {
  valid = true;
  /** Times the interpreter ran the whole block (it is compiled when this reaches the threshold). */
  hits = 0;
  /** The compiled form (block-compiler.ts), once the block is hot. */
  compiled: CompiledBlock | undefined = undefined;
  // Chained successors in the same page (taken / fall-through), keyed by their RIP bits 31:0.
  succA: Block | undefined = undefined;
  succALo = 0;
  succB: Block | undefined = undefined;
  succBLo = 0;
  /**
   * GPA of the next page when the block's one instruction crosses into it, else -1. Such a block
   * is listed under both pages (a store to either drops it), is never a chained successor, and a
   * lookup uses it only while the next linear page still translates to this GPA.
   */
  crossGpa = -1;
  constructor(
    /** Guest-physical address of the first instruction. */
    readonly gpa: number,
    /** Code size the block was decoded for (16/32/64). */
    readonly bits: number,
    readonly recs: Int32Array,
    readonly fns: Handler[],
    readonly count: number,
  ) {}
}
