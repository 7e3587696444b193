// Oracle: random byte strings decode to the same valid/invalid decision and length as iced-x86.
// CI-sized slice; tools/agreement.ts runs the ≥ 10 M version and prints the figure.
import { describe, expect, it } from "vitest";
import { runAgreement, runLeadAgreement } from "./random-agreement.js";

function check(count: number, mode: 16 | 32 | 64, seed: number) {
  const r = runAgreement(count, mode, seed);
  const worst = [...r.classes].sort((a, b) => b[1].count - a[1].count);
  // the bar: ≥ 99.99 % of all strings, VEX/EVEX/XOP included
  expect(r.agree / r.total, JSON.stringify(worst.slice(0, 5))).toBeGreaterThanOrEqual(0.9999);
  expect(r.total).toBe(count);
  // strings led by VEX/EVEX/XOP (about 1.6 % of them in 64-bit mode) on their own
  expect(r.vexAgree / r.vexTotal, JSON.stringify(worst.slice(0, 5))).toBeGreaterThanOrEqual(0.999);
}

describe("random bytes agree with iced-x86", () => {
  it("64-bit mode, 200k strings", () => check(200_000, 64, 0x1234));
  it("32-bit mode, 60k strings", () => check(60_000, 32, 0x5678));
  it("16-bit mode, 30k strings", () => check(30_000, 16, 0x9abc));
});

// Strings that all start with one VEX/EVEX/XOP lead byte: the opcode-row tables (VEX maps
// 0F/0F38/0F3A, XOP maps 8/9/0A, EVEX maps 1/2/3/5/6) against iced, 20k strings per lead and mode.
describe("VEX/EVEX/XOP-led random strings agree with iced-x86", () => {
  for (const mode of [64, 32, 16] as const) {
    for (const lead of [0xc4, 0xc5, 0x62, 0x8f]) {
      it(`${mode}-bit, lead ${lead.toString(16)}`, () => {
        const r = runLeadAgreement(20_000, mode, lead, mode * 256 + lead, mode === 64 ? [] : [0x67]);
        const worst = [...r.groups].sort((a, b) => b[1].count - a[1].count).slice(0, 5);
        expect(r.agree / r.total, JSON.stringify(worst)).toBeGreaterThanOrEqual(0.9995);
      });
    }
  }
});
