// The tdx_vm_tests suite case by case, run with:
//   pnpm --filter @tdxsim/bench bench selftests
// For each case: wall-clock time (best of ROUNDS after a warm-up run) and the guest instructions
// its TDs retired (counted around the TDX module's executor by @tdxsim/tdx-vm-tests'
// countGuestInstructions; deterministic). Baseline in the same process: verify_td_lifecycle, the
// smallest TD (create, initialize, one vCPU, finalize, one success exit) — each case's ratio says
// how many lifecycles it costs. Then one pass over the whole suite, as `tdxsim selftests` runs it.
import { countGuestInstructions, tdxVmTests } from "@tdxsim/tdx-vm-tests";

type TdxVmTestCase = (typeof tdxVmTests)[number];

const ROUNDS = 5;

interface CaseFigure {
  readonly name: string;
  readonly ms: number;
  readonly instructions: number;
}

const runCase = (testCase: TdxVmTestCase): Promise<number> =>
  countGuestInstructions(() => testCase.run({ name: testCase.name, log: () => {} }));

/** Best wall-clock time of ROUNDS runs; every run must retire the same number of guest instructions. */
async function measureCase(testCase: TdxVmTestCase, instructions: number): Promise<CaseFigure> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const again = await runCase(testCase);
    best = Math.min(best, performance.now() - t0);
    if (again !== instructions) {
      throw new Error(
        `${testCase.name}: ${again} guest instructions, first run ${instructions} (not deterministic)`,
      );
    }
  }
  return { name: testCase.name, ms: best, instructions };
}

// Warm-up pass (JIT, caches): the whole suite once, which also counts each case's instructions.
const counts = new Map<TdxVmTestCase, number>();
const warm0 = performance.now();
for (const testCase of tdxVmTests) counts.set(testCase, await runCase(testCase));
const coldMs = performance.now() - warm0;

const lifecycle = tdxVmTests.find((t) => t.name === "verify_td_lifecycle");
if (!lifecycle) throw new Error("the suite has no verify_td_lifecycle (the baseline)");
const baseline = await measureCase(lifecycle, counts.get(lifecycle)!);

const width = Math.max(...tdxVmTests.map((t) => t.name.length));
console.log(`${"test".padEnd(width)}  time ms  × lifecycle  guest instructions`);
let totalInstructions = 0;
let sumBestMs = 0;
for (const testCase of tdxVmTests) {
  const f = testCase === lifecycle ? baseline : await measureCase(testCase, counts.get(testCase)!);
  totalInstructions += f.instructions;
  sumBestMs += f.ms;
  console.log(
    `${f.name.padEnd(width)}  ${f.ms.toFixed(2).padStart(7)}  ${(f.ms / baseline.ms).toFixed(2).padStart(11)}  ${String(f.instructions).padStart(18)}`,
  );
}
console.log(
  `whole suite: ${tdxVmTests.length} tests, ${totalInstructions} guest instructions; first (cold) pass ${coldMs.toFixed(0)} ms, sum of best times ${sumBestMs.toFixed(0)} ms = ${(sumBestMs / baseline.ms).toFixed(1)} × verify_td_lifecycle (${baseline.ms.toFixed(2)} ms)`,
);
