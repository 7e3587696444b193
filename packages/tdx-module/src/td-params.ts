// TD_PARAMS (1024 bytes, TDH.MNG.INIT input): parsing and the tdx_1.5 validation rules, each failure
// returning TDX_OPERAND_INVALID with the operand id the module uses (spec/tdx-abi.md §11).
import { OperandId, S } from "./abi/status.js";
import {
  ATTRIBUTES_FIXED0,
  ATTRIBUTES_FIXED1,
  CONFIG_FLAGS_FIXED0,
  CONFIG_FLAGS_FIXED1,
  ConfigFlag,
  CPUID_CONFIG_LEAVES,
  MAX_NUM_CPUID_CONFIG,
  TdParamsOffset as O,
  TD_PARAMS_SIZE,
  TdAttribute,
  TSC_FREQUENCY_MAX,
  TSC_FREQUENCY_MIN,
  XFAM_FIXED0,
  XFAM_FIXED1,
  Xfam,
} from "./abi/td-attributes.js";
import { applyCpuidConfig, configurableMask, NATIVE_CPUID1_EAX } from "./cpuid.js";

/** Platform limit reported as MAX_VCPUS_PER_TD. */
export const MAX_VCPUS_PER_TD = 576;

export interface TdParams {
  attributes: bigint;
  xfam: bigint;
  maxVcpus: number;
  numL2Vms: number;
  msrConfigCtls: number;
  eptpControls: bigint;
  configFlags: bigint;
  tscFrequency: number;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  ia32ArchCapabilitiesConfig: bigint;
  /** 12 × {EAX, EBX, ECX, EDX} after applying the configurable masks. */
  cpuidValues: Uint32Array;
  /** 4 (GPAW 48) or 5 levels. */
  septLevels: number;
  gpaw: number;
}

export type TdParamsResult =
  | { ok: true; params: TdParams }
  | { ok: false; status: number /** RCX out for CPUID errors: leaf | subleaf << 32 */; rcx?: bigint };

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

export function checkXfam(xfam: bigint): boolean {
  if ((xfam & ~XFAM_FIXED0) !== 0n || (xfam & XFAM_FIXED1) !== XFAM_FIXED1) return false;
  const avx512 = Xfam.AVX512_OPMASK | Xfam.AVX512_ZMM_HI256 | Xfam.AVX512_HI16_ZMM;
  const a = xfam & avx512;
  if (a !== 0n && (a !== avx512 || (xfam & Xfam.AVX) === 0n)) return false;
  if (((xfam & Xfam.CET_U) === 0n) !== ((xfam & Xfam.CET_S) === 0n)) return false;
  if (((xfam & Xfam.AMX_TILECFG) === 0n) !== ((xfam & Xfam.AMX_TILEDATA) === 0n)) return false;
  return true;
}

