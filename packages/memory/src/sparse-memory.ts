// Sparse byte-addressable memory: 4 KiB pages allocated on first write, untouched memory
// reads as zeros. It backs guest RAM (memslot host memory), guest_memfd files and the
// simulated host-physical pages that the TDX module hands out.
import { checkGpa, GPA_LIMIT, PAGE_MASK, PAGE_SIZE } from "./address.js";
import { type PageRecord, PageSlabs } from "./page-slabs.js";

// Aligned 32-bit accesses use an Int32Array view of the page, which is only right on a
// little-endian host (every platform Node runs on today); elsewhere they take the byte path.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class SparseMemory {
  /** Byte size of the address space; accesses at or beyond it are refused. */
  readonly size: number;
  private readonly pages = new Map<number, PageRecord>();
  private readonly slabs = new PageSlabs();
  // The last page looked up: most accesses hit the same page as the one before.
  private lastPfn = -1;
  private lastPage: Uint8Array | undefined;
  private lastWords: Int32Array | undefined;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > GPA_LIMIT) {
      throw new RangeError(`memory size ${size} is not a positive multiple of ${PAGE_SIZE} up to 2^52`);
    }
    this.size = size;
  }

  /** Number of pages that hold storage. */
  get allocatedPages(): number {
    return this.pages.size;
  }

  /** The page at frame `pfn`, or undefined when it was never written. */
  peekPage(pfn: number): Uint8Array | undefined {
    if (pfn === this.lastPfn) return this.lastPage;
    const record = this.pages.get(pfn);
    if (record === undefined) return undefined;
    this.remember(pfn, record);
    return record.bytes;
  }

  /** The page at frame `pfn` as 32-bit words (little-endian host order), or undefined when never written. */
  peekWords(pfn: number): Int32Array | undefined {
    if (pfn === this.lastPfn) return this.lastWords;
    const record = this.pages.get(pfn);
    if (record === undefined) return undefined;
    this.remember(pfn, record);
    return record.words;
  }

  /** The page at frame `pfn`, allocated (zeroed) if needed. */
  page(pfn: number): Uint8Array {
    return this.pageRecord(pfn).bytes;
  }

  private pageRecord(pfn: number): PageRecord {
    let record = this.pages.get(pfn);
    if (record === undefined) {
      this.checkRange(pfn * PAGE_SIZE, PAGE_SIZE);
      record = this.slabs.allocate();
      this.pages.set(pfn, record);
    }
    this.remember(pfn, record);
    return record;
  }

  private remember(pfn: number, record: PageRecord): void {
    this.lastPfn = pfn;
    this.lastPage = record.bytes;
    this.lastWords = record.words;
  }

  /** Drops the storage of whole pages in [offset, offset+length): they read as zeros again. */
  discard(offset: number, length: number): void {
    this.checkRange(offset, length);
    if (offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) {
      throw new RangeError(
        `discard range 0x${offset.toString(16)}+0x${length.toString(16)} is not page aligned`,
      );
    }
    const first = offset / PAGE_SIZE;
    const count = length / PAGE_SIZE;
    if (count > this.pages.size) {
      for (const pfn of [...this.pages.keys()])
        if (pfn >= first && pfn < first + count) this.pages.delete(pfn);
    } else {
      for (let i = 0; i < count; i++) this.pages.delete(first + i);
    }
    this.lastPfn = -1;
    this.lastPage = undefined;
    this.lastWords = undefined;
  }

  read8(addr: number): number {
    this.checkRange(addr, 1);
    const page = this.peekPage(Math.floor(addr / PAGE_SIZE));
    return page === undefined ? 0 : page[addr & PAGE_MASK];
  }

  write8(addr: number, value: number): void {
    this.checkRange(addr, 1);
    this.page(Math.floor(addr / PAGE_SIZE))[addr & PAGE_MASK] = value;
  }

  read16(addr: number): number {
    return this.readLE(addr, 2);
  }

  write16(addr: number, value: number): void {
    this.writeLE(addr, 2, value);
  }

  /** Unsigned 32-bit little-endian read. */
  read32(addr: number): number {
    // Fast path: an aligned access never crosses a page; NaN, fractions and negatives fail
    // these tests and reach the checked path, which names them.
    // (Division by 4096 is exact; `%` on non-Smi doubles would be an fmod call.)
    const pfn = Math.floor(addr / PAGE_SIZE);
    const off = addr - pfn * PAGE_SIZE;
    if (LITTLE_ENDIAN && off === (off & 0xffc) && pfn >= 0 && addr < this.size) {
      const words = pfn === this.lastPfn ? this.lastWords : this.peekWords(pfn);
      return words === undefined ? 0 : words[off >> 2] >>> 0;
    }
    this.checkRange(addr, 4);
    if (off <= PAGE_SIZE - 4) {
      const page = this.peekPage(pfn);
      if (page === undefined) return 0;
      return (page[off] | (page[off + 1] << 8) | (page[off + 2] << 16) | (page[off + 3] << 24)) >>> 0;
    }
    return this.readLE(addr, 4);
  }

  write32(addr: number, value: number): void {
    const pfn = Math.floor(addr / PAGE_SIZE);
    const off = addr - pfn * PAGE_SIZE;
    if (LITTLE_ENDIAN && off === (off & 0xffc) && pfn >= 0 && addr < this.size) {
      const words = pfn === this.lastPfn ? this.lastWords! : this.pageRecord(pfn).words;
      words[off >> 2] = value;
      return;
    }
    this.checkRange(addr, 4);
    if (off <= PAGE_SIZE - 4) {
      const page = this.page(pfn);
      page[off] = value;
      page[off + 1] = value >>> 8;
      page[off + 2] = value >>> 16;
      page[off + 3] = value >>> 24;
      return;
    }
    this.writeLE(addr, 4, value);
  }

  read64(addr: number): bigint {
    const lo = this.read32(addr);
    const hi = this.read32(addr + 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  write64(addr: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.write32(addr, Number(v & 0xffffffffn));
    this.write32(addr + 4, Number(v >> 32n));
  }

  /** Copies `length` bytes starting at `addr` out (zeros where nothing was written). */
  readBytes(addr: number, length: number): Uint8Array {
    this.checkRange(addr, length);
    const out = new Uint8Array(length);
    this.forEachChunk(addr, length, (pfn, off, pos, n) => {
      const page = this.peekPage(pfn);
      if (page !== undefined) out.set(page.subarray(off, off + n), pos);
    });
    return out;
  }

  writeBytes(addr: number, data: Uint8Array): void {
    this.checkRange(addr, data.length);
    this.forEachChunk(addr, data.length, (pfn, off, pos, n) => {
      this.page(pfn).set(data.subarray(pos, pos + n), off);
    });
  }

  /** Sets `length` bytes at `addr` to `value`; filling with zero does not allocate pages. */
  fill(addr: number, length: number, value: number): void {
    this.checkRange(addr, length);
    this.forEachChunk(addr, length, (pfn, off, _pos, n) => {
      if (value === 0) {
        this.peekPage(pfn)?.fill(0, off, off + n);
      } else {
        this.page(pfn).fill(value, off, off + n);
      }
    });
  }

  private readLE(addr: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.read8(addr + i);
    return v;
  }

  private writeLE(addr: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.write8(addr + i, (value >>> (8 * i)) & 0xff);
  }

  private forEachChunk(
    addr: number,
    length: number,
    visit: (pfn: number, pageOffset: number, dataOffset: number, n: number) => void,
  ): void {
    let pos = 0;
    while (pos < length) {
      const a = addr + pos;
      const off = a & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - off, length - pos);
      visit(Math.floor(a / PAGE_SIZE), off, pos, n);
      pos += n;
    }
  }

  private checkRange(addr: number, length: number): void {
    checkGpa(addr, "address");
    if (!Number.isInteger(length) || length < 0)
      throw new RangeError(`length ${length} is not a natural number`);
    if (addr + length > this.size) {
      throw new RangeError(
        `access 0x${addr.toString(16)}+0x${length.toString(16)} is beyond the memory size 0x${this.size.toString(16)}`,
      );
    }
  }
}
