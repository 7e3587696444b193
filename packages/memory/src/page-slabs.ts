// Page storage for SparseMemory: pages are carved out of shared ArrayBuffers ("slabs") instead of one
// ArrayBuffer each, because allocating a backing store costs far more than creating a view on one.
//
// Slabs are handed out in first-touch order, whatever the page's address, so storage stays
// proportional to the pages touched. A slot is never reused: a discarded page's storage is only
// reclaimed (by the GC) once every page of its slab has been discarded, so a stale reference to a
// discarded page can never alias a page allocated later.
import { PAGE_SIZE } from "./address.js";

/** One page: its bytes and a 32-bit view of the same storage. */
export interface PageRecord {
  bytes: Uint8Array;
  words: Int32Array;
}

/** Pages per slab once the memory has grown (64 KiB); the first slabs are smaller so tiny memories stay tiny. */
export const MAX_SLAB_PAGES = 16;

const WORDS_PER_PAGE = PAGE_SIZE / 4;

export class PageSlabs {
  private slabBytes = new Uint8Array(0);
  private slabWords = new Int32Array(0);
  private slabPages = 0;
  private used = 0;

  /** A fresh zeroed page. */
  allocate(): PageRecord {
    if (this.used === this.slabPages) {
      this.slabPages = Math.min(Math.max(1, this.slabPages * 2), MAX_SLAB_PAGES);
      this.slabBytes = new Uint8Array(this.slabPages * PAGE_SIZE);
      this.slabWords = new Int32Array(this.slabBytes.buffer);
      this.used = 0;
    }
    const index = this.used++;
    // subarray() is V8's fast path for a view on existing storage.
    return {
      bytes: this.slabBytes.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE),
      words: this.slabWords.subarray(index * WORDS_PER_PAGE, (index + 1) * WORDS_PER_PAGE),
    };
  }
}
