// The simplest second stage: guest-physical = one SparseMemory, everything writable, addresses
// at or beyond its size have no backing (MMIO). For tests and bare-metal style guests.
import type { SparseMemory } from "@tdxsim/memory";
import {
  GPA_NO_BACKING,
  GPA_OK,
  type GpaStatus,
  type GpaTranslation,
  type GuestPhysicalMap,
} from "./second-stage.js";

export class FlatGuestPhysicalMap implements GuestPhysicalMap {
  readonly memory: SparseMemory;
  generation = 0;

  constructor(memory: SparseMemory) {
    this.memory = memory;
  }

  translate(gpa: number, _access: number, out: GpaTranslation): GpaStatus {
    if (!(gpa >= 0 && gpa < this.memory.size)) return GPA_NO_BACKING;
    const pfn = Math.floor(gpa / 4096);
    out.bytes = this.memory.page(pfn);
    out.words = this.memory.peekWords(pfn)!;
    out.writable = true;
    out.private = false;
    return GPA_OK;
  }

  /** Tells the MMUs using this map that earlier answers are stale (e.g. after `memory.discard`). */
  invalidate(): void {
    this.generation++;
  }
}
