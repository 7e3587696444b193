// Builds x86 4-/5-level page tables: maps GVA ranges to GPA ranges with the largest page size
// that fits (1 GiB, 2 MiB, 4 KiB), taking table pages from a caller-given allocator. A map()
// that would overwrite an existing mapping is refused before anything is written.
import {
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  type PagingLevels,
  PTE_A,
  PTE_ADDR_HI,
  PTE_ADDR_LO,
  PTE_D,
  PTE_G,
  PTE_HI_NX,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
} from "./constants.js";
import type { PteMemory } from "./pte-memory.js";

export interface PageTableBuilderOptions {
  levels: PagingLevels;
  memory: PteMemory;
  /** Returns the GPA of a fresh 4 KiB page for a table (the builder zeroes it). */
  allocTable: () => number;
  /** MAXPHYADDR; mapped GPAs and tables must lie below 2^maxPhysAddr. Default 52. */
  maxPhysAddr?: number;
  /** The "shared" GPA bit (TDX: 47 with GPAW 48, 51 with GPAW 52), set in leaves mapped with `shared`. */
  sharedBit?: number;
  /** An existing top-level table to extend instead of allocating one. */
  root?: number;
}

export interface MapOptions {
  /** R/W (default true) */
  writable?: boolean;
  /** U/S (default false: supervisor) */
  user?: boolean;
  /** false sets XD (default true) */
  executable?: boolean;
  /** G (default false) */
  global?: boolean;
  /** Sets the shared GPA bit in the leaves (default false). */
  shared?: boolean;
  /** Pre-set the accessed and dirty flags (default false: the walker sets them). */
  accessedDirty?: boolean;
  /** PWT / PCD cache-control bits (default false). */
  writeThrough?: boolean;
  cacheDisable?: boolean;
  /** Largest page size to use: 4 KiB, 2 MiB or 1 GiB (default 1 GiB). */
  maxPageSize?: number;
}

const PAGE_SIZES = [PAGE_SIZE_1G, PAGE_SIZE_2M, PAGE_SIZE_4K];
// Intermediate entries allow everything; the leaf decides (what Linux and the selftests do).
const TABLE_BITS = PTE_P | PTE_RW | PTE_US;

export class PageTableBuilder {
  readonly levels: PagingLevels;
  readonly memory: PteMemory;
  /** GPA of the top-level table: what CR3 holds. */
  readonly root: number;
  /** Table pages allocated so far (including the root, when this builder allocated it). */
  tablePages = 0;
  private readonly allocTable: () => number;
  private readonly maxPhys: number;
  private readonly sharedBit: number | undefined;
  private readonly scratch = new Uint32Array(2);

  constructor(options: PageTableBuilderOptions) {
    if (options.levels !== 4 && options.levels !== 5)
      throw new RangeError(`levels ${options.levels} is not 4 or 5`);
    this.levels = options.levels;
    this.memory = options.memory;
    this.allocTable = options.allocTable;
    this.maxPhys = options.maxPhysAddr ?? 52;
    if (!Number.isInteger(this.maxPhys) || this.maxPhys < 36 || this.maxPhys > 52) {
      throw new RangeError(`maxPhysAddr ${this.maxPhys} is not in 36..52`);
    }
    const sb = options.sharedBit;
    if (sb !== undefined && (!Number.isInteger(sb) || sb < 12 || sb >= this.maxPhys)) {
      throw new RangeError(`sharedBit ${sb} is not an address bit below MAXPHYADDR ${this.maxPhys}`);
    }
    this.sharedBit = sb;
    if (options.root !== undefined) {
      this.checkTableAddress(options.root, "root");
      this.root = options.root;
    } else {
      this.root = this.newTable();
    }
  }

