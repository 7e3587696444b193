// Robustness of the per-instruction checks: random instruction streams run with RFLAGS.TF, armed
// DR0-3/DR7 breakpoints, and (in 32-bit protected mode) non-flat segments with small limits. Every
// outcome must be a stop; a JS exception is a bug. X86_CHECKS_FUZZ=n sets the streams per mode.
import { describe, expect, it } from "vitest";
import type { Cpu, CpuStop } from "../../src/index.js";
import { writeGuestPhysical } from "../../src/index.js";
import { Rng, randomStream, STOP_REASONS } from "./fuzz-streams.js";
import { CODE, guest64, setLongModeState } from "./harness.js";
import { CODE32, guest32 } from "./harness32.js";

const STREAMS = Number(process.env.X86_CHECKS_FUZZ ?? 3000);
const FLAGS_REST = 37;
const TF = 1 << 8;

function armDebug(cpu: Cpu, rng: Rng, code: number): void {
  if (rng.below(2) === 0) cpu.r[FLAGS_REST] |= TF;
  const dr = cpu.st.dr;
  for (let n = 0; n < 4; n++) dr[2 * n] = rng.below(2) === 0 ? code + rng.below(32) : rng.below(0x100000);
  dr[14] = 0x400 | (rng.next() & 0xffff00ff & ~0x2000) | (rng.below(8) === 0 ? 0x2000 : 0);
}

function run(cpu: Cpu, rng: Rng): CpuStop[] {
  const stops: CpuStop[] = [];
  for (let k = 0; k < 4; k++) {
    const s = cpu.run(48);
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

function check(stops: CpuStop[], bytes: Uint8Array, n: number): void {
  for (const s of stops)
    expect(STOP_REASONS.has(s.reason), `stream ${n} ${[...bytes].map((b) => b.toString(16)).join(" ")}`).toBe(
      true,
    );
}

describe("per-instruction checks under random streams", () => {
  it(`${STREAMS} 64-bit streams with TF and DR7 armed end in a stop`, () => {
    const rng = new Rng(4242);
    let g = guest64("hlt");
    for (let n = 0; n < STREAMS; n++) {
      if (n % 500 === 0) g = guest64("hlt");
      const bytes = randomStream(rng);
      writeGuestPhysical(g.map, CODE, bytes);
      writeGuestPhysical(g.map, CODE + bytes.length, new Uint8Array([0xf4]));
      g.cpu.flushDecodedBlocks();
      if (g.cpu.pendingExit !== undefined) g.cpu.skipInstruction();
      setLongModeState(g.cpu, rng.below(4) === 0);
      for (let i = 0; i < 32; i++) if (i !== 8 && i !== 9) g.cpu.r[i] = i & 1 ? 0 : rng.below(0x1000000);
      g.cpu.st.halted = false;
      armDebug(g.cpu, rng, CODE);
      check(run(g.cpu, rng), bytes, n);
    }
  }, 120_000);

  it(`${STREAMS} 32-bit streams with small segment limits, TF and DR7 end in a stop`, () => {
    const rng = new Rng(777);
    for (let n = 0; n < STREAMS; n++) {
      const bytes = randomStream(rng);
      const g = guest32(".byte 0xf4", { user: rng.below(4) === 0 });
      writeGuestPhysical(g.map, CODE32, bytes);
      writeGuestPhysical(g.map, CODE32 + bytes.length, new Uint8Array([0xf4]));
      for (let i = 0; i < 16; i += 2) if (i !== 8) g.cpu.r[i] = rng.below(0x1000000);
      const s = g.cpu.st.seg;
      for (let seg = 0; seg < 6; seg++)
        if (rng.below(3) === 0) s[seg * 8 + 3] = rng.below(2) ? rng.below(0x200000) : CODE32 + rng.below(64);
      if (rng.below(4) === 0) s[3 * 8 + 4] ^= 4; // DS expand-down
      armDebug(g.cpu, rng, CODE32);
      g.cpu.syncMode();
      check(run(g.cpu, rng), bytes, n);
    }
  }, 120_000);
});
