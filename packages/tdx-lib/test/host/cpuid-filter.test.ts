import { describe, expect, it } from "vitest";
import { type CpuidEntry, tdxApplyCpuidRestrictions, tdxFilterCpuid } from "../../src/index.js";

const entry = (fn: number, index: number, eax: number, ebx = 0, ecx = 0, edx = 0): CpuidEntry => ({
  function: fn,
  index,
  flags: 0,
  eax,
  ebx,
  ecx,
  edx,
});

describe("tdxFilterCpuid", () => {
  it("keeps configurable leaves ANDed with their masks and drops the rest, in order", () => {
    const supported = [
      entry(0x1, 0, 0x000806f8, 0x00010800, 0xfeda3203, 0x178bfbff),
      entry(0x6, 0, 0x4, 0, 0, 0),
      entry(0x7, 0, 0, 0xf1bf07ab, 0x1b415f6e, 0xbc000400),
      entry(0x8000_0008, 0, 0x3030, 0, 0, 0),
    ];
    const configurable = [
      entry(0x7, 0, 0xffff_ffff, 0x0000_ffff, 0xffff_0000, 0xffff_ffff),
      entry(0x1, 0, 0x0fff_3fff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff),
      entry(0x8000_0008, 0, 0x00ff_ffff, 0, 0, 0),
      entry(0x7, 1, 0xffff_ffff, 0, 0, 0), // no supported entry: ignored
    ];
    expect(tdxFilterCpuid(supported, configurable)).toEqual([
      entry(0x1, 0, 0x000806f8, 0x00010800, 0xfeda3203, 0x178bfbff),
      entry(0x7, 0, 0, 0x000007ab, 0x1b410000, 0xbc000400),
      entry(0x8000_0008, 0, 0x3030, 0, 0, 0),
    ]);
  });

  it("matches on (function, index) exactly", () => {
    expect(tdxFilterCpuid([entry(0xd, 1, 0xf)], [entry(0xd, 0, 0xffff_ffff)])).toEqual([]);
  });

  it("keeps registers unsigned when the top bit survives", () => {
    expect(tdxFilterCpuid([entry(1, 0, 0x8000_0001)], [entry(1, 0, 0xffff_ffff)])[0].eax).toBe(0x8000_0001);
  });
});

describe("tdxApplyCpuidRestrictions (leaf 0xD)", () => {
  it("AMX tile state is both-or-neither in 0xD.0 EAX", () => {
    expect(tdxApplyCpuidRestrictions([entry(0xd, 0, 0x2_02e7)])[0].eax).toBe(0x02e7); // CFG without DATA
    expect(tdxApplyCpuidRestrictions([entry(0xd, 0, 0x6_02e7)])[0].eax).toBe(0x6_02e7); // both kept
  });

  it("0xD.1 ECX: LBR cleared, CET user/supervisor set together", () => {
    expect(tdxApplyCpuidRestrictions([entry(0xd, 1, 0xf, 0, 0x8000 | 0x800)])[0].ecx).toBe(0x1800);
    expect(tdxApplyCpuidRestrictions([entry(0xd, 1, 0xf, 0, 0x100)])[0].ecx).toBe(0x100);
  });

  it("leaves other leaves alone", () => {
    const others = [entry(0x1, 0, 0x2_0000), entry(0xd, 2, 0x100, 0x240)];
    expect(tdxApplyCpuidRestrictions(others)).toEqual(others);
  });
});
