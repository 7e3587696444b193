// The data-access interface the string and stack helpers use: an access through a segment
// register at an offset. The interpreter's implementation applies segmentation
// (linearAddress in segcheck.ts, or its flat fast path), the TLB/page walk, and raises
// X86Exception (#PF, #GP, #SS) or stops (MMIO) as needed.

export interface DataMemory {
  read(seg: number, offLo: number, offHi: number, bytes: 1 | 2 | 4): number;
  write(seg: number, offLo: number, offHi: number, bytes: 1 | 2 | 4, value: number): void;
}
