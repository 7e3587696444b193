// The Physical Address Metadata Table: for every 4 KiB page of TDX-usable memory, its page type, the TD
// that owns it (TDR HPA) and the size of the page it belongs to. Pages without an entry are PT_NDA
// (usable by TDX, not assigned); pages outside the TDMRs are PT_RSVD.
import { PAGE_SIZE_4K, PageType } from "./abi/pages.js";

export interface PamtEntry {
  /** PageType.* */
  pt: number;
  /** TDR HPA of the owning TD (0 for a TDR). */
  owner: number;
  /** Page level of the mapping the page belongs to (0 = 4 KiB, 1 = 2 MiB). */
  level: number;
}

const NDA: Readonly<PamtEntry> = Object.freeze({ pt: PageType.PT_NDA, owner: 0, level: 0 });
const RSVD: Readonly<PamtEntry> = Object.freeze({ pt: PageType.PT_RSVD, owner: 0, level: 0 });

export interface Tdmr {
  base: number;
  size: number;
}

export class Pamt {
  private readonly entries = new Map<number, PamtEntry>();

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

  get(hpa: number): Readonly<PamtEntry> {
    if (!this.covers(hpa)) return RSVD;
    return this.entries.get(hpa / PAGE_SIZE_4K) ?? NDA;
  }

  assign(hpa: number, pt: number, owner: number, level = 0): void {
    this.entries.set(hpa / PAGE_SIZE_4K, { pt, owner, level });
  }

  free(hpa: number): void {
    this.entries.delete(hpa / PAGE_SIZE_4K);
  }

  /** Every assigned page: [hpa, entry]. */
  *assigned(): IterableIterator<[number, Readonly<PamtEntry>]> {
    for (const [pfn, e] of this.entries) yield [pfn * PAGE_SIZE_4K, e];
  }

  get size(): number {
    return this.entries.size;
  }
}
