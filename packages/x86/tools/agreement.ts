// The full random-bytes agreement run against iced-x86 (the test runs a CI-sized slice):
//   pnpm --filter @tdxsim/x86 agreement [count64=10000000] [count32=1000000]
// Prints the agreement figures and the disagreement classes.
import { type AgreementResult, runAgreement } from "../test/oracle/random-agreement.js";

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(5)} %`;

function print(mode: number, r: AgreementResult, ms: number): void {
  const nonVex = r.total - r.vexTotal;
  console.log(`\n${mode}-bit mode: ${r.total} random 16-byte strings (${(ms / 1000).toFixed(1)} s)`);
  console.log(`  all strings:                 ${r.agree} agree = ${pct(r.agree, r.total)}`);
  console.log(
    `  without VEX/EVEX/XOP leads:  ${r.agree - r.vexAgree}/${nonVex} agree = ${pct(r.agree - r.vexAgree, nonVex)}`,
  );
  console.log(`  VEX/EVEX/XOP leads:         ${r.vexTotal} strings, ${r.vexAgree} agree on validity+length`);
  const classes = [...r.classes].sort((a, b) => b[1].count - a[1].count);
  const vex = classes.filter(([k]) => k.startsWith("VEX") || /op=(c4|c5|62|8f) /.test(k));
  const byLead = new Map<string, number>();
  for (const [k, v] of vex) {
    const lead = /op=(\w+)/.exec(k)![1];
    byLead.set(lead, (byLead.get(lead) ?? 0) + v.count);
  }
  const leads = [...byLead].map(([l, n]) => `${l}: ${n}`).join(", ");
  console.log(`  disagreement classes (VEX/EVEX/XOP leads lumped by lead byte: ${leads || "none"}):`);
  for (const [k, v] of classes.filter((c) => !vex.includes(c)).slice(0, 30)) {
    console.log(`    ${String(v.count).padStart(7)}  ${k}   e.g. ${v.example}`);
  }
}

const count64 = Number(process.argv[2] ?? 10_000_000);
const count32 = Number(process.argv[3] ?? 1_000_000);
for (const [mode, count] of [
  [64, count64],
  [32, count32],
] as const) {
  const t0 = performance.now();
  const r = runAgreement(count, mode, 2026);
  print(mode, r, performance.now() - t0);
}
