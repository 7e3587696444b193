// Port I/O permission (SDM Vol. 1 19.5): IN/OUT/INS/OUTS are allowed at CPL <= IOPL;
// otherwise every bit for the accessed ports must be clear in the TSS I/O permission bitmap
// (its offset at TSS byte 102; bytes beyond the TSS limit count as set), else #GP(0).
// The run loop calls this before turning the access into an io stop.

import { raiseGP, UnsupportedError } from "./exception.js";
import { IOPL, VM } from "./flags.js";
import { EFER_LMA } from "./msr.js";
import { FLAGS_REST } from "./regs.js";
import { S_ATTR, S_BASE_HI, S_BASE_LO, S_LIMIT, SEG_STRIDE, SEG_TR } from "./segment.js";
import { type CpuState, CR0_PE, cpl } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

export function checkIoPermission(cpu: CpuState, mem: SystemMemory, port: number, size: 1 | 2 | 4): void {
  if (!(cpu.cr0 & CR0_PE)) return; // real mode: always allowed
  if (cpu.r[FLAGS_REST] & VM) throw new UnsupportedError("I/O permission in virtual-8086 mode");
  if (cpl(cpu) <= (cpu.r[FLAGS_REST] & IOPL) >>> 12) return;
  const i = SEG_TR * SEG_STRIDE;
  const type = cpu.seg[i + S_ATTR] & 0xf;
  if (type !== 9 && type !== 11) raiseGP(0, `I/O to port 0x${port.toString(16)}: no 32/64-bit TSS loaded`);
  const limit = cpu.seg[i + S_LIMIT] >>> 0;
  if (limit < 103) raiseGP(0, `I/O to port 0x${port.toString(16)}: TSS too short for an I/O map base`);
  const long = (cpu.efer & EFER_LMA) !== 0;
  const baseLo = cpu.seg[i + S_BASE_LO];
  const baseHi = long ? cpu.seg[i + S_BASE_HI] : 0;
  const word = mem.readU32(addLinear(baseLo, baseHi, 100), long ? addHi : 0, false);
  const mapBase = word >>> 16;
  // The bits for port..port+size-1 can span two bytes: read both (limit-checked).
  const first = mapBase + (port >>> 3);
  if (first + 1 > limit) raiseGP(0, `I/O to port 0x${port.toString(16)}: bitmap beyond the TSS limit`);
  const dw = mem.readU32(addLinear(baseLo, baseHi, first & ~3), long ? addHi : 0, false);
  const shift = (first & 3) * 8;
  let bits = (dw >>> shift) & 0xff;
  if ((first & 3) === 3) {
    bits |= (mem.readU32(addLinear(baseLo, baseHi, (first & ~3) + 4), long ? addHi : 0, false) & 0xff) << 8;
  } else {
    bits |= ((dw >>> (shift + 8)) & 0xff) << 8;
  }
  const mask = ((1 << size) - 1) << (port & 7);
  if (bits & mask) raiseGP(0, `I/O to port 0x${port.toString(16)} denied by the TSS I/O bitmap`);
}
