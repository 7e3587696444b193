// Stack operations through SS with the stack-size rules (SDM Vol. 1 6.2, Vol. 3A 6.14.2):
// the stack address size is 64 in 64-bit mode, else SS.B ? 32 : 16; PUSH writes before RSP
// changes, so a fault leaves RSP intact. Near CALL/RET check the target (canonical in 64-bit
// mode, CS limit otherwise → #GP(0)); ENTER implements the nesting-level copy; LEAVE.

import type { DataMemory } from "./data-memory.js";
import { raiseGP } from "./exception.js";
import { EFER_LMA, isCanonicalForMode } from "./msr.js";
import { hi, lo, OUT_HI, RBP, type RegFile, RIP_HI, RIP_LO, RSP } from "./regs.js";
import { AR_DB, AR_L, S_ATTR, S_LIMIT, SEG_CS, SEG_SS, SEG_STRIDE } from "./segment.js";
import type { CpuState } from "./state.js";

export function stackAddressBits(cpu: CpuState): 16 | 32 | 64 {
  const s = cpu.seg;
  if (cpu.efer & EFER_LMA && s[SEG_CS * SEG_STRIDE + S_ATTR] & AR_L) return 64;
  return s[SEG_SS * SEG_STRIDE + S_ATTR] & AR_DB ? 32 : 16;
}

