// The full fuzz run: `pnpm --filter @tdxsim/tdx-module fuzz [sequences] [seed]` (default 1 000 000
// sequences of 1-8 random SEAMCALL/TDCALL calls, invariants checked after every call).
import { fuzz } from "../test/fuzz-engine.js";

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 0x7d5);
const chunk = 10_000;
const t0 = performance.now();
let calls = 0;
const stats = { interruptedAccepts: 0 };
for (let done = 0; done < total; done += chunk) {
  const n = Math.min(chunk, total - done);
  try {
    calls += fuzz(seed + done, n, 50, stats);
  } catch (e) {
    console.error(`invariant broken: seed ${seed + done}, within sequences ${done}..${done + n}`);
    throw e;
  }
  if ((done / chunk) % 10 === 0) {
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${done + n} sequences, ${calls} calls, ${s.toFixed(0)} s (${Math.round(calls / s)} calls/s)`,
    );
  }
}
const s = (performance.now() - t0) / 1000;
console.log(
  `done: ${total} sequences, ${calls} calls in ${s.toFixed(1)} s; no exception, every invariant held after every call; ${stats.interruptedAccepts} interrupted 2 MiB ACCEPTs`,
);
