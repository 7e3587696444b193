// Large differential run against the host CPU: every family, `perOp` vectors per op
// (default 20000), in chunks so memory stays flat. Prints the agreement table for EXEC.md
// and exits non-zero below 99.9 %.
//
//   pnpm --filter @tdxsim/bench exec tsx ../../packages/x86/test/native/run-large.ts [perOp] [seed] [--unmasked] [--family=<name part>]
// --unmasked also compares the bits the SDM leaves undefined (informative: how often our
// choice for them matches this host; it does not gate anything).

import { compareFamily, families } from "../exec/families.js";
import { nativeUnavailableReason, runNative } from "../exec/native-harness.js";
import { Rng } from "../exec/rng.js";

const perOp = Number(process.argv[2] ?? 20000);
const seed = Number(process.argv[3] ?? 1);
const unmasked = process.argv.includes("--unmasked");
const only = process.argv.find((a) => a.startsWith("--family="))?.slice("--family=".length);
const CHUNK = 2000;

const unavailable = nativeUnavailableReason();
if (unavailable) {
  console.error(`native harness unavailable: ${unavailable}`);
  process.exit(2);
}

let failed = false;
console.log("| family | ops | vectors | agreement | masking rule |");
console.log("|---|---|---|---|---|");
for (const [i, family] of families().entries()) {
  if (only && !family.name.includes(only)) continue;
  let total = 0;
  let agree = 0;
  const examples: string[] = [];
  for (let done = 0, chunk = 0; done < perOp; done += CHUNK, chunk++) {
    const n = Math.min(CHUNK, perOp - done);
    const res = compareFamily(
      family,
      n,
      seed * 1_000_003 + i * 10_007 + chunk,
      runNative,
      (s) => new Rng(s),
      unmasked,
    );
    total += res.total;
    agree += res.agree;
    if (examples.length < 5) examples.push(...res.mismatches.slice(0, 5 - examples.length));
  }
  const rate = agree / total;
  if (rate < 0.999 && !unmasked) failed = true;
  console.log(
    `| ${family.name} | ${family.ops.length} | ${total} | ${agree}/${total} (${(100 * rate).toFixed(4)} %) | ${family.rule} |`,
  );
  for (const e of examples) console.error(`  mismatch: ${e}`);
}
process.exit(failed ? 1 : 0);
