// Exception corrections the run loop applies to a fault before delivering it. The MMU raises
// #GP(0) for every non-canonical data address, but the SDM raises #SS(0) when the memory
// reference uses the SS segment (RSP/RBP-based operands in 64-bit mode). Done on the fault path
// only, so the fast effective-address paths stay unchanged.
import { OK_MEM, R_MSEG, R_NOPS, R_OP0 } from "../decoder/record.js";
import { Vector } from "../exec/exception.js";
import { SEG_SS } from "../exec/segment.js";
import { MemoryFault } from "../mmu/fault.js";
import type { Cpu } from "./cpu.js";
import { ea } from "./operands.js";

/** The fault to deliver for `e`, raised by the instruction whose record starts at d[o]. */
export function fixupFault(c: Cpu, d: Int32Array, o: number, e: unknown): unknown {
  if (!(e instanceof MemoryFault) || e.vector !== Vector.GP || e.errorCode !== 0 || !c.mode64) return e;
  if (d[o + R_MSEG] !== SEG_SS) return e;
  let size = 0;
  for (let k = 0; k < d[o + R_NOPS]; k++) {
    const p = d[o + R_OP0 + k];
    if ((p & 15) === OK_MEM) size = p >>> 16;
  }
  if (size === 0) return e;
  const lo = ea(c, d, o);
  const hi = c.eaHi;
  const lastLo = (lo >>> 0) + Math.max(size, 1) - 1;
  const lastHi = lastLo > 0xffffffff ? (hi + 1) | 0 : hi;
  if (c.mmu.isCanonicalHigh(hi) && c.mmu.isCanonicalHigh(lastHi)) return e; // another #GP(0) cause
  return new MemoryFault(Vector.SS, 0);
}
