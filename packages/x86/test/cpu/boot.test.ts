// The bench guest (multiboot → long mode → gcc -O2 C code with SSE2) boots and reports work(200).
import { SparseMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import { Cpu, type CpuStop, FlatGuestPhysicalMap, loadMultiboot } from "../../src/index.js";
import { buildBenchGuest, hostCanBuild } from "./bench-guest.js";

const skip = hostCanBuild();

describe.skipIf(skip !== undefined)(`bench guest boot${skip ? ` (skipped: ${skip})` : ""}`, () => {
  it("runs work(200) from the multiboot entry to outl(0xf4) with checksum 0xc326ab58", () => {
    const mem = new SparseMemory(64 * 1024 * 1024);
    const cpu = new Cpu({ map: new FlatGuestPhysicalMap(mem) });
    loadMultiboot(cpu, buildBenchGuest(200), mem.size);
    let stop: CpuStop = cpu.run(1e6);
    // The boot stub's RDMSR/WRMSR of EFER are handled inside; the first stop is the final OUT.
    while (stop.reason === "budget-exhausted") stop = cpu.run(50e6);
    expect(stop).toEqual({
      reason: "io",
      port: 0xf4,
      size: 4,
      direction: "out",
      data: 0xc326ab58 & 0x7f,
      string: false,
      rep: false,
      count: 1,
    });
    const slot = mem.peekWords(9);
    expect(slot && slot[0] >>> 0).toBe(0xc326ab58);
    expect(slot?.[1]).toBe(0xd0e);
    // ~1.46 M instructions per iteration: the retired counter is exact and deterministic.
    expect(cpu.st.retired).toBeGreaterThan(290e6);
    cpu.skipInstruction();
    expect(cpu.run(1000)).toEqual({ reason: "hlt" }); // cli; hlt
  }, 600_000); // ~300 M guest instructions: seconds when idle, minutes on a loaded 2-core machine
});
