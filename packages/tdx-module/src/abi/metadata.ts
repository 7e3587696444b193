// Metadata field identifiers (md_field_id_t) for TDH.MNG.RD/WR, TDH.SYS.RD, TDH.VP.RD/WR, TDG.VM.RD/WR and
// TDG.SYS.RD. Source: shared/spec/tdx-abi.md §12.

/** Context codes (bits 54:52). */
export const MdContext = { SYS: 0, TD: 1, VP: 2 } as const;

/** TD-scope (TDR/TDCS) field ids, full form. */
export const TdFieldId = {
  ATTRIBUTES: 0x1110000300000000n,
  XFAM: 0x1110000300000001n,
  MAX_VCPUS: 0x1110000200000002n,
  GPAW: 0x1110000000000003n,
  EPTP: 0x1110000300000004n,
  TSC_OFFSET: 0x111000030000000an,
  TSC_MULTIPLIER: 0x111000030000000bn,
  TSC_FREQUENCY: 0x111000010000000cn,
  NOTIFY_ENABLES: 0x9110000300000010n,
  CONFIG_FLAGS: 0x1110000300000016n,
  TD_CTLS: 0x1110000300000017n,
  NUM_VCPUS: 0x9010000200000001n,
  MRTD: 0x1310000300000000n,
  MRCONFIGID: 0x1310000300000010n,
  MROWNER: 0x1310000300000018n,
  MROWNERCONFIG: 0x1310000300000020n,
  RTMR: 0x1310000300000040n,
  SERVTD_HASH: 0x9910000300000000n,
  CPUID_VALUES: 0x9410000300000000n,
} as const;

/** Linux guest short forms (asm/shared/tdx.h): same fields, ELEMENT_SIZE/CONTEXT left 0. */
export const TDCS_NOTIFY_ENABLES_SHORT = 0x9100000000000010n;

/** SYS-scope field ids (the ones Linux's tdx_global_metadata.c reads included). */
export const SysFieldId = {
  VENDOR_ID: 0x0800000200000000n,
  MINOR_VERSION: 0x0800000100000003n,
  MAJOR_VERSION: 0x0800000100000004n,
  UPDATE_VERSION: 0x0800000100000005n,
  SYS_ATTRIBUTES: 0x0a00000200000000n,
  TDX_FEATURES0: 0x0a00000300000008n,
  ATTRIBUTES_FIXED0: 0x1900000300000000n,
  ATTRIBUTES_FIXED1: 0x1900000300000001n,
  XFAM_FIXED0: 0x1900000300000002n,
  XFAM_FIXED1: 0x1900000300000003n,
  NUM_CPUID_CONFIG: 0x9900000100000004n,
  CONFIG_FLAGS_FIXED0: 0x9900000300000006n,
  CONFIG_FLAGS_FIXED1: 0x9900000300000007n,
  CPUID_CONFIG_LEAVES: 0x9900000300000400n,
  CPUID_CONFIG_VALUES: 0x9900000300000500n,
  TDCS_BASE_SIZE: 0x9800000100000100n,
  TDVPS_BASE_SIZE: 0x9800000100000200n,
  MAX_VCPUS_PER_TD: 0x9900000100000008n,
  TDR_BASE_SIZE: 0x9800000100000000n,
  MAX_TDMRS: 0x9100000100000008n,
  MAX_RESERVED_PER_TDMR: 0x9100000100000009n,
  PAMT_4K_ENTRY_SIZE: 0x9100000100000010n,
  PAMT_2M_ENTRY_SIZE: 0x9100000100000011n,
  PAMT_1G_ENTRY_SIZE: 0x9100000100000012n,
  NUM_CMRS: 0x9000000100000000n,
  CMR_BASE: 0x9000000300000080n,
  CMR_SIZE: 0x9000000300000100n,
  MAX_SERV_TDS: 0xa100000100000000n,
} as const;

/** The parts of a field id that select a field: CLASS_CODE, FIELD_CODE and NON_ARCH. */
export interface MdFieldKey {
  classCode: number;
  fieldCode: number;
  nonArch: boolean;
  context: number;
  elementSizeCode: number;
}

/** Splits a field id; returns undefined when reserved bits or sequence fields are set (single-element access). */
export function parseFieldId(id: bigint): MdFieldKey | undefined {
  const lo = Number(id & 0xffffffffn);
  const hi = Number((id >> 32n) & 0xffffffffn);
  if ((lo & 0xff000000) !== 0) return undefined; // RESERVED_0 bits 31:24
  // bits 37:34 LAST_ELEMENT, 46:38 LAST_FIELD, 49:47 reserved, 55 reserved, 62 reserved (relative to bit 32)
  const mustBeZero = (0xf << 2) | (0x1ff << 6) | (0x7 << 15) | (1 << 23) | (1 << 30);
  if ((hi & mustBeZero) !== 0) return undefined;
  return {
    fieldCode: lo & 0xffffff,
    elementSizeCode: hi & 3,
    context: (hi >>> 20) & 7,
    classCode: (hi >>> 24) & 0x3f,
    nonArch: hi >>> 31 === 1,
  };
}

/** Key used to look a field up: class, field code and non-arch bit (context/size are ignored on input). */
export function fieldKey(id: bigint): string | undefined {
  const k = parseFieldId(id);
  return k ? `${k.nonArch ? 1 : 0}:${k.classCode}:${k.fieldCode}` : undefined;
}
