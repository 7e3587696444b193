// The full random-bytes agreement run against iced-x86 (the test runs a CI-sized slice):
//   pnpm --filter @tdxsim/x86 agreement [count64=10000000] [count32=1000000]
// Prints the agreement figures and the disagreement classes, then the lead-forced runs: strings
// starting with each VEX/EVEX/XOP lead (C4, C5, 62, 8F), bare and after a 67 prefix, per mode.
//   pnpm --filter @tdxsim/x86 agreement lead <hex lead> [count=1000000] [mode=64] [prefix hex…]
// runs one lead-forced comparison and prints its disagreement groups (map/pp/opcode/W/L/form);
// SEED=<n> in the environment picks another random sequence.
import {
  type AgreementResult,
  type LeadAgreementResult,
  runAgreement,
  runLeadAgreement,
} from "../test/oracle/random-agreement.js";

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(5)} %`;

function print(mode: number, r: AgreementResult, ms: number): void {
  const nonVex = r.total - r.vexTotal;
  console.log(`\n${mode}-bit mode: ${r.total} random 16-byte strings (${(ms / 1000).toFixed(1)} s)`);
  console.log(`  all strings:                 ${r.agree} agree = ${pct(r.agree, r.total)}`);
  console.log(
    `  without VEX/EVEX/XOP leads:  ${r.agree - r.vexAgree}/${nonVex} agree = ${pct(r.agree - r.vexAgree, nonVex)}`,
  );
  console.log(
    `  VEX/EVEX/XOP leads:          ${r.vexAgree}/${r.vexTotal} agree = ${pct(r.vexAgree, r.vexTotal)}`,
  );
  const classes = [...r.classes].sort((a, b) => b[1].count - a[1].count);
  console.log("  disagreement classes:");
  for (const [k, v] of classes.slice(0, 30)) {
    console.log(`    ${String(v.count).padStart(7)}  ${k}   e.g. ${v.example}`);
  }
}

function printLead(label: string, r: LeadAgreementResult, top: number): void {
  console.log(`  ${label.padEnd(22)} ${r.agree}/${r.total} agree = ${pct(r.agree, r.total)}`);
  for (const [k, v] of [...r.groups].sort((a, b) => b[1].count - a[1].count).slice(0, top)) {
    console.log(`    ${String(v.count).padStart(7)}  ${k}   e.g. ${v.example}`);
  }
}

const hexByte = (s: string) => Number.parseInt(s, 16);

if (process.argv[2] === "lead") {
  const lead = hexByte(process.argv[3] ?? "62");
  const count = Number(process.argv[4] ?? 1_000_000);
  const mode = Number(process.argv[5] ?? 64) as 16 | 32 | 64;
  const prefix = process.argv.slice(6).map(hexByte);
  const seed = Number(process.env.SEED ?? 2026);
  printLead(`lead ${process.argv[3]} ${mode}-bit`, runLeadAgreement(count, mode, lead, seed, prefix), 40);
} else {
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
  console.log("\nlead-forced strings (1 M each; lead byte first, or after a 67 prefix):");
  for (const mode of [64, 32, 16] as const) {
    for (const lead of [0xc4, 0xc5, 0x62, 0x8f]) {
      for (const prefix of [[], [0x67]]) {
        const label = `${mode}-bit ${prefix.length ? "67 " : ""}${lead.toString(16)}`;
        printLead(label, runLeadAgreement(1_000_000, mode, lead, 2026, prefix), 5);
      }
    }
  }
}
