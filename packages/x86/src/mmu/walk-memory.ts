// Paging-structure entries as the page walker sees them: every entry fetch and A/D write is a
// guest-physical access through the second stage (in a TD, the Secure EPT translates the guest's
// own page tables too). A refusal aborts the walk by throwing the MemoryFault the owner builds.
import type { PteMemory } from "@tdxsim/memory";
import {
  GPA_ACCESS_GLA_VALID,
  GPA_ACCESS_READ,
  GPA_ACCESS_WRITE,
  GPA_OK,
  type GpaStatus,
  GpaTranslation,
  type GuestPhysicalMap,
} from "./second-stage.js";

export interface WalkOwner {
  readonly map: GuestPhysicalMap;
  /** Throws the fault or stop for a refused paging-structure access. */
  refuseWalkAccess(status: GpaStatus, gpa: number, access: number, result: GpaTranslation): never;
  /** Called before an A/D update is stored into a page that may hold decoded code. */
  noteStore(gpa: number): void;
}

export class WalkMemory implements PteMemory {
  private readonly owner: WalkOwner;
  private readonly result = new GpaTranslation();

  constructor(owner: WalkOwner) {
    this.owner = owner;
  }

  read64(gpa: number, out: Uint32Array): void {
    const words = this.words(gpa, GPA_ACCESS_READ | GPA_ACCESS_GLA_VALID);
    const w = (gpa & 0xfff) >> 2;
    out[0] = words[w];
    out[1] = words[w + 1];
  }

  write64(gpa: number, lo: number, hi: number): void {
    const words = this.words(gpa, GPA_ACCESS_WRITE | GPA_ACCESS_GLA_VALID);
    this.owner.noteStore(gpa);
    const w = (gpa & 0xfff) >> 2;
    words[w] = lo;
    words[w + 1] = hi;
  }

  private words(gpa: number, access: number): Int32Array {
    const result = this.result;
    const status = this.owner.map.translate(gpa, access, result);
    if (status !== GPA_OK) this.owner.refuseWalkAccess(status, gpa, access, result);
    return result.words;
  }
}
