// Throughput of the hot semantic helpers against a bare Int32Array baseline in the same
// process (the figure that matters is the ratio). Not a test; run with
//   pnpm --filter @tdxsim/bench exec tsx ../../packages/x86/test/native/bench-helpers.ts

import { add32, add64, sub32 } from "../../src/exec/alu.js";
import { CC_NE, testCondition } from "../../src/exec/flags.js";
import { newRegFile, OUT_HI } from "../../src/exec/regs.js";
import { shl } from "../../src/exec/shift.js";

const N = 20_000_000;

function measure(name: string, body: (n: number) => number): number {
  body(1_000_000); // warm up so TurboFan has optimised it
  // Best of five: the figure is a ceiling, and shared CI machines are noisy.
  let rate = 0;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    sink = body(N);
    rate = Math.max(rate, N / ((performance.now() - t0) / 1000) / 1e6);
  }
  console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(6)} M ops/s  (sink ${sink & 0xff})`);
  return rate;
}

const r = newRegFile();

const base = measure("baseline: Int32Array add + compare, no flags", (n) => {
  let taken = 0;
  for (let i = 0; i < n; i++) {
    r[0] = (r[0] + i) | 0;
    if (r[0] !== 0) taken++;
  }
  return taken;
});

const lazy32 = measure("add32 (lazy flags) + jnz via testCondition", (n) => {
  let taken = 0;
  for (let i = 0; i < n; i++) {
    r[0] = add32(r, r[0], i);
    taken += testCondition(r, CC_NE);
  }
  return taken;
});

const cmp = measure("sub32 as CMP + jnz", (n) => {
  let taken = 0;
  for (let i = 0; i < n; i++) {
    sub32(r, r[0], i);
    taken += testCondition(r, CC_NE);
  }
  return taken;
});

const lazy64 = measure("add64 (hi/lo, lazy flags) + jnz", (n) => {
  let taken = 0;
  for (let i = 0; i < n; i++) {
    r[0] = add64(r, r[0], r[1], i, 0);
    r[1] = r[OUT_HI];
    taken += testCondition(r, CC_NE);
  }
  return taken;
});

const shift = measure("shl 32-bit by a variable count", (n) => {
  let acc = 0;
  for (let i = 0; i < n; i++) acc = shl(r, 32, acc + i, i);
  return acc;
});

console.log(
  `ratios to baseline: add32 ${(lazy32 / base).toFixed(2)}, cmp ${(cmp / base).toFixed(2)}, add64 ${(lazy64 / base).toFixed(2)}, shl ${(shift / base).toFixed(2)}`,
);
