// FXSAVE / FXRSTOR: the 512-byte legacy save area (SDM Vol. 1, Table 10-2 "Format of an
// FXSAVE Area"). The 16-byte alignment #GP and page faults are the caller's/memory's.
// XMM8-15 are saved and restored only in 64-bit mode; bytes 416..511 are never written.

import { raiseGP } from "./exception.js";
import { MXCSR_MASK } from "./fpu-debug.js";
import { EFER_LMA } from "./msr.js";
import { AR_L, SEG_CS, segAttr } from "./segment.js";
import type { CpuState } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

/** XMM registers visible to the save instructions: 16 in 64-bit mode, 8 otherwise. */
export function xmmCount(cpu: CpuState): number {
  return cpu.efer & EFER_LMA && segAttr(cpu.seg, SEG_CS) & AR_L ? 16 : 8;
}

/** The FXSAVE image bytes 0..415 for the current state. */
export function fxsaveImage(cpu: CpuState): Uint8Array {
  const img = new Uint8Array(416);
  img.set(cpu.x87Image.subarray(0, 24), 0);
  img.set(cpu.x87Image.subarray(32, 160), 32);
  img[0] = cpu.fcw & 0xff;
  img[1] = (cpu.fcw >>> 8) & 0xff;
  const dv = new DataView(img.buffer);
  dv.setUint32(24, cpu.mxcsr >>> 0, true);
  dv.setUint32(28, MXCSR_MASK, true);
  img.set(cpu.xmm.u8.subarray(0, 16 * xmmCount(cpu)), 160);
  return img;
}

export function fxsave(
  cpu: CpuState,
  mem: SystemMemory,
  addrLo: number,
  addrHi: number,
  user: boolean,
): void {
  const img = fxsaveImage(cpu);
  const dv = new DataView(img.buffer);
  const end = 160 + 16 * xmmCount(cpu);
  for (let off = 0; off < end; off += 4) {
    mem.writeU32(addLinear(addrLo, addrHi, off), addHi, dv.getInt32(off, true), user);
  }
}

export function fxrstor(
  cpu: CpuState,
  mem: SystemMemory,
  addrLo: number,
  addrHi: number,
  user: boolean,
): void {
  const n = xmmCount(cpu);
  const img = new Uint8Array(160 + 16 * n);
  const dv = new DataView(img.buffer);
  // Read everything first: a fault part-way leaves the state untouched.
  for (let off = 0; off < img.length; off += 4) {
    dv.setInt32(off, mem.readU32(addLinear(addrLo, addrHi, off), addHi, user), true);
  }
  const mxcsr = dv.getUint32(24, true);
  if (mxcsr & ~MXCSR_MASK) raiseGP(0, `FXRSTOR: reserved MXCSR bits in 0x${mxcsr.toString(16)}`);
  cpu.fcw = dv.getUint16(0, true);
  cpu.x87Image.set(img.subarray(0, 24), 0);
  cpu.x87Image.set(img.subarray(32, 160), 32);
  cpu.mxcsr = mxcsr;
  cpu.xmm.u8.set(img.subarray(160), 0);
}
