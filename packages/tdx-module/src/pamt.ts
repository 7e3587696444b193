// The Physical Address Metadata Table: for every 4 KiB page of TDX-usable memory, its page type, the TD
// that owns it (TDR HPA) and the size of the page it belongs to. Pages without an entry are PT_NDA
// (usable by TDX, not assigned); pages outside the TDMRs are PT_RSVD.
//
// Storage is one typed-array block per 2 MiB of memory, made when a page in it is first assigned, so a
// TD build assigns pages without allocating an object per page (PT_NDA is 0, the arrays' initial value).
import { PAGE_SIZE_4K, PageType } from "./abi/pages.js";

export interface PamtEntry {
  /** PageType.* */
  pt: number;
  /** TDR HPA of the owning TD (0 for a TDR). */
  owner: number;
  /** Page level of the mapping the page belongs to (0 = 4 KiB, 1 = 2 MiB). */
  level: number;
}

export interface Tdmr {
  base: number;
  size: number;
}

const PAGES_PER_BLOCK = 512;

/** PAMT entries of 512 consecutive pages. */
class PamtBlock {
  readonly pt = new Uint8Array(PAGES_PER_BLOCK);
  readonly level = new Uint8Array(PAGES_PER_BLOCK);
  readonly owner = new Float64Array(PAGES_PER_BLOCK);
  /** Entries that are not PT_NDA. */
  assigned = 0;
}

export class Pamt {
  private readonly blocks = new Map<number, PamtBlock>();
  private count = 0;
  // The last block looked up: consecutive calls mostly touch the same 2 MiB.
  private lastIndex = -1;
  private lastBlock: PamtBlock | undefined;

  // The common case, one TDMR, is checked without a loop.
  private readonly firstBase: number;
  private readonly firstEnd: number;

  constructor(private readonly tdmrs: readonly Tdmr[]) {
    this.firstBase = tdmrs[0]?.base ?? 0;
    this.firstEnd = tdmrs[0] ? tdmrs[0].base + tdmrs[0].size : 0;
  }

  /** True when the page is inside a TDMR (covered by the PAMT). */
  covers(hpa: number): boolean {
    if (hpa >= this.firstBase && hpa < this.firstEnd) return true;
    for (let i = 1; i < this.tdmrs.length; i++) {
      const t = this.tdmrs[i];
      if (hpa >= t.base && hpa < t.base + t.size) return true;
    }
    return false;
  }

  private block(pfn: number): PamtBlock | undefined {
    const index = Math.floor(pfn / PAGES_PER_BLOCK);
    if (index === this.lastIndex) return this.lastBlock;
    const b = this.blocks.get(index);
    if (b) {
      this.lastIndex = index;
      this.lastBlock = b;
    }
    return b;
  }

  /** The page type (PT_RSVD outside the TDMRs), without allocating. */
  pt(hpa: number): number {
    if (!this.covers(hpa)) return PageType.PT_RSVD;
    const pfn = Math.floor(hpa / PAGE_SIZE_4K);
    const b = this.block(pfn);
    return b ? b.pt[pfn % PAGES_PER_BLOCK] : PageType.PT_NDA;
  }

  /** The whole entry (a fresh object). */
  get(hpa: number): Readonly<PamtEntry> {
    if (!this.covers(hpa)) return { pt: PageType.PT_RSVD, owner: 0, level: 0 };
    const pfn = Math.floor(hpa / PAGE_SIZE_4K);
    const b = this.block(pfn);
    if (!b) return { pt: PageType.PT_NDA, owner: 0, level: 0 };
    const i = pfn % PAGES_PER_BLOCK;
    return { pt: b.pt[i], owner: b.owner[i], level: b.level[i] };
  }

  assign(hpa: number, pt: number, owner: number, level = 0): void {
    const pfn = Math.floor(hpa / PAGE_SIZE_4K);
    let b = this.block(pfn);
    if (!b) {
      b = new PamtBlock();
      this.blocks.set(Math.floor(pfn / PAGES_PER_BLOCK), b);
    }
    const i = pfn % PAGES_PER_BLOCK;
    if (b.pt[i] === PageType.PT_NDA) {
      b.assigned++;
      this.count++;
    }
    b.pt[i] = pt;
    b.owner[i] = owner;
    b.level[i] = level;
  }

  free(hpa: number): void {
    const pfn = Math.floor(hpa / PAGE_SIZE_4K);
    const b = this.block(pfn);
    if (!b) return;
    const i = pfn % PAGES_PER_BLOCK;
    if (b.pt[i] === PageType.PT_NDA) return;
    b.pt[i] = PageType.PT_NDA;
    b.owner[i] = 0;
    b.level[i] = 0;
    this.count--;
    if (--b.assigned === 0) {
      this.blocks.delete(Math.floor(pfn / PAGES_PER_BLOCK));
      if (this.lastBlock === b) {
        this.lastIndex = -1;
        this.lastBlock = undefined;
      }
    }
  }

  /** Every assigned page: [hpa, entry]. */
  *assigned(): IterableIterator<[number, Readonly<PamtEntry>]> {
    for (const [index, b] of this.blocks) {
      for (let i = 0; i < PAGES_PER_BLOCK; i++) {
        if (b.pt[i] === PageType.PT_NDA) continue;
        yield [
          (index * PAGES_PER_BLOCK + i) * PAGE_SIZE_4K,
          { pt: b.pt[i], owner: b.owner[i], level: b.level[i] },
        ];
      }
    }
  }

  get size(): number {
    return this.count;
  }
}
