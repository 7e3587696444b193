// TD_PARAMS validation (TDH.MNG.INIT): each rule and the operand id it reports.
import { describe, expect, it } from "vitest";
import { buildTdParams, checkXfam, OperandId, parseTdParams, S, TdParamsOffset, Xfam } from "../src/index.js";

function withField(
  mutate: (b: Uint8Array, dv: DataView) => void,
  base = {},
): ReturnType<typeof parseTdParams> {
  const b = buildTdParams(base);
  mutate(b, new DataView(b.buffer));
  return parseTdParams(b);
}
const invalid = (operand: number) => ({ ok: false, status: S.TDX_OPERAND_INVALID + operand });

describe("TD_PARAMS", () => {
  it("accepts the defaults and reports GPAW / SEPT levels", () => {
    const r = parseTdParams(buildTdParams({}));
    expect(r.ok && r.params.gpaw).toBe(48);
    expect(r.ok && r.params.septLevels).toBe(4);
    const wide = parseTdParams(buildTdParams({ configFlags: 1n, eptpControls: 6n | (4n << 3n) }));
    expect(wide.ok && wide.params.gpaw).toBe(52);
    expect(wide.ok && wide.params.septLevels).toBe(5);
  });
  it("ATTRIBUTES outside FIXED0, or MIGRATABLE with DEBUG → ATTRIBUTES", () => {
    expect(parseTdParams(buildTdParams({ attributes: 1n << 31n }))).toMatchObject(
      invalid(OperandId.ATTRIBUTES),
    );
    expect(parseTdParams(buildTdParams({ attributes: 2n }))).toMatchObject(invalid(OperandId.ATTRIBUTES));
    expect(parseTdParams(buildTdParams({ attributes: (1n << 29n) | 1n }))).toMatchObject(
      invalid(OperandId.ATTRIBUTES),
    );
    expect(parseTdParams(buildTdParams({ attributes: (1n << 28n) | (1n << 63n) })).ok).toBe(true);
  });
  it("XFAM rules → XFAM", () => {
    expect(checkXfam(3n)).toBe(true);
    expect(checkXfam(1n)).toBe(false); // SSE missing (FIXED1)
    expect(checkXfam(3n | Xfam.AVX512_OPMASK | Xfam.AVX)).toBe(false); // partial AVX-512
    expect(checkXfam(3n | Xfam.AVX512_OPMASK | Xfam.AVX512_ZMM_HI256 | Xfam.AVX512_HI16_ZMM)).toBe(false); // no AVX
    expect(checkXfam(3n | Xfam.CET_U)).toBe(false);
    expect(checkXfam(3n | Xfam.AMX_TILEDATA)).toBe(false);
    expect(checkXfam(3n | (1n << 3n))).toBe(false); // MPX not allowed
    expect(checkXfam(0x6dbe7n)).toBe(true);
    expect(parseTdParams(buildTdParams({ xfam: 1n }))).toMatchObject(invalid(OperandId.XFAM));
  });
  it("MAX_VCPUS 0 → MAX_VCPUS; NUM_L2_VMS → NUM_L2_VMS", () => {
    expect(parseTdParams(buildTdParams({ maxVcpus: 0 }))).toMatchObject(invalid(OperandId.MAX_VCPUS));
    expect(withField((b) => (b[TdParamsOffset.NUM_L2_VMS] = 1))).toMatchObject(invalid(OperandId.NUM_L2_VMS));
  });
  it("EPTP_CONTROLS must be WB with PWL 4/5 matching GPAW → EPTP_CONTROLS", () => {
    expect(parseTdParams(buildTdParams({ eptpControls: 0n | (3n << 3n) }))).toMatchObject(
      invalid(OperandId.EPTP_CONTROLS),
    );
    expect(parseTdParams(buildTdParams({ eptpControls: 6n | (2n << 3n) }))).toMatchObject(
      invalid(OperandId.EPTP_CONTROLS),
    );
    expect(parseTdParams(buildTdParams({ configFlags: 1n, eptpControls: 6n | (3n << 3n) }))).toMatchObject(
      invalid(OperandId.EPTP_CONTROLS),
    );
  });
  it("CONFIG_FLAGS outside 0x7 → EXEC_CONTROLS; TSC_FREQUENCY range → TSC_FREQUENCY", () => {
    expect(parseTdParams(buildTdParams({ configFlags: 8n }))).toMatchObject(invalid(OperandId.EXEC_CONTROLS));
    expect(parseTdParams(buildTdParams({ tscFrequency: 3 }))).toMatchObject(invalid(OperandId.TSC_FREQUENCY));
    expect(parseTdParams(buildTdParams({ tscFrequency: 401 }))).toMatchObject(
      invalid(OperandId.TSC_FREQUENCY),
    );
  });
  it("reserved bytes → RDX; IA32_ARCH_CAPABILITIES_CONFIG without MSR_CONFIG_CTLS bit 0", () => {
    for (const off of [
      TdParamsOffset.RESERVED_0,
      TdParamsOffset.RESERVED_1 + 5,
      TdParamsOffset.RESERVED_2 + 23,
    ]) {
      expect(withField((b) => (b[off] = 1))).toMatchObject(invalid(OperandId.RDX));
    }
    expect(withField((b) => (b[TdParamsOffset.MSR_CONFIG_CTLS] = 2))).toMatchObject(invalid(OperandId.RDX));
    expect(withField((b) => (b[TdParamsOffset.IA32_ARCH_CAPABILITIES_CONFIG] = 1))).toMatchObject(
      invalid(OperandId.IA32_ARCH_CAPABILITIES_CONFIG),
    );
  });
  it("a CPUID_CONFIG bit the module does not allow → CPUID_CONFIG with RCX = leaf | subleaf << 32", () => {
    const r = withField((_b, dv) => dv.setUint32(TdParamsOffset.CPUID_CONFIG + 16 * 5 + 4, 1 << 1, true)); // 7.0 EBX bit 1
    expect(r).toMatchObject({ ...invalid(OperandId.CPUID_CONFIG), rcx: 7n });
    const leaf1 = withField((_b, dv) => dv.setUint32(TdParamsOffset.CPUID_CONFIG + 4, 0xff, true)); // 1.EBX not configurable
    expect(leaf1).toMatchObject({ ...invalid(OperandId.CPUID_CONFIG), rcx: 1n | (0xffffffffn << 32n) });
  });
  it("CPUID(1).EAX of a non-migratable TD: 0 or the native F/M/S, else CPUID_CONFIG", () => {
    const fms = (eax: number, attributes = 0n) => {
      const values = new Uint32Array(48);
      values[0] = eax;
      return parseTdParams(buildTdParams({ cpuidValues: values, attributes }));
    };
    expect(fms(0).ok).toBe(true);
    expect(fms(0x806f8).ok).toBe(true);
    expect(fms(0x906a3)).toMatchObject({
      ...invalid(OperandId.CPUID_CONFIG),
      rcx: 1n | (0xffffffffn << 32n),
    });
    expect(fms(0x906a3, 1n << 29n).ok).toBe(true); // MIGRATABLE
  });
  it("copies MRCONFIGID / MROWNER / MROWNERCONFIG", () => {
    const id = new Uint8Array(48).fill(0xab);
    const r = parseTdParams(buildTdParams({ mrConfigId: id, mrOwner: id.map(() => 1) }));
    expect(r.ok && Array.from(r.params.mrConfigId)).toEqual(Array.from(id));
    expect(r.ok && r.params.mrOwner[47]).toBe(1);
  });
});
