// Segment-limit and segment-type checks outside 64-bit mode (SDM Vol. 3A 5.3 and each
// instruction's "Protected Mode Exceptions"): an offset beyond the limit (or inside an
// expand-down segment's hole), a write to a read-only or code segment, a read of an
// execute-only code segment, or any use of a null segment raises #GP(0) — #SS(0) through SS.
// Flat writable data segments (limit 4 GiB - 1, expand-up) take a two-compare fast path.
import { OK_MEM, R_NOPS, R_OP, R_OP0 } from "../decoder/record.js";
import { Access, linearAddress } from "../exec/segcheck.js";
import { AR_S, AR_UNUSABLE, S_ATTR, S_BASE_LO, S_LIMIT, SEG_STRIDE } from "../exec/segment.js";
import { MNEMONICS, OPS } from "../isa/forms.js";
import type { Cpu } from "./cpu.js";

/** Operations whose memory operand 0 is only read (or not accessed at all: NO_ACCESS). */
const READ_ONLY = new Uint8Array(MNEMONICS.length);
/** Operations that compute an address without a data access through the segment. */
const NO_ACCESS = new Uint8Array(MNEMONICS.length);
for (const m of [
  "CMP",
  "TEST",
  "BT",
  "PUSH",
  "CALL",
  "JMP",
  "MUL",
  "IMUL",
  "DIV",
  "IDIV",
  "LGDT",
  "LIDT",
  "LLDT",
  "LTR",
  "LMSW",
  "CLFLUSH",
  "CLFLUSHOPT",
  "CLWB",
  "FXRSTOR",
  "XRSTOR",
  "LDMXCSR",
  "VERR",
  "VERW",
  "INVPCID",
]) {
  const id = OPS[m];
  if (id !== undefined) READ_ONLY[id] = 1;
}
for (const m of [
  "LEA",
  "INVLPG",
  "NOP",
  "PREFETCHNTA",
  "PREFETCHT0",
  "PREFETCHT1",
  "PREFETCHT2",
  "PREFETCHW",
]) {
  const id = OPS[m];
  if (id !== undefined) NO_ACCESS[id] = 1;
}

const FLAT_MASK = AR_UNUSABLE | AR_S | 0xe;
const FLAT_DATA = AR_S | 2; // usable, data, writable, expand-up

/** Linear address of seg:off (32-bit offset) for `size` bytes, with the limit and type checks. */
export function segmentedLinear(c: Cpu, seg: number, off: number, size: number, write: boolean): number {
  const s = c.st.seg;
  const i = seg * SEG_STRIDE;
  if (s[i + S_LIMIT] === -1 && (s[i + S_ATTR] & FLAT_MASK) === FLAT_DATA) return (off + s[i + S_BASE_LO]) | 0;
  return linearAddress(c.st, seg, off, 0, size, write ? Access.WRITE : Access.READ);
}

/** Is the memory operand 0 of the record at d[o] written (not only read)? */
export function writesMemoryOperand(d: Int32Array, o: number): boolean {
  return READ_ONLY[d[o + R_OP]] === 0 && NO_ACCESS[d[o + R_OP]] === 0;
}

/** ea()'s segment step outside 64-bit mode for the memory operand of the record at d[o]. */
export function segmentedEa(c: Cpu, d: Int32Array, o: number, seg: number, off: number): number {
  const s = c.st.seg;
  const i = seg * SEG_STRIDE;
  const base = s[i + S_BASE_LO];
  if (s[i + S_LIMIT] === -1 && (s[i + S_ATTR] & FLAT_MASK) === FLAT_DATA) return (off + base) | 0;
  const op = d[o + R_OP];
  if (NO_ACCESS[op]) return (off + base) | 0;
  let size = 1;
  let write = false;
  for (let k = 0; k < d[o + R_NOPS]; k++) {
    const p = d[o + R_OP0 + k];
    if ((p & 15) === OK_MEM) {
      size = Math.max(p >>> 16, 1);
      write = k === 0 && READ_ONLY[op] === 0;
    }
  }
  return linearAddress(c.st, seg, off, 0, size, write ? Access.WRITE : Access.READ);
}
