// @tdxsim/x86 MMU: TLB-hit read32/write32 through Mmu (4-level paging, 4 KiB pages, a 64 KiB
// hot working set) against the same loop on a raw Int32Array, and the TLB-miss (walk + fill)
// rate against a Map lookup. Every figure is printed next to its baseline from this process.
import {
  linearPageAllocator,
  PageTableBuilder,
  SparseMemory,
  type SparseMemory as SparseMemoryType,
  sparsePteMemory,
} from "@tdxsim/memory";
import { measure, report } from "./measure.js";

// tools/bench does not depend on @tdxsim/x86 yet (its package.json is not this branch's to
// change), so the MMU is loaded from its source by URL and typed here by the part used.
// Once the dependency exists: import { Mmu, FlatGuestPhysicalMap, CR0_PE, ... } from "@tdxsim/x86/mmu".
interface BenchMmu {
  hi: number;
  read32(lo: number, hi: number): number;
  read64(lo: number, hi: number): number;
  write32(lo: number, hi: number, value: number): void;
  writeCr3(cr3: number): void;
  setControlRegisters(cr0: number, cr4: number, efer: number): void;
}
interface MmuModule {
  Mmu: new (options: { map: unknown; tlbSize?: number }) => BenchMmu;
  FlatGuestPhysicalMap: new (memory: SparseMemoryType) => unknown;
  CR0_PE: number;
  CR0_PG: number;
  CR0_WP: number;
  CR4_PAE: number;
  EFER_LMA: number;
  EFER_LME: number;
  EFER_NXE: number;
}
const x86: MmuModule = await import(new URL("../../../packages/x86/src/mmu/index.ts", import.meta.url).href);
const { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, EFER_LMA, EFER_LME, EFER_NXE, FlatGuestPhysicalMap, Mmu } = x86;

let sink = 0;
const WORDS = 16384; // 64 KiB = 16 pages

const memory = new SparseMemory(2 ** 32);
const builder = new PageTableBuilder({
  levels: 4,
  memory: sparsePteMemory(memory),
  allocTable: linearPageAllocator(0x10_0000, 0x20_0000),
});
const VA_HI = 0x7f12; // a user-space-like address: bits 63:32 are not zero
const VA_LO = 0x3400_0000;
builder.map(VA_HI * 2 ** 32 + VA_LO, 0x100_0000, 64 * 1024 * 1024, { maxPageSize: 4096 });
const mmu = new Mmu({ map: new FlatGuestPhysicalMap(memory), tlbSize: 1024 });
mmu.writeCr3(builder.root);
mmu.setControlRegisters(CR0_PE | CR0_PG | CR0_WP, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);

// 1. TLB hits: the same access pattern as the baseline, 16 pages, aligned words.
const raw = new Int32Array(WORDS);
const rawRead = measure("Int32Array read", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + raw[(i * 7) & (WORDS - 1)]) | 0;
  sink += s;
});
const mmuRead = measure("Mmu.read32 (TLB hit)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + mmu.read32(VA_LO + (((i * 7) & (WORDS - 1)) << 2), VA_HI)) | 0;
  sink += s;
});
const rawWrite = measure("Int32Array write", " ops/s", (n) => {
  for (let i = 0; i < n; i++) raw[(i * 7) & (WORDS - 1)] = i;
});
const mmuWrite = measure("Mmu.write32 (TLB hit)", " ops/s", (n) => {
  for (let i = 0; i < n; i++) mmu.write32(VA_LO + (((i * 7) & (WORDS - 1)) << 2), VA_HI, i);
});
const rawRW = measure("Int32Array read+write", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const k = (i * 7) & (WORDS - 1);
    s = (s + raw[k]) | 0;
    raw[k] = s;
  }
  sink += s;
});
const mmuRW = measure("Mmu.read32+write32 (TLB hit)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = VA_LO + (((i * 7) & (WORDS - 1)) << 2);
    s = (s + mmu.read32(a, VA_HI)) | 0;
    mmu.write32(a, VA_HI, s);
  }
  sink += s;
});
const mmuRead64 = measure("Mmu.read64 (TLB hit)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    s = (s + mmu.read64(VA_LO + (((i * 7) & (WORDS / 2 - 1)) << 3), VA_HI) + mmu.hi) | 0;
  }
  sink += s;
});
report(rawRead);
report(mmuRead, rawRead);
report(rawWrite);
report(mmuWrite, rawWrite);
report(rawRW);
report(mmuRW, rawRW);
report(mmuRead64, rawRead);

// 2. TLB misses: 16384 pages (64 MiB) visited with a stride, so each access walks and fills.
const PAGES = 16384;
const keys = new Map<number, number>();
for (let p = 0; p < PAGES; p++) keys.set(p * 4096, p);
const mapGet = measure("Map.get (baseline)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = (s + (keys.get(((i * 2654435761) >>> 18) * 4096) ?? 0)) | 0;
  sink += s;
});
const misses = measure("Mmu.read32 (TLB miss: 4-level walk + fill)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const page = ((i * 2654435761) >>> 18) & (PAGES - 1);
    s = (s + mmu.read32((VA_LO + page * 4096) | 0, VA_HI)) | 0;
  }
  sink += s;
});
report(mapGet);
report(misses, mapGet);
if (sink === 0.5) console.log(sink);