/** (lo, hi) of register n moved by `delta` at the stack address size, without writing it. */
let movedHi = 0;
function moved(r: RegFile, n: number, bits: number, delta: number): number {
  const l = r[lo(n)];
  if (bits === 64) {
    const s = (l >>> 0) + delta;
    movedHi = (r[hi(n)] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
    return s | 0;
  }
  movedHi = r[hi(n)];
  if (bits === 32) return (l + delta) | 0;
  return (l & 0xffff0000) | ((l + delta) & 0xffff);
}

/** The offset part used for the access (SP, ESP or RSP). */
function offsetOf(bits: number, l: number): number {
  return bits === 16 ? l & 0xffff : l;
}

function commit(r: RegFile, n: number, bits: number, l: number, h: number): void {
  r[lo(n)] = l;
  // A 32-bit stack update writes ESP only (the upper half of RSP is left alone outside 64-bit mode).
  if (bits === 64) r[hi(n)] = h;
}

function writeValue(
  mem: DataMemory,
  off: number,
  offHi: number,
  bytes: number,
  vLo: number,
  vHi: number,
): void {
  if (bytes === 8) {
    mem.write(SEG_SS, off, offHi, 4, vLo);
    const next = (off + 4) | 0;
    mem.write(SEG_SS, next, next >>> 0 < off >>> 0 ? (offHi + 1) | 0 : offHi, 4, vHi);
  } else {
    mem.write(SEG_SS, off, offHi, bytes as 2 | 4, vLo);
  }
}

function readValue(cpu: CpuState, mem: DataMemory, off: number, offHi: number, bytes: number): number {
  if (bytes === 8) {
    const v = mem.read(SEG_SS, off, offHi, 4);
    const next = (off + 4) | 0;
    cpu.r[OUT_HI] = mem.read(SEG_SS, next, next >>> 0 < off >>> 0 ? (offHi + 1) | 0 : offHi, 4);
    return v;
  }
  cpu.r[OUT_HI] = 0;
  return mem.read(SEG_SS, off, offHi, bytes as 2 | 4);
}

/** PUSH of a 2-, 4- or 8-byte value. */
export function push(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8, vLo: number, vHi = 0): void {
  const bits = stackAddressBits(cpu);
  const l = moved(cpu.r, RSP, bits, -bytes);
  const h = movedHi;
  writeValue(mem, offsetOf(bits, l), bits === 64 ? h : 0, bytes, vLo, vHi);
  commit(cpu.r, RSP, bits, l, h);
}

/** POP of a 2-, 4- or 8-byte value: returns the low word, high word in r[OUT_HI]. */
export function pop(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8): number {
  const r = cpu.r;
  const bits = stackAddressBits(cpu);
  const v = readValue(cpu, mem, offsetOf(bits, r[lo(RSP)]), bits === 64 ? r[hi(RSP)] : 0, bytes);
  const vHi = r[OUT_HI];
  const l = moved(r, RSP, bits, bytes);
  commit(r, RSP, bits, l, movedHi);
  r[OUT_HI] = vHi;
  return v;
}

function checkNearTarget(cpu: CpuState, tLo: number, tHi: number): void {
  if (cpu.efer & EFER_LMA && cpu.seg[SEG_CS * SEG_STRIDE + S_ATTR] & AR_L) {
    if (!isCanonicalForMode(cpu, tHi)) raiseGP(0, "near branch to a non-canonical address");
  } else if (tLo >>> 0 > cpu.seg[SEG_CS * SEG_STRIDE + S_LIMIT] >>> 0) {
    raiseGP(0, "near branch beyond the CS limit");
  }
}

/** Near CALL: pushes the return RIP (already in RIP) with `bytes` 2/4/8 and jumps to the target. */
export function nearCall(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8, tLo: number, tHi = 0): void {
  checkNearTarget(cpu, tLo, tHi);
  push(cpu, mem, bytes, cpu.r[RIP_LO], cpu.r[RIP_HI]);
  cpu.r[RIP_LO] = bytes === 2 ? tLo & 0xffff : tLo;
  cpu.r[RIP_HI] = bytes === 8 ? tHi : 0;
}

/** Near RET [imm16]. */
export function nearReturn(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8, popBytes = 0): void {
  const r = cpu.r;
  const bits = stackAddressBits(cpu);
  const tLo = readValue(cpu, mem, offsetOf(bits, r[lo(RSP)]), bits === 64 ? r[hi(RSP)] : 0, bytes);
  const tHi = bytes === 8 ? r[OUT_HI] : 0;
  checkNearTarget(cpu, tLo, tHi);
  const l = moved(r, RSP, bits, bytes + popBytes);
  commit(r, RSP, bits, l, movedHi);
  r[RIP_LO] = bytes === 2 ? tLo & 0xffff : tLo;
  r[RIP_HI] = tHi;
}

/** LEAVE: RSP ← RBP, then pop RBP. */
export function leave(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8): void {
  const r = cpu.r;
  const bits = stackAddressBits(cpu);
  const saveLo = r[lo(RSP)];
  const saveHi = r[hi(RSP)];
  if (bits === 16) r[lo(RSP)] = (r[lo(RSP)] & 0xffff0000) | (r[lo(RBP)] & 0xffff);
  else commit(r, RSP, bits, r[lo(RBP)], r[hi(RBP)]);
  try {
    const v = pop(cpu, mem, bytes);
    if (bytes === 2) r[lo(RBP)] = (r[lo(RBP)] & 0xffff0000) | (v & 0xffff);
    else {
      r[lo(RBP)] = v;
      r[hi(RBP)] = bytes === 8 ? r[OUT_HI] : 0;
    }
  } catch (e) {
    r[lo(RSP)] = saveLo;
    r[hi(RSP)] = saveHi;
    throw e;
  }
}

/** ENTER size, level (level taken mod 32). */
export function enter(cpu: CpuState, mem: DataMemory, bytes: 2 | 4 | 8, size: number, level: number): void {
  const r = cpu.r;
  const snapshot = r.slice();
  try {
    const nesting = level & 31;
    push(cpu, mem, bytes, r[lo(RBP)], r[hi(RBP)]);
    const frameLo = r[lo(RSP)];
    const frameHi = r[hi(RSP)];
    if (nesting > 0) {
      const bits = stackAddressBits(cpu);
      for (let i = 1; i < nesting; i++) {
        const l = moved(r, RBP, bits, -bytes);
        commit(r, RBP, bits, l, movedHi);
        const v = readValue(cpu, mem, offsetOf(bits, r[lo(RBP)]), bits === 64 ? r[hi(RBP)] : 0, bytes);
        push(cpu, mem, bytes, v, r[OUT_HI]);
      }
      push(cpu, mem, bytes, frameLo, frameHi);
    }
    if (bytes === 2) r[lo(RBP)] = (r[lo(RBP)] & 0xffff0000) | (frameLo & 0xffff);
    else {
      r[lo(RBP)] = frameLo;
      r[hi(RBP)] = bytes === 8 ? frameHi : 0;
    }
    const bits = stackAddressBits(cpu);
    const l = moved(r, RSP, bits, -(size & 0xffff));
    commit(r, RSP, bits, l, movedHi);
  } catch (e) {
    r.set(snapshot);
    throw e;
  }
}
