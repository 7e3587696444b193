// @tdxsim/x86 CPU memory footprint: a 1 GiB guest (long mode, 4-level paging with 2 MiB pages
// over the whole GiB) whose code writes and reads back every 4 KiB page of 16 MiB, once through a
// flat map and once through a KVM-style memslot. Prints process RSS before and after and the
// delta, next to the delta of touching a plain 16 MiB ArrayBuffer in the same process.
//
import { MemslotTable, SparseMemory } from "@tdxsim/memory";
import * as x86 from "@tdxsim/x86";
import { assembleText } from "@tdxsim/x86/asm";

interface HarnessModule {
  setLongModeState(cpu: x86.Cpu, user: boolean): void;
  CODE: number;
}
const harness: HarnessModule = await import(
  new URL("../../../packages/x86/test/cpu/harness.ts", import.meta.url).href
);

const GIB = 2 ** 30;
const TOUCH = 16 * 2 ** 20;
const START = 0x1000000; // touched range: 16 MiB .. 32 MiB
const UADDR = 0x7f00_0000_0000;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const rss = () => process.memoryUsage().rss;

/** Page tables (PML4 0x1000 → PDPT 0x2000 → PD 0x3000, 512 × 2 MiB) and code, written through the map. */
function boot(map: x86.GuestPhysicalMap): x86.Cpu {
  const cpu = new x86.Cpu({ map });
  const q = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    return b;
  };
  x86.writeGuestPhysical(map, 0x1000, q(0x2000 | 3));
  x86.writeGuestPhysical(map, 0x2000, q(0x3000 | 3));
  for (let i = 0; i < 512; i++) x86.writeGuestPhysical(map, 0x3000 + i * 8, q(i * 0x200000 + 0x83));
  const source = [
    `mov rbx, ${START}`,
    `mov rcx, ${TOUCH / 4096}`,
    "fill: mov [rbx], rcx",
    "add rbx, 4096",
    "dec rcx",
    "jnz fill",
    `mov rbx, ${START}`,
    `mov rcx, ${TOUCH / 4096}`,
    "xor eax, eax",
    "sum: add rax, [rbx]",
    "add rbx, 4096",
    "dec rcx",
    "jnz sum",
    "hlt",
  ].join("\n");
  x86.writeGuestPhysical(map, harness.CODE, assembleText(source, { mode: 64, origin: harness.CODE }).bytes);
  harness.setLongModeState(cpu, false);
  return cpu;
}

const keep: x86.Cpu[] = []; // both guests stay alive, so the second delta is not the first one's GC

function runGuest(name: string, makeMap: () => x86.GuestPhysicalMap): void {
  const before = rss();
  const cpu = boot(makeMap());
  const stop = cpu.run(1e8);
  const n = TOUCH / 4096;
  if (stop.reason !== "hlt" || cpu.r[0] !== (n * (n + 1)) / 2)
    throw new Error(`${name}: ${JSON.stringify(stop)}`);
  keep.push(cpu);
  const after = rss();
  console.log(
    `${name}: 1 GiB guest, ${mib(TOUCH)} MiB touched: RSS ${mib(before)} → ${mib(after)} MiB (+${mib(after - before)} MiB)`,
  );
}

// Baseline: the same 16 MiB touched in a plain ArrayBuffer.
const b0 = rss();
const plain = new Uint8Array(TOUCH);
for (let i = 0; i < TOUCH; i += 4096) plain[i] = 1;
const b1 = rss();
console.log(
  `baseline: plain 16 MiB ArrayBuffer touched: RSS ${mib(b0)} → ${mib(b1)} MiB (+${mib(b1 - b0)} MiB)`,
);

runGuest("flat map (SparseMemory)", () => new x86.FlatGuestPhysicalMap(new SparseMemory(GIB)));
runGuest("memslot map (KVM-style slot)", () => {
  const table = new MemslotTable({ userMemory: new SparseMemory(2 ** 47) });
  table.setUserMemoryRegion({ slot: 0, flags: 0, guestPhysAddr: 0, memorySize: GIB, userspaceAddr: UADDR });
  return new x86.MemslotGuestPhysicalMap(table);
});
console.log(
  `process RSS at the end, both guests alive: ${mib(rss())} MiB (issue target for one 1 GiB guest: < 200 MiB)`,
);
