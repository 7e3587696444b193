// Disassembles every code section of an ELF file with us and with `objdump -d -M intel` and
// prints the differences (lines we decode for length only — VEX/EVEX/XOP, x87 — are counted
// separately):  pnpm --filter @tdxsim/x86 objdump-compare /usr/lib/x86_64-linux-gnu/libc.so.6
import { compareWithObjdump } from "../test/helpers/objdump.js";

const file = process.argv[2];
if (!file) {
  console.error("usage: objdump-compare <elf file> [16|32|64]");
  process.exit(2);
}
const mode = Number(process.argv[3] ?? 64) as 16 | 32 | 64;
const r = compareWithObjdump(file, mode);
const lengthOnly = r.diffs.filter((d) => d.includes("(not decoded"));
const diffs = r.diffs.filter((d) => !d.includes("(not decoded"));
console.log(
  `${file}: ${r.count} instructions; ${lengthOnly.length} decoded for length only (VEX/EVEX/XOP/x87)`,
);
console.log(`${diffs.length} other differences${diffs.length ? ":" : ""}`);
for (const d of diffs.slice(0, 50)) console.log(`  ${d}`);
