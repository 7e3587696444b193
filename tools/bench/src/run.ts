// `pnpm bench`: runs every src/*.bench.ts in its own Node process (a fresh V8 heap and JIT
// for each), or only those whose name contains one of the arguments.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
let failures = 0;
for (const file of files) {
  console.log(`\n## ${file.replace(/\.bench\.ts$/, "")}`);
  const r = spawnSync(
    process.execPath,
    ["--conditions=@tdxsim/source", "--import", "tsx", join(here, file)],
    {
      stdio: "inherit",
    },
  );
  if (r.status !== 0) failures += 1;
}
process.exit(failures ? 1 : 0);
