// The linear-memory interface the execution core uses for implicit system accesses
// (descriptor tables, the TSS, stack pushes during event delivery). The TLB/page walk plugs
// in behind it later: an implementation translates the linear address (supervisor implicit
// access, or user when `user` is set) and throws X86Exception(#PF, error code) after setting
// CR2 when translation fails, or another X86Exception/stop as the layer above decides.

export interface SystemMemory {
  /** Read 4 bytes at the 64-bit linear address (lo, hi). */
  readU32(addrLo: number, addrHi: number, user: boolean): number;
  /** Write 4 bytes at the 64-bit linear address (lo, hi). */
  writeU32(addrLo: number, addrHi: number, value: number, user: boolean): void;
}

/** (lo, hi) + offset, 64-bit wrapping; the high word goes to `addHi`. */
export let addHi = 0;
export function addLinear(lo: number, hi: number, offset: number): number {
  const s = (lo >>> 0) + offset;
  const carry = s > 0xffffffff ? 1 : s < 0 ? -1 : 0;
  addHi = (hi + carry) | 0;
  return s | 0;
}
