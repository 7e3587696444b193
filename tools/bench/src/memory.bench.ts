// @tdxsim/memory: guest memory accesses, page walks, page-table building, memslot lookups and
// the heap cost of a sparse 64 GiB space. Each figure is printed next to a baseline measured
// in this same process.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  ACCESS_READ,
  MemslotTable,
  PAGE_SIZE_2M,
  PageTableBuilder,
  PageWalker,
  SparseMemory,
  sparsePteMemory,
} from "@tdxsim/memory";
import { measure, report, timeMs } from "./measure.js";

const MiB = 2 ** 20;
const GiB = 2 ** 30;
let sink = 0;

// 0. Heap (measured first, before other parts leave garbage behind): a 64 GiB guest address space with 1 MiB touched (256 pages scattered over it).
// A gc() for exact heap figures without a command-line flag.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
gc();
const heap0 = process.memoryUsage();
const big = new SparseMemory(64 * GiB);
for (let i = 0; i < 256; i++) big.write32(i * 256 * MiB + 4096 * (i % 7), i);
gc();
const heap1 = process.memoryUsage();
const heapDelta = heap1.heapUsed - heap0.heapUsed;
const bufferDelta = heap1.arrayBuffers - heap0.arrayBuffers;
console.log(
  `64 GiB space, 1 MiB touched: ${big.allocatedPages} pages, ${((heapDelta + bufferDelta) / MiB).toFixed(2)} MiB ` +
    `(JS heap ${(heapDelta / MiB).toFixed(2)} MiB + array buffers ${(bufferDelta / MiB).toFixed(2)} MiB; baseline: the 1 MiB of data itself)`,
);
// 1. Aligned 4-byte reads + writes on a 64 KiB hot working set (16 pages).
const WORDS = 16384;
const raw = new Int32Array(WORDS);
const rawRW = measure("Int32Array read+write", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const k = (i * 7) & (WORDS - 1);
    s += raw[k];
    raw[k] = s;
  }
  sink += s;
});
const guest = new SparseMemory(64 * GiB);
const base = 3 * GiB;
const memRW = measure("SparseMemory read32+write32", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = base + ((i * 7) & (WORDS - 1)) * 4;
    s = (s + guest.read32(a)) | 0;
    guest.write32(a, s);
  }
  sink += s;
});
report(rawRW);
report(memRW, rawRW);

// 2. Page walks: 4-level, 4 KiB pages, random addresses in a 64 MiB mapped window.
const pt = new SparseMemory(64 * GiB);
const pteMem = sparsePteMemory(pt);
let nextTable = 0x100000;
const alloc = () => {
  const p = nextTable;
  nextTable += 4096;
  return p;
};
const b4k = new PageTableBuilder({ levels: 4, memory: pteMem, allocTable: alloc });
b4k.map(GiB, 2 * GiB, 64 * MiB, { maxPageSize: 4096, accessedDirty: true });
const walker = new PageWalker(pteMem, {
  levels: 4,
  cr3: b4k.root,
  wp: true,
  nxe: true,
  smep: false,
  smap: false,
  maxPhysAddr: 52,
});
const PAGES = (64 * MiB) / 4096;
const baselineWalk = measure("4 dependent Int32Array loads (walk shape)", " ops/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const k = (i * 2654435761) >>> 18;
    s = (s + raw[k & 16383] + raw[(k + s) & 16383] + raw[(k ^ s) & 16383] + raw[(s >>> 3) & 16383]) | 0;
  }
  sink += s;
});
const walks = measure("PageWalker.translate (4-level, 4 KiB)", " walks/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const page = ((i * 2654435761) >>> 0) % PAGES;
    s = (s + walker.translate((GiB + page * 4096 + 8) | 0, 0, ACCESS_READ)) | 0;
  }
  sink += s;
});
report(baselineWalk);
report(walks, baselineWalk);

// 3. Building the tables that identity-map 4 GiB with 2 MiB pages.
const buildMs = timeMs(() => {
  const m = new SparseMemory(GiB);
  let next = 0x100000;
  const b = new PageTableBuilder({
    levels: 4,
    memory: sparsePteMemory(m),
    allocTable: () => {
      const p = next;
      next += 4096;
      return p;
    },
  });
  b.map(0, 0, 4 * GiB, { maxPageSize: PAGE_SIZE_2M });
  sink += b.tablePages;
}, 20);
const fillMs = timeMs(() => {
  // Baseline: write the same 2048 leaf entries + 6 zeroed tables into plain typed arrays.
  const t = new Int32Array(6 * 1024);
  for (let i = 0; i < 2048; i++) {
    t[2048 + i * 2] = ((i * 2 * MiB) | 0x83) >>> 0;
    t[2048 + i * 2 + 1] = 0;
  }
  sink += t[4000];
}, 20);
console.log(
  `identity-map 4 GiB with 2 MiB pages: ${buildMs.toFixed(3)} ms (plain Int32Array fill of the same entries: ${fillMs.toFixed(3)} ms)`,
);

// 4. Memslot lookup on the TLB-fill path: 8 slots, random GPAs.
const slots = new MemslotTable();
for (let i = 0; i < 8; i++) {
  slots.setUserMemoryRegion({
    slot: i,
    flags: 0,
    guestPhysAddr: i * GiB,
    memorySize: 512 * MiB,
    userspaceAddr: i * 512 * MiB,
  });
}
const lookups = measure("MemslotTable.find (8 slots, random GPA)", " lookups/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const gpa = (((i * 2654435761) >>> 0) % 8) * GiB + 4096;
    s += slots.find(gpa)!.id;
  }
  sink += s;
});
const mapBase = new Map<number, number>([[1, 1]]);
const mapLookups = measure("Map.get (baseline)", " lookups/s", (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += mapBase.get(1 + (i & 0))!;
  sink += s;
});
report(mapLookups);
report(lookups, mapLookups);

// 5. First touch: allocating pages (what TDH.MEM.PAGE.ADD and guest RAM first writes pay), against
// the old scheme of one 4 KiB ArrayBuffer per page.
const TOUCH_PAGES = 16384;
const ownBuffers = measure("new Uint8Array(4096) + Int32Array view per page (baseline)", " pages/s", (n) => {
  let pages = new Map<number, { bytes: Uint8Array; words: Int32Array }>();
  for (let i = 0; i < n; i++) {
    if (pages.size === TOUCH_PAGES) pages = new Map();
    const bytes = new Uint8Array(4096);
    pages.set(i, { bytes, words: new Int32Array(bytes.buffer) });
    bytes[i & 4095] = 1;
  }
  sink += pages.size;
});
const firstTouch = measure("SparseMemory first write to a page (slab-allocated)", " pages/s", (n) => {
  let m = new SparseMemory(64 * MiB);
  for (let i = 0; i < n; i++) {
    if (i % TOUCH_PAGES === 0) m = new SparseMemory(64 * MiB);
    m.write8((i % TOUCH_PAGES) * 4096 + (i & 4095), 1);
  }
  sink += m.allocatedPages;
});
report(ownBuffers);
report(firstTouch, ownBuffers);

if (sink === 42) console.log("");
