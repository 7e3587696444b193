// Sparse byte-addressable memory: 4 KiB pages allocated on first write, untouched memory
// reads as zeros. It backs guest RAM (memslot host memory), guest_memfd files and the
// simulated host-physical pages that the TDX module hands out.
import { checkGpa, PAGE_MASK, PAGE_SIZE } from "./address.js";

export class SparseMemory {
  /** Byte size of the address space; accesses at or beyond it are refused. */
  readonly size: number;
  private readonly pages = new Map<number, Uint8Array>();
  // The last page looked up: most accesses hit the same page as the one before.
  private lastPfn = -1;
  private lastPage: Uint8Array | undefined;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`memory size ${size} is not a positive multiple of ${PAGE_SIZE}`);
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
    const page = this.pages.get(pfn);
    if (page !== undefined) {
      this.lastPfn = pfn;
      this.lastPage = page;
    }
    return page;
  }

  /** The page at frame `pfn`, allocated (zeroed) if needed. */
  page(pfn: number): Uint8Array {
    let page = this.peekPage(pfn);
    if (page === undefined) {
      this.checkRange(pfn * PAGE_SIZE, PAGE_SIZE);
      page = new Uint8Array(PAGE_SIZE);
      this.pages.set(pfn, page);
      this.lastPfn = pfn;
      this.lastPage = page;
    }
    return page;
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
    this.checkRange(addr, 4);
    const off = addr & PAGE_MASK;
    if (off <= PAGE_SIZE - 4) {
      const page = this.peekPage(Math.floor(addr / PAGE_SIZE));
      if (page === undefined) return 0;
      return (page[off] | (page[off + 1] << 8) | (page[off + 2] << 16) | (page[off + 3] << 24)) >>> 0;
    }
    return this.readLE(addr, 4);
  }

  write32(addr: number, value: number): void {
    this.checkRange(addr, 4);
    const off = addr & PAGE_MASK;
    if (off <= PAGE_SIZE - 4) {
      const page = this.page(Math.floor(addr / PAGE_SIZE));
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
