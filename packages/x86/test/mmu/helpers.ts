// Test fixtures: a flat 4 GiB guest, 4-/5-level page tables built by @tdxsim/memory's builder,
// and an Mmu in long mode over it.
import {
  linearPageAllocator,
  type MapOptions,
  PageTableBuilder,
  SparseMemory,
  sparsePteMemory,
} from "@tdxsim/memory";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PGE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  FlatGuestPhysicalMap,
  type GuestPhysicalMap,
  MemoryFault,
  Mmu,
} from "../../src/mmu/index.js";

export interface ModeOptions {
  wp?: boolean;
  nxe?: boolean;
  smep?: boolean;
  smap?: boolean;
  pge?: boolean;
  la57?: boolean;
}

export const TABLES = 0x100000;

export class Guest {
  readonly memory = new SparseMemory(2 ** 32);
  readonly flat = new FlatGuestPhysicalMap(this.memory);
  readonly builder: PageTableBuilder;
  readonly mmu: Mmu;

  constructor(options: ModeOptions & { map?: GuestPhysicalMap; tlbSize?: number } = {}) {
    this.builder = new PageTableBuilder({
      levels: options.la57 ? 5 : 4,
      memory: sparsePteMemory(this.memory),
      allocTable: linearPageAllocator(TABLES, TABLES + 0x100000),
    });
    this.mmu = new Mmu({ map: options.map ?? this.flat, tlbSize: options.tlbSize ?? 256 });
    this.mmu.writeCr3(this.builder.root);
    this.setMode(options);
  }

  setMode(o: ModeOptions): void {
    this.mmu.setControlRegisters(
      CR0_PE | CR0_PG | (o.wp === false ? 0 : CR0_WP),
      CR4_PAE |
        (o.pge ? CR4_PGE : 0) |
        (o.smep ? CR4_SMEP : 0) |
        (o.smap ? CR4_SMAP : 0) |
        (o.la57 ? CR4_LA57 : 0),
      EFER_LME | EFER_LMA | (o.nxe === false ? 0 : EFER_NXE),
    );
  }

  map(gva: number | bigint, gpa: number, size: number, options: MapOptions = {}): void {
    this.builder.map(gva, gpa, size, { maxPageSize: 4096, ...options });
  }

  /** GPA of the page-table entry that maps `gva` at `level` (1 = PTE), following present entries. */
  entryAddress(gva: bigint, level = 1): number {
    let table = this.builder.root;
    for (let l = this.builder.levels; ; l--) {
      const index = Number((BigInt.asUintN(64, gva) >> BigInt(12 + 9 * (l - 1))) & 511n);
      const addr = table + index * 8;
      if (l === level) return addr;
      const entry = this.memory.read64(addr);
      if ((entry & 1n) === 0n || (l <= 3 && (entry & 0x80n) !== 0n))
        throw new Error(`no table at level ${l}`);
      table = Number(entry & 0x000ffffffffff000n);
    }
  }

  entry(gva: bigint, level = 1): bigint {
    return this.memory.read64(this.entryAddress(gva, level));
  }

  setEntry(gva: bigint, value: bigint, level = 1): void {
    this.memory.write64(this.entryAddress(gva, level), value);
  }
}

/** lo/hi halves of a 64-bit linear address. */
export function split(va: bigint): [number, number] {
  const v = BigInt.asUintN(64, va);
  return [Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0];
}

/** Runs `fn` and returns the MemoryFault it throws (fails the test if it does not throw one). */
export function faultOf(fn: () => unknown): MemoryFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof MemoryFault) return e;
    throw e;
  }
  throw new Error("expected a MemoryFault, but the access completed");
}
