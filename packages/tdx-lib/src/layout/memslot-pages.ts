import { PAGE_SIZE } from "@tdxsim/memory";
import { hex } from "../util/hex.js";
import { TdLayoutError } from "./td-layout-error.js";

/** A contiguous run of pages. */
export interface PageRun {
  readonly gpa: number;
  readonly pages: number;
}

/**
 * Physical pages of one memslot: which are allocated, and which of those are protected
 * (private, to be added with KVM_TDX_INIT_MEM_REGION) — the selftests' per-region
 * `unused_phy_pages` and `protected_phy_pages` sparsebits.
 */
export class MemslotPages {
  readonly slot: number;
  readonly gpa: number;
  readonly size: number;
  private readonly used: Uint8Array;
  private readonly protectedPages: Uint8Array;

  constructor(slot: number, gpa: number, size: number) {
    if (gpa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size <= 0) {
      throw new TdLayoutError(
        `memslot ${slot}: gpa ${hex(gpa)} and size ${hex(size)} must be whole, non-empty pages`,
      );
    }
    this.slot = slot;
    this.gpa = gpa;
    this.size = size;
    this.used = new Uint8Array(size / PAGE_SIZE);
    this.protectedPages = new Uint8Array(size / PAGE_SIZE);
  }

  get end(): number {
    return this.gpa + this.size;
  }

  contains(gpa: number, size = 1): boolean {
    return gpa >= this.gpa && gpa + size <= this.end;
  }

  isUsed(gpa: number): boolean {
    return this.used[(gpa - this.gpa) / PAGE_SIZE] === 1;
  }

  /** Marks specific pages allocated (an ELF segment at its link address); they must be free. */
  claim(gpa: number, pages: number, isProtected: boolean, what: string): void {
    if (gpa % PAGE_SIZE !== 0 || !this.contains(gpa, pages * PAGE_SIZE)) {
      throw new TdLayoutError(
        `${what}: [${hex(gpa)}, ${hex(gpa + pages * PAGE_SIZE)}) is not page-aligned inside memslot ${this.slot} [${hex(this.gpa)}, ${hex(this.end)})`,
      );
    }
    const first = (gpa - this.gpa) / PAGE_SIZE;
    for (let i = first; i < first + pages; i++) {
      if (this.used[i])
        throw new TdLayoutError(`${what}: page ${hex(this.gpa + i * PAGE_SIZE)} is already allocated`);
    }
    this.used.fill(1, first, first + pages);
    this.protectedPages.fill(isProtected ? 1 : 0, first, first + pages);
  }

  /** vm_phy_pages_alloc(): the lowest run of `pages` free pages at or above `paddrMin`. */
  allocate(pages: number, paddrMin: number, isProtected: boolean, what: string): number {
    if (!Number.isInteger(pages) || pages < 1)
      throw new TdLayoutError(`${what}: ${pages} is not a page count`);
    const start = Math.max(0, Math.ceil((paddrMin - this.gpa) / PAGE_SIZE));
    let run = 0;
    for (let i = start; i < this.used.length; i++) {
      run = this.used[i] ? 0 : run + 1;
      if (run === pages) {
        const gpa = this.gpa + (i - pages + 1) * PAGE_SIZE;
        this.claim(gpa, pages, isProtected, what);
        return gpa;
      }
    }
    throw new TdLayoutError(
      `${what}: no ${pages} free contiguous page(s) at or above ${hex(paddrMin)} in memslot ${this.slot} [${hex(this.gpa)}, ${hex(this.end)})`,
    );
  }

  /** Contiguous runs of protected pages: what td_finalize adds with KVM_TDX_INIT_MEM_REGION. */
  protectedRuns(): PageRun[] {
    const runs: PageRun[] = [];
    let start = -1;
    for (let i = 0; i <= this.protectedPages.length; i++) {
      const set = i < this.protectedPages.length && this.protectedPages[i] === 1;
      if (set && start < 0) start = i;
      if (!set && start >= 0) {
        runs.push({ gpa: this.gpa + start * PAGE_SIZE, pages: i - start });
        start = -1;
      }
    }
    return runs;
  }
}
