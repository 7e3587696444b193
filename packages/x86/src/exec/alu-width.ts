// Width-dispatching wrappers over alu.ts for helpers that get the operand size as a value
// (rare instructions: CMPXCHG, XADD, tests). Hot decoded instructions call the sized ones.

import * as alu from "./alu.js";
import type { RegFile } from "./regs.js";

export { add32, add64, sub32, sub64 } from "./alu.js";

export function addByWidth(r: RegFile, bits: number, a: number, b: number): number {
  return bits === 8 ? alu.add8(r, a, b) : bits === 16 ? alu.add16(r, a, b) : alu.add32(r, a, b);
}
export function subByWidth(r: RegFile, bits: number, a: number, b: number): number {
  return bits === 8 ? alu.sub8(r, a, b) : bits === 16 ? alu.sub16(r, a, b) : alu.sub32(r, a, b);
}
