// Random instruction streams for the CPU robustness fuzz: each stream is a few instruction-like
// byte groups (prefixes, a weighted opcode, random ModRM/SIB/displacement/immediate bytes) run
// with a small budget in the harness guest, from random registers (half of them small addresses
// inside RAM). Every outcome must be a stop; a JS exception is a bug.
import type { Cpu, CpuStop } from "../../src/index.js";
import { writeGuestPhysical } from "../../src/index.js";
import { CODE, type Guest, guest64, RAM, setLongModeState } from "./harness.js";

const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x64, 0x65];

export class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

export function randomStream(rng: Rng): Uint8Array {
  const out: number[] = [];
  const count = 1 + rng.below(8);
  for (let k = 0; k < count; k++) {
    if (rng.below(4) === 0) out.push(PREFIXES[rng.below(PREFIXES.length)]);
    if (rng.below(2) === 0) out.push(0x40 + rng.below(16)); // REX
    const pick = rng.below(10);
    if (pick < 5) out.push(rng.below(256));
    else if (pick < 8) out.push(0x0f, rng.below(256));
    else
      out.push([0x80, 0x81, 0x83, 0x8b, 0x89, 0xc7, 0xf6, 0xf7, 0xff, 0xd1, 0xc1, 0xa4, 0xab][rng.below(13)]);
    const tail = rng.below(7);
    for (let i = 0; i < tail; i++) out.push(rng.below(256));
  }
  return new Uint8Array(out);
}

export const STOP_REASONS = new Set([
  "io",
  "mmio",
  "hlt",
  "cpuid",
  "rdmsr",
  "wrmsr",
  "vmcall",
  "tdcall",
  "seamcall",
  "gpa-fault",
  "ve",
  "shutdown",
  "budget-exhausted",
  "unsupported",
]);

/** Runs one stream: resets the CPU, loads the bytes, runs with `budget`, completing up to 4 exits. */
export function runStream(g: Guest, rng: Rng, bytes: Uint8Array, budget: number): CpuStop[] {
  const cpu: Cpu = g.cpu;
  if (cpu.pendingExit !== undefined) cpu.skipInstruction();
  writeGuestPhysical(g.map, CODE, bytes);
  writeGuestPhysical(g.map, CODE + bytes.length, new Uint8Array([0xf4]));
  cpu.flushDecodedBlocks();
  setLongModeState(cpu, rng.below(4) === 0);
  const r = cpu.r;
  for (let i = 0; i < 32; i++) {
    if (i === 8 || i === 9) continue; // RSP
    if (i & 1) r[i] = rng.below(2) === 0 ? 0 : rng.next() | 0;
    else r[i] = rng.below(2) === 0 ? rng.below(RAM) : rng.next() | 0;
  }
  cpu.pending.shadow = 0;
  const stops: CpuStop[] = [];
  for (let k = 0; k < 4; k++) {
    const s = cpu.run(budget);
    stops.push(s);
    if (cpu.pendingExit === undefined) break;
    if (s.reason === "io" && s.direction === "in") cpu.completeIo(rng.next());
    else if (s.reason === "cpuid") cpu.completeCpuid(1, 2, 3, 4);
    else if (s.reason === "rdmsr") cpu.completeRdmsr(0n);
    else cpu.skipInstruction();
  }
  if (cpu.mmu.mmioReplayActive) cpu.mmu.endMmioReplay();
  return stops;
}

export function newFuzzGuest(): Guest {
  return guest64("hlt");
}