  /** Maps [gva, gva+size) to [gpa, gpa+size). gva is a canonical linear address (bigint for the upper half). */
  map(gva: number | bigint, gpa: number, size: number, options: MapOptions = {}): void {
    const vpn = this.virtualPageNumber(gva);
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE_4K !== 0) {
      throw new RangeError(`size ${size} is not a positive multiple of 4 KiB`);
    }
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE_SIZE_4K !== 0) {
      throw new RangeError(`gpa ${gpa} is not a page-aligned physical address`);
    }
    if (gpa + size > 2 ** this.maxPhys) {
      throw new RangeError(
        `gpa range 0x${gpa.toString(16)}+0x${size.toString(16)} goes beyond MAXPHYADDR ${this.maxPhys}`,
      );
    }
    const pages = size / PAGE_SIZE_4K;
    // The range must stay inside its canonical half (lower: up to 2^47 or 2^56; upper: up to 2^64).
    const halfPages = 2 ** (9 * this.levels - 1);
    if (vpn + pages > (vpn < halfPages ? halfPages : 2 * halfPages)) {
      throw new RangeError(
        `gva range ends beyond its canonical half of the ${this.levels}-level address space`,
      );
    }
    const maxPageSize = options.maxPageSize ?? PAGE_SIZE_1G;
    if (!PAGE_SIZES.includes(maxPageSize))
      throw new RangeError(`maxPageSize ${maxPageSize} is not 4 KiB, 2 MiB or 1 GiB`);
    if (options.shared && this.sharedBit === undefined)
      throw new RangeError("shared mapping requested but no sharedBit configured");
    const leaf = leafBits(options);
    const sharedOffset = options.shared ? 2 ** this.sharedBit! : 0;
    if (options.shared && gpa + size > sharedOffset) {
      throw new RangeError(
        `gpa range 0x${gpa.toString(16)}+0x${size.toString(16)} already reaches the shared bit`,
      );
    }
    // Check everything first, so a refused map() leaves the tables untouched.
    this.walkRange(vpn, gpa, pages, maxPageSize, leaf, sharedOffset, false);
    this.walkRange(vpn, gpa, pages, maxPageSize, leaf, sharedOffset, true);
  }

  private walkRange(
    vpn: number,
    gpa: number,
    pages: number,
    maxPageSize: number,
    leaf: { lo: number; hi: number },
    sharedOffset: number,
    apply: boolean,
  ): void {
    let done = 0;
    while (done < pages) {
      const v = vpn + done;
      const p = gpa + done * PAGE_SIZE_4K;
      let placed = 0;
      for (const size of PAGE_SIZES) {
        const n = size / PAGE_SIZE_4K;
        if (size > maxPageSize || v % n !== 0 || p % size !== 0 || pages - done < n) continue;
        if (this.placeLeaf(v, p + sharedOffset, size, leaf, apply)) {
          placed = n;
          break;
        }
      }
      done += placed;
    }
  }

  // Puts a leaf of `size` for virtual page `vpn`; false when a table already sits where a
  // large page would go (then a smaller size is tried). Throws on an existing mapping.
  private placeLeaf(
    vpn: number,
    gpa: number,
    size: number,
    leaf: { lo: number; hi: number },
    apply: boolean,
  ): boolean {
    const leafLevel = size === PAGE_SIZE_1G ? 3 : size === PAGE_SIZE_2M ? 2 : 1;
    let table: number | undefined = this.root;
    for (let level = this.levels; level > leafLevel; level--) {
      if (table === undefined) return true; // dry run below a table that does not exist yet
      const addr = table + indexOf(vpn, level) * 8;
      const [lo, hi] = this.read(addr);
      if ((lo & PTE_P) === 0) {
        if (!apply) {
          table = undefined;
          continue;
        }
        const next = this.newTable();
        this.writeEntry(addr, next, TABLE_BITS, 0);
        table = next;
        continue;
      }
      if (level <= 3 && (lo & PTE_PS) !== 0) throw this.conflict(vpn, level);
      table = (hi & PTE_ADDR_HI) * 4294967296 + ((lo & PTE_ADDR_LO) >>> 0);
    }
    if (table === undefined) return true;
    const addr = table + indexOf(vpn, leafLevel) * 8;
    const [lo] = this.read(addr);
    if ((lo & PTE_P) !== 0) {
      if (leafLevel > 1 && (lo & PTE_PS) === 0) return false; // a table: use smaller pages inside it
      throw this.conflict(vpn, leafLevel);
    }
    if (apply) this.writeEntry(addr, gpa, leaf.lo | (leafLevel > 1 ? PTE_PS : 0), leaf.hi);
    return true;
  }

  private writeEntry(addr: number, target: number, lowBits: number, highBits: number): void {
    const lo = ((target % 4294967296) | lowBits) >>> 0;
    const hi = (Math.floor(target / 4294967296) | highBits) >>> 0;
    this.memory.write64(addr, lo, hi);
  }

  private read(addr: number): [number, number] {
    this.memory.read64(addr, this.scratch);
    return [this.scratch[0], this.scratch[1]];
  }

  private newTable(): number {
    const gpa = this.allocTable();
    this.checkTableAddress(gpa, "allocTable() result");
    for (let i = 0; i < 512; i++) this.memory.write64(gpa + i * 8, 0, 0);
    this.tablePages++;
    return gpa;
  }

  private checkTableAddress(gpa: number, what: string): void {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE_SIZE_4K !== 0 || gpa >= 2 ** this.maxPhys) {
      throw new RangeError(`${what} ${gpa} is not a page-aligned physical address below MAXPHYADDR`);
    }
  }

  private conflict(vpn: number, level: number): Error {
    const gva = BigInt(vpn) * 4096n;
    return new RangeError(`gva 0x${gva.toString(16)} is already mapped (level ${level} entry present)`);
  }

  // Virtual page number of a canonical linear address, within the 48- or 57-bit space.
  private virtualPageNumber(gva: number | bigint): number {
    const bits = 12 + 9 * this.levels;
    let v: bigint;
    if (typeof gva === "number") {
      if (!Number.isSafeInteger(gva) || gva < 0)
        throw new RangeError(`gva ${gva} is not a linear address (use bigint above 2^53)`);
      v = BigInt(gva);
    } else {
      v = BigInt.asUintN(64, gva);
    }
    const upper = v >> BigInt(bits - 1);
    const allOnes = (1n << BigInt(64 - bits + 1)) - 1n;
    if (upper !== 0n && upper !== allOnes) {
      throw new RangeError(`gva 0x${v.toString(16)} is not canonical for ${this.levels}-level paging`);
    }
    if (v % 4096n !== 0n) throw new RangeError(`gva 0x${v.toString(16)} is not page aligned`);
    return Number((v & ((1n << BigInt(bits)) - 1n)) >> 12n);
  }
}

function leafBits(o: MapOptions): { lo: number; hi: number } {
  let lo = PTE_P;
  if (o.writable ?? true) lo |= PTE_RW;
  if (o.user) lo |= PTE_US;
  if (o.global) lo |= PTE_G;
  if (o.accessedDirty) lo |= PTE_A | PTE_D;
  if (o.writeThrough) lo |= PTE_PWT;
  if (o.cacheDisable) lo |= PTE_PCD;
  return { lo, hi: (o.executable ?? true) ? 0 : PTE_HI_NX };
}

/** Table index of virtual page `vpn` at `level` (1 = page table). */
function indexOf(vpn: number, level: number): number {
  return Math.floor(vpn / 2 ** (9 * (level - 1))) % 512;
}
