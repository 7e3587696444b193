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

// Second-stage answers for paging-structure reads are cached (direct-mapped by GPA page) while
// the map's generation stays the same: a walk reads 4-5 entries, mostly from the same few pages.
const CACHE_SIZE = 64;

export class WalkMemory implements PteMemory {
  private readonly owner: WalkOwner;
  private readonly result = new GpaTranslation();
  private readonly cachePfn = new Float64Array(CACHE_SIZE).fill(-1);
  private readonly cacheWords: Int32Array[] = new Array<Int32Array>(CACHE_SIZE).fill(new Int32Array(0));
  private cacheGeneration = -1;

  constructor(owner: WalkOwner) {
    this.owner = owner;
  }

  read64(gpa: number, out: Uint32Array): void {
    const pfn = Math.floor(gpa / 4096);
    const slot = pfn & (CACHE_SIZE - 1);
    const generation = this.owner.map.generation;
    let words: Int32Array;
    if (this.cachePfn[slot] === pfn && this.cacheGeneration === generation) {
      words = this.cacheWords[slot];
    } else {
      words = this.words(gpa, GPA_ACCESS_READ | GPA_ACCESS_GLA_VALID);
      if (this.cacheGeneration !== generation) {
        this.cachePfn.fill(-1);
        this.cacheGeneration = generation;
      }
      this.cachePfn[slot] = pfn;
      this.cacheWords[slot] = words;
    }
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
