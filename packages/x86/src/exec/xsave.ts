// XSAVE / XRSTOR / XGETBV for the state components this core has: x87 (bit 0, carried raw)
// and SSE (bit 1: XMM0-15, MXCSR). SDM Vol. 1 ch. 13: the legacy region is bytes 0..511,
// the XSAVE header bytes 512..575 (XSTATE_BV at 512, XCOMP_BV at 520). Components 0 and 1
// sit in the legacy region in both the standard and the compacted form, so XRSTOR accepts
// both. XINUSE is reported as "all in use" (allowed: XSTATE_BV may have 1s for components
// in their initial configuration). XSAVEOPT/XSAVEC/XSAVES are for the decoder to map.

import { raiseGP, raiseUD } from "./exception.js";
import { MXCSR_MASK } from "./fpu-debug.js";
import { fxsaveImage, xmmCount } from "./fxsave.js";
import { type CpuState, CR4_OSXSAVE } from "./state.js";
import { addHi, addLinear, type SystemMemory } from "./system-memory.js";

function requireOsxsave(cpu: CpuState, what: string): void {
  if (!(cpu.cr4 & CR4_OSXSAVE)) raiseUD(`${what} with CR4.OSXSAVE=0`);
}

/** XGETBV: ECX=0 → XCR0 (EDX is 0). ECX=1 (XINUSE) is not offered: CPUID must not report it. */
export function xgetbv(cpu: CpuState, ecx: number): number {
  requireOsxsave(cpu, "XGETBV");
  if (ecx !== 0) raiseGP(0, `XGETBV: XCR${ecx >>> 0} is not supported`);
  return cpu.xcr0;
}

function write(mem: SystemMemory, lo: number, hi: number, off: number, v: number, user: boolean): void {
  mem.writeU32(addLinear(lo, hi, off), addHi, v, user);
}
function read(mem: SystemMemory, lo: number, hi: number, off: number, user: boolean): number {
  return mem.readU32(addLinear(lo, hi, off), addHi, user);
}

/** XSAVE with requested-feature mask EDX:EAX (only the low bits matter here). */
export function xsave(
  cpu: CpuState,
  mem: SystemMemory,
  lo: number,
  hi: number,
  eax: number,
  user: boolean,
): void {
  requireOsxsave(cpu, "XSAVE");
  if (lo & 63) raiseGP(0, "XSAVE area not 64-byte aligned");
  const rfbm = cpu.xcr0 & eax & 3;
  const img = fxsaveImage(cpu);
  const dv = new DataView(img.buffer);
  // Read the old XSTATE_BV first so a fault leaves memory as it was up to the fault.
  const oldBv = read(mem, lo, hi, 512, user);
  if (rfbm & 1) {
    for (let off = 0; off < 24; off += 4) write(mem, lo, hi, off, dv.getInt32(off, true), user);
    for (let off = 32; off < 160; off += 4) write(mem, lo, hi, off, dv.getInt32(off, true), user);
  }
  if (rfbm & 2) {
    write(mem, lo, hi, 24, cpu.mxcsr, user);
    write(mem, lo, hi, 28, MXCSR_MASK, user);
    const end = 160 + 16 * xmmCount(cpu); // XMM8-15 only in 64-bit mode
    for (let off = 160; off < end; off += 4) write(mem, lo, hi, off, dv.getInt32(off, true), user);
  }
  write(mem, lo, hi, 512, (oldBv & ~rfbm) | rfbm, user);
}

/** XRSTOR with requested-feature mask EDX:EAX. */
export function xrstor(
  cpu: CpuState,
  mem: SystemMemory,
  lo: number,
  hi: number,
  eax: number,
  user: boolean,
): void {
  requireOsxsave(cpu, "XRSTOR");
  if (lo & 63) raiseGP(0, "XRSTOR area not 64-byte aligned");
  const rfbm = cpu.xcr0 & eax & 3;
  const bvLo = read(mem, lo, hi, 512, user);
  const bvHi = read(mem, lo, hi, 516, user);
  const compLo = read(mem, lo, hi, 520, user);
  const compHi = read(mem, lo, hi, 524, user);
  const compacted = compHi < 0;
  if (compacted) {
    if ((compLo & ~cpu.xcr0) !== 0 || (compHi & 0x7fffffff) !== 0)
      raiseGP(0, "XRSTOR: XCOMP_BV names unsupported components");
    if ((bvLo & ~compLo) !== 0 || bvHi !== 0) raiseGP(0, "XRSTOR: XSTATE_BV not a subset of XCOMP_BV");
  } else {
    if ((bvLo & ~cpu.xcr0) !== 0 || bvHi !== 0)
      raiseGP(0, "XRSTOR: XSTATE_BV names components not enabled in XCR0");
    if (compLo !== 0 || compHi !== 0) raiseGP(0, "XRSTOR: XCOMP_BV must be 0 in the standard form");
  }
  for (let off = 528; off < 576; off += 4) {
    if (read(mem, lo, hi, off, user) !== 0) raiseGP(0, "XRSTOR: reserved header bytes are not zero");
  }
  const img = new Uint8Array(416);
  const dv = new DataView(img.buffer);
  for (let off = 0; off < 416; off += 4) dv.setInt32(off, read(mem, lo, hi, off, user), true);
  const mxcsr = dv.getUint32(24, true);
  if (rfbm & 2 && mxcsr & ~MXCSR_MASK) raiseGP(0, `XRSTOR: reserved MXCSR bits in 0x${mxcsr.toString(16)}`);
  // Commit: load the components present in XSTATE_BV, put the others in their initial state.
  if (rfbm & 1) {
    if (bvLo & 1) {
      cpu.fcw = dv.getUint16(0, true);
      cpu.x87Image.set(img.subarray(0, 24), 0);
      cpu.x87Image.set(img.subarray(32, 160), 32);
    } else {
      cpu.fcw = 0x37f;
      cpu.x87Image.fill(0);
    }
  }
  if (rfbm & 2) {
    cpu.mxcsr = mxcsr;
    const n = 16 * xmmCount(cpu);
    if (bvLo & 2) cpu.xmm.u8.set(img.subarray(160, 160 + n), 0);
    else cpu.xmm.u8.fill(0, 0, n);
  }
}
