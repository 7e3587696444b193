// Compiled blocks against the interpreter on random instruction streams: the same stream, the
// same random registers and completions, run by a CPU that interprets every block
// (compileThreshold 0) and one that compiles every block before its first run (1). Stops,
// registers, RIP, flags and the retired count must be identical.
import { describe, expect, it } from "vitest";
import { Rng, randomStream, runStream } from "./fuzz-streams.js";
import { guest64 } from "./harness.js";

const STREAMS = Number(process.env.X86_COMPILED_FUZZ ?? 3000);

describe("compiled vs interpreted blocks on random streams", () => {
  it(`${STREAMS} streams: identical outcomes`, () => {
    const rng = new Rng(4242);
    let interp = guest64("hlt", { compileThreshold: 0 });
    let compiled = guest64("hlt", { compileThreshold: 1 });
    for (let n = 0; n < STREAMS; n++) {
      if (n % 500 === 0) {
        interp = guest64("hlt", { compileThreshold: 0 });
        compiled = guest64("hlt", { compileThreshold: 1 });
      }
      const bytes = randomStream(rng);
      const seed = rng.next() | 1;
      const budget = 1 + rng.below(64);
      const a = runStream(interp, new Rng(seed), bytes, budget);
      const b = runStream(compiled, new Rng(seed), bytes, budget);
      const hex = [...bytes].map((x) => x.toString(16).padStart(2, "0")).join(" ");
      const where = `stream ${n} (${hex}), budget ${budget}`;
      expect(b, where).toEqual(a);
      expect([...compiled.cpu.r.subarray(0, 38)], where).toEqual([...interp.cpu.r.subarray(0, 38)]);
      expect(compiled.cpu.st.retired, where).toBe(interp.cpu.st.retired);
    }
    expect(compiled.cpu.blocksCompiled).toBeGreaterThan(0);
    expect(interp.cpu.blocksCompiled).toBe(0);
  }, 120_000);
});
