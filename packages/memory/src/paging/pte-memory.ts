// How the walker and builder reach paging-structure entries. In a TD every entry fetch is
// itself translated by the Secure or shared EPT, so the CPU layer supplies this; a plain
// adapter over a SparseMemory is given for guest-physical memory without a second stage.
import type { SparseMemory } from "../sparse-memory.js";

export interface PteMemory {
  /** Reads the 8-byte entry at `gpa` into out[0] (bits 31:0) and out[1] (bits 63:32). May throw to abort a walk (e.g. an EPT violation). */
  read64(gpa: number, out: Uint32Array): void;
  /** Writes the entry at `gpa` (both halves unsigned or int32). */
  write64(gpa: number, lo: number, hi: number): void;
}

/** Entries stored directly in a SparseMemory at their GPA. */
export function sparsePteMemory(memory: SparseMemory): PteMemory {
  return {
    read64(gpa, out) {
      // Entries are 8-byte aligned, so one never straddles a page.
      const pfn = Math.floor(gpa / 4096);
      const off = gpa - pfn * 4096;
      const words = memory.peekWords(pfn);
      if (words === undefined) {
        if (!(gpa >= 0 && gpa + 8 <= memory.size))
          throw new RangeError(`entry at 0x${gpa.toString(16)} is outside memory`);
        out[0] = 0;
        out[1] = 0;
        return;
      }
      out[0] = words[off >> 2];
      out[1] = words[(off >> 2) + 1];
    },
    write64(gpa, lo, hi) {
      memory.write32(gpa, lo);
      memory.write32(gpa + 4, hi);
    },
  };
}
