import { hex } from "../util/hex.js";

// TD ATTRIBUTES bits (TDX module ABI; KVM uapi) and XFAM bits (XCR0 | IA32_XSS layout), and
// tdx_check_attributes(): the requested values must lie inside what KVM_TDX_CAPABILITIES
// reports (6.16: supported_attrs / supported_xfam), or KVM_TDX_INIT_VM fails with EINVAL.

export const TDX_TD_ATTRIBUTES = {
  DEBUG: 1n << 0n,
  SEPT_VE_DISABLE: 1n << 28n,
  PKS: 1n << 30n,
  KL: 1n << 31n,
  PERFMON: 1n << 63n,
} as const;

export const XFEATURE_MASK = {
  FP: 1n << 0n,
  SSE: 1n << 1n,
  YMM: 1n << 2n,
  BNDREGS: 1n << 3n,
  BNDCSR: 1n << 4n,
  OPMASK: 1n << 5n,
  ZMM_HI256: 1n << 6n,
  HI16_ZMM: 1n << 7n,
  PT: 1n << 8n,
  PKRU: 1n << 9n,
  CET_USER: 1n << 11n,
  CET_KERNEL: 1n << 12n,
  LBR: 1n << 15n,
  XTILE_CFG: 1n << 17n,
  XTILE_DATA: 1n << 18n,
} as const;

/** The two masks of struct kvm_tdx_capabilities that bound attributes and XFAM. */
export interface TdxSupportedMasks {
  readonly supportedAttrs: bigint;
  readonly supportedXfam: bigint;
}

/** A requested TD configuration that KVM_TDX_CAPABILITIES does not allow. */
export class TdxConfigurationError extends Error {
  override name = "TdxConfigurationError";
  readonly field: "attributes" | "xfam";

  constructor(field: "attributes" | "xfam", message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

function bitNames(bits: bigint, names: Readonly<Record<string, bigint>>): string {
  const out: string[] = [];
  for (let bit = 0n; bit < 64n; bit++) {
    const mask = 1n << bit;
    if ((bits & mask) === 0n) continue;
    const name = Object.entries(names).find(([, value]) => value === mask)?.[0];
    out.push(name ? `${name} (bit ${bit})` : `bit ${bit}`);
  }
  return out.join(", ");
}

/**
 * tdx_check_attributes(): throws naming every requested bit outside the supported mask
 * (e.g. "attributes: PKS (bit 30) not in supported_attrs 0x10000000").
 */
export function tdxCheckAttributes(caps: TdxSupportedMasks, attributes: bigint, xfam?: bigint): void {
  const badAttrs = attributes & ~caps.supportedAttrs;
  if (badAttrs !== 0n) {
    throw new TdxConfigurationError(
      "attributes",
      `${bitNames(badAttrs, TDX_TD_ATTRIBUTES)} not in supported_attrs ${hex(caps.supportedAttrs)} of KVM_TDX_CAPABILITIES`,
    );
  }
  if (xfam === undefined) return;
  const badXfam = xfam & ~caps.supportedXfam;
  if (badXfam !== 0n) {
    throw new TdxConfigurationError(
      "xfam",
      `${bitNames(badXfam, XFEATURE_MASK)} not in supported_xfam ${hex(caps.supportedXfam)} of KVM_TDX_CAPABILITIES`,
    );
  }
  tdxCheckXfamCombination(xfam);
}

const X = XFEATURE_MASK;
/** XSAVE components that come only together (XCR0 / IA32_XSS rules the TDX module applies to XFAM). */
const XFAM_GROUPS: readonly [string, bigint][] = [
  ["AVX-512", X.OPMASK | X.ZMM_HI256 | X.HI16_ZMM],
  ["CET", X.CET_USER | X.CET_KERNEL],
  ["AMX", X.XTILE_CFG | X.XTILE_DATA],
];

/**
 * The combinations TDH.MNG.INIT refuses (TDX_OPERAND_INVALID (XFAM)) even when every bit is
 * supported: x87 and SSE are mandatory, AVX-512 needs all three components and AVX, CET user
 * and supervisor go together, AMX TILECFG and TILEDATA go together. Checked here so the error
 * names the rule instead of KVM_TDX_INIT_VM's bare EINVAL.
 */
export function tdxCheckXfamCombination(xfam: bigint): void {
  const mandatory = X.FP | X.SSE;
  if ((xfam & mandatory) !== mandatory) {
    throw new TdxConfigurationError(
      "xfam",
      `${hex(xfam)} lacks ${bitNames(mandatory & ~xfam, X)}, which a TD always has`,
    );
  }
  for (const [name, group] of XFAM_GROUPS) {
    const present = xfam & group;
    if (present !== 0n && present !== group) {
      throw new TdxConfigurationError(
        "xfam",
        `${hex(xfam)} has ${bitNames(present, X)} without ${bitNames(group & ~present, X)}: ${name} components come together`,
      );
    }
  }
  if ((xfam & XFAM_GROUPS[0]![1]) !== 0n && (xfam & X.YMM) === 0n) {
    throw new TdxConfigurationError("xfam", `${hex(xfam)} has AVX-512 without YMM (bit 2)`);
  }
}
