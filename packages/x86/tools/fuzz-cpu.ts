// The full CPU robustness fuzz: N random instruction streams (default 10 M) in the sandboxed
// harness guest, small budgets; every outcome must be a stop reason (guest exceptions end in the
// IDT's hlt stubs). Prints the outcome histogram; exits 1 on the first JS exception.
//   pnpm --filter @tdxsim/x86 fuzz:cpu [streams] [seed]
import { newFuzzGuest, Rng, randomStream, runStream, STOP_REASONS } from "../test/cpu/fuzz-streams.js";

const total = Number(process.argv[2] ?? 10_000_000);
const seed = Number(process.argv[3] ?? 1);
const rng = new Rng(seed || 1);
let g = newFuzzGuest();
const seen = new Map<string, number>();
const t0 = performance.now();
for (let n = 0; n < total; n++) {
  if (n % 500 === 0) g = newFuzzGuest();
  const bytes = randomStream(rng);
  try {
    for (const s of runStream(g, rng, bytes, 48)) {
      if (!STOP_REASONS.has(s.reason)) throw new Error(`unknown stop reason ${s.reason}`);
      seen.set(s.reason, (seen.get(s.reason) ?? 0) + 1);
    }
  } catch (e) {
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    console.error(`stream ${n} (seed ${seed}): ${hex}\n`, e);
    process.exit(1);
  }
  if ((n + 1) % 1_000_000 === 0)
    console.log(`${n + 1} streams, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(
  `${total} streams (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(0)} s, no JS exception`,
);
for (const [k, v] of [...seen].sort((a, b) => b[1] - a[1])) console.log(`  ${k}: ${v}`);
