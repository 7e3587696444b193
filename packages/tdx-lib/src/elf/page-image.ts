import { PAGE_SIZE } from "@tdxsim/memory";
import { PF_R, PF_W, PF_X } from "./constants.js";

/** One run of guest pages to place in memory: `bytes.length` is a whole number of pages. */
export interface ElfLoadChunk {
  /** Guest-physical (= guest-virtual, the TD maps its image one-to-one) address, page-aligned. */
  readonly gpa: number;
  readonly bytes: Uint8Array;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
}

interface ImagePage {
  readonly bytes: Uint8Array;
  flags: number;
}

/**
 * The loaded image as a page map: pages start zeroed (which is what zeroes .bss), two
 * segments sharing a page get the union of their permissions, and relocations write into
 * the pages before they are cut into chunks.
 */
export class PageImage {
  private readonly pages = new Map<number, ImagePage>();

  /** Makes [address, address + size) present with `flags` (PF_*). */
  cover(address: number, size: number, flags: number): void {
    const first = Math.floor(address / PAGE_SIZE);
    const last = Math.floor((address + size - 1) / PAGE_SIZE);
    for (let page = first; page <= last; page++) {
      const existing = this.pages.get(page);
      if (existing) existing.flags |= flags;
      else this.pages.set(page, { bytes: new Uint8Array(PAGE_SIZE), flags });
    }
  }

  /** Copies `data` to `address`; the pages must already be covered. */
  write(address: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const at = address + done;
      const page = this.pages.get(Math.floor(at / PAGE_SIZE));
      if (!page) throw new RangeError(`page image: 0x${at.toString(16)} is not covered`);
      const inPage = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, data.length - done);
      page.bytes.set(data.subarray(done, done + n), inPage);
      done += n;
    }
  }

  read(address: number, size: number): Uint8Array {
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const at = address + done;
      const page = this.pages.get(Math.floor(at / PAGE_SIZE));
      if (!page) throw new RangeError(`page image: 0x${at.toString(16)} is not covered`);
      const inPage = at % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, size - done);
      out.set(page.bytes.subarray(inPage, inPage + n), done);
      done += n;
    }
    return out;
  }

  /** Consecutive pages with equal permissions become one chunk, in address order. */
  chunks(): ElfLoadChunk[] {
    const numbers = [...this.pages.keys()].sort((a, b) => a - b);
    const chunks: ElfLoadChunk[] = [];
    let start = 0;
    while (start < numbers.length) {
      const flags = this.pages.get(numbers[start])!.flags;
      let end = start + 1;
      while (
        end < numbers.length &&
        numbers[end] === numbers[end - 1] + 1 &&
        this.pages.get(numbers[end])!.flags === flags
      ) {
        end++;
      }
      const bytes = new Uint8Array((end - start) * PAGE_SIZE);
      for (let i = start; i < end; i++) bytes.set(this.pages.get(numbers[i])!.bytes, (i - start) * PAGE_SIZE);
      chunks.push({
        gpa: numbers[start] * PAGE_SIZE,
        bytes,
        readable: (flags & PF_R) !== 0,
        writable: (flags & PF_W) !== 0,
        executable: (flags & PF_X) !== 0,
      });
      start = end;
    }
    return chunks;
  }
}
