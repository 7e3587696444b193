import { describe, expect, it } from "vitest";
import {
  TDX_TD_ATTRIBUTES,
  TdxConfigurationError,
  tdxCheckAttributes,
  XFEATURE_MASK,
} from "../../src/index.js";

// 6.16 KVM offers SEPT_VE_DISABLE only (spec/kvm-api.md §1.4).
const caps = { supportedAttrs: 0x1000_0000n, supportedXfam: 0x6_02e7n };

describe("tdxCheckAttributes", () => {
  it("accepts attributes and XFAM inside the supported masks", () => {
    tdxCheckAttributes(caps, 0n);
    tdxCheckAttributes(caps, TDX_TD_ATTRIBUTES.SEPT_VE_DISABLE, XFEATURE_MASK.FP | XFEATURE_MASK.SSE);
  });

  it("names each unsupported attribute bit (v5's 0x50000000 asks for PKS)", () => {
    expect(TDX_TD_ATTRIBUTES.SEPT_VE_DISABLE | TDX_TD_ATTRIBUTES.PKS).toBe(0x5000_0000n);
    expect(() => tdxCheckAttributes(caps, 0x5000_0000n)).toThrow(
      "attributes: PKS (bit 30) not in supported_attrs 0x10000000 of KVM_TDX_CAPABILITIES",
    );
    expect(() =>
      tdxCheckAttributes(caps, TDX_TD_ATTRIBUTES.DEBUG | TDX_TD_ATTRIBUTES.PERFMON | (1n << 5n)),
    ).toThrow(/^attributes: DEBUG \(bit 0\), bit 5, PERFMON \(bit 63\) not in/);
  });

  it("names unsupported XFAM bits", () => {
    let error: unknown;
    try {
      tdxCheckAttributes(caps, 0n, XFEATURE_MASK.CET_USER | XFEATURE_MASK.FP);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TdxConfigurationError);
    expect((error as TdxConfigurationError).field).toBe("xfam");
    expect((error as Error).message).toBe(
      "xfam: CET_USER (bit 11) not in supported_xfam 0x602e7 of KVM_TDX_CAPABILITIES",
    );
  });

  it("names XFAM combinations TDH.MNG.INIT refuses even with every bit supported", () => {
    const all = { supportedAttrs: 0n, supportedXfam: 0x6_1ae7n };
    const x = XFEATURE_MASK;
    const check = (xfam: bigint) => () => tdxCheckAttributes(all, 0n, xfam);
    expect(check(x.SSE)).toThrow("xfam: 0x2 lacks FP (bit 0), which a TD always has");
    expect(check(x.FP | x.SSE | x.XTILE_CFG)).toThrow(
      "xfam: 0x20003 has XTILE_CFG (bit 17) without XTILE_DATA (bit 18): AMX components come together",
    );
    expect(check(x.FP | x.SSE | x.CET_KERNEL)).toThrow(/without CET_USER \(bit 11\): CET components/);
    expect(check(x.FP | x.SSE | x.YMM | x.OPMASK)).toThrow(/AVX-512 components come together/);
    expect(check(x.FP | x.SSE | x.OPMASK | x.ZMM_HI256 | x.HI16_ZMM)).toThrow(
      "xfam: 0xe3 has AVX-512 without YMM (bit 2)",
    );
    check(x.FP | x.SSE | x.YMM | x.OPMASK | x.ZMM_HI256 | x.HI16_ZMM | x.XTILE_CFG | x.XTILE_DATA)();
  });
});
