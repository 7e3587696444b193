// A byte-addressed linear memory for tests, with optional not-present ranges that raise
// #PF (setting CR2 like a page walker would).

import { Vector, X86Exception } from "../../src/exec/exception.js";
import type { SystemMemory } from "../../src/exec/system-memory.js";

const M64 = (1n << 64n) - 1n;
const addr = (lo: number, hi: number): bigint => ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) & M64;

export class TestMemory implements SystemMemory {
  readonly bytes = new Map<bigint, number>();
  readonly absent: [bigint, bigint][] = [];
  lastFault: bigint | null = null;

  private check(a: bigint, write: boolean, user: boolean): void {
    for (const [from, to] of this.absent) {
      if (a >= from && a < to) {
        this.lastFault = a;
        throw new X86Exception(
          Vector.PF,
          (write ? 2 : 0) | (user ? 4 : 0),
          `not present at 0x${a.toString(16)}`,
        );
      }
    }
  }
  readU32(lo: number, hi: number, user: boolean): number {
    const a = addr(lo, hi);
    this.check(a, false, user);
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | (this.bytes.get((a + BigInt(i)) & M64) ?? 0);
    return v | 0;
  }
  writeU32(lo: number, hi: number, value: number, user: boolean): void {
    const a = addr(lo, hi);
    this.check(a, true, user);
    for (let i = 0; i < 4; i++) this.bytes.set((a + BigInt(i)) & M64, (value >>> (8 * i)) & 0xff);
  }
  write64(a: bigint, v: bigint): void {
    this.writeU32(Number(a & 0xffffffffn), Number(a >> 32n), Number(v & 0xffffffffn), false);
    this.writeU32(Number((a + 4n) & 0xffffffffn), Number((a + 4n) >> 32n), Number(v >> 32n), false);
  }
  read64(a: bigint): bigint {
    const lo = this.readU32(Number(a & 0xffffffffn), Number(a >> 32n), false) >>> 0;
    const hi = this.readU32(Number((a + 4n) & 0xffffffffn), Number((a + 4n) >> 32n), false) >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  read32(a: bigint): number {
    return this.readU32(Number(a & 0xffffffffn), Number(a >> 32n), false) >>> 0;
  }
}

/** A 64-bit IDT gate (16 bytes) as two quadwords. */
export function gate64(
  offset: bigint,
  selector: number,
  type: number,
  dpl: number,
  ist = 0,
  present = true,
): [bigint, bigint] {
  const lo =
    (offset & 0xffffn) |
    (BigInt(selector) << 16n) |
    (BigInt(ist) << 32n) |
    (BigInt(type) << 40n) |
    (BigInt(dpl) << 45n) |
    ((present ? 1n : 0n) << 47n) |
    (((offset >> 16n) & 0xffffn) << 48n);
  return [lo, offset >> 32n];
}

/** A 32-bit IDT gate (8 bytes). */
export function gate32(offset: number, selector: number, type: number, dpl: number, present = true): bigint {
  return (
    BigInt(offset & 0xffff) |
    (BigInt(selector) << 16n) |
    (BigInt(type) << 40n) |
    (BigInt(dpl) << 45n) |
    ((present ? 1n : 0n) << 47n) |
    (BigInt(offset >>> 16) << 48n)
  );
}
