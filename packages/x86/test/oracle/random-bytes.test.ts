// Oracle: random byte strings decode to the same valid/invalid decision and length as iced-x86.
// CI-sized slice; tools/agreement.ts runs the ≥ 10 M version and prints the figure.
import { describe, expect, it } from "vitest";
import { runAgreement } from "./random-agreement.js";

function check(count: number, mode: 16 | 32 | 64, seed: number) {
  const r = runAgreement(count, mode, seed);
  const nonVex = r.total - r.vexTotal;
  const agreeNonVex = r.agree - r.vexAgree;
  const worst = [...r.classes].sort((a, b) => b[1].count - a[1].count).filter(([k]) => !k.startsWith("VEX"));
  // ≥ 99.99 % on everything but VEX/EVEX/XOP (decoded as "unsupported": length only)
  expect(agreeNonVex / nonVex, JSON.stringify(worst.slice(0, 5))).toBeGreaterThanOrEqual(0.9999);
  expect(r.total).toBe(count);
  // VEX map 0F (2-byte VEX) validity is modelled too
  if (r.c5Total > 0) expect(r.c5Agree / r.c5Total).toBeGreaterThanOrEqual(0.995);
}

describe("random bytes agree with iced-x86", () => {
  it("64-bit mode, 200k strings", () => check(200_000, 64, 0x1234));
  it("32-bit mode, 60k strings", () => check(60_000, 32, 0x5678));
  it("16-bit mode, 30k strings", () => check(30_000, 16, 0x9abc));
});