export function parseTdParams(bytes: Uint8Array): TdParamsResult {
  if (bytes.length !== TD_PARAMS_SIZE) throw new RangeError(`TD_PARAMS is ${bytes.length} bytes, not 1024`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (operand: number, rcx?: bigint): TdParamsResult => ({
    ok: false,
    status: S.TDX_OPERAND_INVALID + operand,
    rcx,
  });

  const attributes = dv.getBigUint64(O.ATTRIBUTES, true);
  if ((attributes & ~ATTRIBUTES_FIXED0) !== 0n || (attributes & ATTRIBUTES_FIXED1) !== ATTRIBUTES_FIXED1)
    return fail(OperandId.ATTRIBUTES);
  if (
    (attributes & TdAttribute.MIGRATABLE) !== 0n &&
    (attributes & (TdAttribute.DEBUG | TdAttribute.PERFMON)) !== 0n
  )
    return fail(OperandId.ATTRIBUTES);

  const xfam = dv.getBigUint64(O.XFAM, true);
  if (!checkXfam(xfam)) return fail(OperandId.XFAM);

  const maxVcpus = dv.getUint16(O.MAX_VCPUS, true);
  if (maxVcpus === 0 || maxVcpus > MAX_VCPUS_PER_TD) return fail(OperandId.MAX_VCPUS);

  // This simulated module supports no L2 VMs (MAX_L2_VMS = 0).
  const numL2Vms = bytes[O.NUM_L2_VMS];
  if (numL2Vms !== 0) return fail(OperandId.NUM_L2_VMS);
  if (!allZero(bytes, O.RESERVED_0, O.EPTP_CONTROLS)) return fail(OperandId.RDX);

  // Check order below follows tdx_1.5 read_and_set_td_configurations().
  const configFlags = dv.getBigUint64(O.CONFIG_FLAGS, true);
  if (
    (configFlags & ~CONFIG_FLAGS_FIXED0) !== 0n ||
    (configFlags & CONFIG_FLAGS_FIXED1) !== CONFIG_FLAGS_FIXED1
  )
    return fail(OperandId.EXEC_CONTROLS);
  const eptpControls = dv.getBigUint64(O.EPTP_CONTROLS, true);
  const memType = eptpControls & 7n;
  const pwl = Number((eptpControls >> 3n) & 7n) + 1;
  const wideGpaw = (configFlags & ConfigFlag.GPAW) !== 0n;
  if (memType !== 6n || (eptpControls & ~0x3fn) !== 0n || (pwl !== 4 && pwl !== 5) || (wideGpaw && pwl !== 5))
    return fail(OperandId.EPTP_CONTROLS);

  const tscFrequency = dv.getUint16(O.TSC_FREQUENCY, true);
  if (tscFrequency < TSC_FREQUENCY_MIN || tscFrequency > TSC_FREQUENCY_MAX)
    return fail(OperandId.TSC_FREQUENCY);
  if (!allZero(bytes, O.RESERVED_1, O.MRCONFIGID)) return fail(OperandId.RDX);

  const msrConfigCtls = bytes[O.MSR_CONFIG_CTLS];
  if ((msrConfigCtls & 0xfe) !== 0) return fail(OperandId.RDX);
  if (!allZero(bytes, O.RESERVED_2, O.CPUID_CONFIG)) return fail(OperandId.RDX);
  const ia32ArchCapabilitiesConfig = dv.getBigUint64(O.IA32_ARCH_CAPABILITIES_CONFIG, true);
  if (ia32ArchCapabilitiesConfig !== 0n && (msrConfigCtls & 1) === 0)
    return fail(OperandId.IA32_ARCH_CAPABILITIES_CONFIG);

  const cpuidValues = new Uint32Array(4 * MAX_NUM_CPUID_CONFIG);
  for (let i = 0; i < MAX_NUM_CPUID_CONFIG; i++) {
    const base = O.CPUID_CONFIG + 16 * i;
    const input = [0, 4, 8, 12].map((o) => dv.getUint32(base + o, true)) as [number, number, number, number];
    // CPUID(1).EAX (F/M/S): a non-migratable TD takes 0 (native) or exactly the native value.
    const fmsRefused =
      i === 0 &&
      input[0] !== 0 &&
      input[0] !== NATIVE_CPUID1_EAX &&
      (attributes & TdAttribute.MIGRATABLE) === 0n;
    const value = fmsRefused ? undefined : applyCpuidConfig(i, input);
    if (!value) {
      const [leaf, subleaf] = CPUID_CONFIG_LEAVES[i];
      return fail(OperandId.CPUID_CONFIG, BigInt(leaf) | (BigInt(subleaf) << 32n));
    }
    cpuidValues.set(value, 4 * i);
  }

  return {
    ok: true,
    params: {
      attributes,
      xfam,
      maxVcpus,
      numL2Vms,
      msrConfigCtls,
      eptpControls,
      configFlags,
      tscFrequency,
      mrConfigId: bytes.slice(O.MRCONFIGID, O.MRCONFIGID + 48),
      mrOwner: bytes.slice(O.MROWNER, O.MROWNER + 48),
      mrOwnerConfig: bytes.slice(O.MROWNERCONFIG, O.MROWNERCONFIG + 48),
      ia32ArchCapabilitiesConfig,
      cpuidValues,
      septLevels: pwl,
      gpaw: wideGpaw ? 52 : 48,
    },
  };
}

/** Builds TD_PARAMS bytes (a helper for hosts and tests; fields not given are 0). */
export function buildTdParams(p: {
  attributes?: bigint;
  xfam?: bigint;
  maxVcpus?: number;
  eptpControls?: bigint;
  configFlags?: bigint;
  tscFrequency?: number;
  mrConfigId?: Uint8Array;
  mrOwner?: Uint8Array;
  mrOwnerConfig?: Uint8Array;
  /** 12 × 4 u32, in CPUID_CONFIG slot order */
  cpuidValues?: ArrayLike<number>;
}): Uint8Array {
  const b = new Uint8Array(TD_PARAMS_SIZE);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(O.ATTRIBUTES, p.attributes ?? 0n, true);
  dv.setBigUint64(O.XFAM, p.xfam ?? XFAM_FIXED1, true);
  dv.setUint16(O.MAX_VCPUS, p.maxVcpus ?? 1, true);
  dv.setBigUint64(O.EPTP_CONTROLS, p.eptpControls ?? 6n | (3n << 3n), true);
  dv.setBigUint64(O.CONFIG_FLAGS, p.configFlags ?? 0n, true);
  dv.setUint16(O.TSC_FREQUENCY, p.tscFrequency ?? 100, true);
  if (p.mrConfigId) b.set(p.mrConfigId, O.MRCONFIGID);
  if (p.mrOwner) b.set(p.mrOwner, O.MROWNER);
  if (p.mrOwnerConfig) b.set(p.mrOwnerConfig, O.MROWNERCONFIG);
  const cpuid = p.cpuidValues ?? defaultCpuidValues();
  for (let i = 0; i < cpuid.length; i++) dv.setUint32(O.CPUID_CONFIG + 4 * i, cpuid[i], true);
  return b;
}

/** Every configurable bit on, CPUID(1).EAX = 0 (native F/M/S), 0x80000008.EAX = 0 (as KVM passes it). */
export function defaultCpuidValues(): Uint32Array {
  const v = new Uint32Array(4 * MAX_NUM_CPUID_CONFIG);
  for (let i = 0; i < MAX_NUM_CPUID_CONFIG; i++) v.set(configurableMask(i), 4 * i);
  v[0] = 0;
  v[4 * 9] = 0;
  return v;
}
