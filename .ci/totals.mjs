// Adds up the vitest JSON reports of every workspace package into one line:
// "tests: N passed, M failed[, K skipped]". A package that has a test script but wrote no
// report counts as one failure, so a crashed runner cannot pass silently.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
for (const group of ["packages", "tools"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const manifest = join(dir, name, "package.json");
    if (!existsSync(manifest)) continue;
    if (!JSON.parse(readFileSync(manifest, "utf8")).scripts?.test) continue;
    const report = join(dir, name, "test-results", "vitest.json");
    if (!existsSync(report)) {
      console.error(`${group}/${name}: no test report (the test run did not finish)`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(report, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
  }
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
