// TDX completion status codes (RAX after SEAMCALL/TDCALL), operand ids and a decoder.
// Source: intel/tdx-module tdx_1.5 include/auto_gen/tdx_error_codes_defs.h (shared/spec/tdx-abi.md §1.4-1.5).
//
// Format: bits 63 ERROR, 62 NON_RECOVERABLE, 61 FATAL, 60 host-recoverability hint, 47:40 class,
// 39:32 details L1, 31:0 operand id / details L2 (added arithmetically to the code).
//
// Inside the module a status is a JS number in a compact form that stays exact below 2^53:
// bits 63:60 → multiplier 2^48, bits 47:32 → 2^32, bits 31:0 as is. Bits 59:48 are reserved
// (zero) in every defined code. `statusToBigInt` gives the architectural 64-bit value.

export const TdxStatus = {
  TDX_SUCCESS: 0x0000000000000000n,
  TDX_NON_RECOVERABLE_VCPU: 0x4000000100000000n,
  TDX_NON_RECOVERABLE_TD: 0x6000000200000000n,
  TDX_INTERRUPTED_RESUMABLE: 0x8000000300000000n,
  TDX_INTERRUPTED_RESTARTABLE: 0x8000000400000000n,
  TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE: 0x6000000500000000n,
  TDX_INVALID_RESUMPTION: 0xc000000600000000n,
  TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE: 0xe000000700000000n,
  TDX_CROSS_TD_FAULT: 0x8000000800000000n,
  TDX_CROSS_TD_TRAP: 0x9000000900000000n,
  TDX_NON_RECOVERABLE_TD_CORRUPTED_MD: 0x6000000a00000000n,
  TDX_OPERAND_INVALID: 0xc000010000000000n,
  TDX_OPERAND_ADDR_RANGE_ERROR: 0xc000010100000000n,
  TDX_OPERAND_BUSY: 0x8000020000000000n,
  TDX_PREVIOUS_TLB_EPOCH_BUSY: 0x8000020100000000n,
  TDX_SYS_BUSY: 0x8000020200000000n,
  TDX_RND_NO_ENTROPY: 0x8000020300000000n,
  TDX_OPERAND_BUSY_HOST_PRIORITY: 0x8000020400000000n,
  TDX_HOST_PRIORITY_BUSY_TIMEOUT: 0x9000020500000000n,
  TDX_PAGE_METADATA_INCORRECT: 0xc000030000000000n,
  TDX_PAGE_ALREADY_FREE: 0x0000030100000000n,
  TDX_PAGE_NOT_OWNED_BY_TD: 0xc000030200000000n,
  TDX_PAGE_NOT_FREE: 0xc000030300000000n,
  TDX_TD_ASSOCIATED_PAGES_EXIST: 0xc000040000000000n,
  TDX_SYS_NOT_READY: 0xc000050500000000n,
  TDX_TD_FATAL: 0xe000060400000000n,
  TDX_TD_NON_DEBUG: 0xc000060500000000n,
  TDX_TDCS_NOT_ALLOCATED: 0xc000060600000000n,
  TDX_LIFECYCLE_STATE_INCORRECT: 0xc000060700000000n,
  TDX_OP_STATE_INCORRECT: 0xc000060800000000n,
  TDX_NO_VCPUS: 0xc000060900000000n,
  TDX_TDCX_NUM_INCORRECT: 0xc000061000000000n,
  TDX_X2APIC_ID_NOT_UNIQUE: 0xc000062100000000n,
  TDX_VCPU_STATE_INCORRECT: 0xc000070000000000n,
  TDX_VCPU_ASSOCIATED: 0x8000070100000000n,
  TDX_VCPU_NOT_ASSOCIATED: 0x8000070200000000n,
  TDX_NO_VALID_VE_INFO: 0xc000070400000000n,
  TDX_MAX_VCPUS_EXCEEDED: 0xc000070500000000n,
  TDX_TSC_ROLLBACK: 0xc000070600000000n,
  TDX_KEY_GENERATION_FAILED: 0x8000080000000000n,
  TDX_TD_KEYS_NOT_CONFIGURED: 0x8000081000000000n,
  TDX_KEY_STATE_INCORRECT: 0xc000081100000000n,
  TDX_KEY_CONFIGURED: 0x0000081500000000n,
  TDX_HKID_NOT_FREE: 0xc000082000000000n,
  TDX_FLUSHVP_NOT_DONE: 0x8000082400000000n,
  TDX_INCORRECT_CPUID_VALUE: 0xc000090000000000n,
  TDX_TDMR_ALREADY_INITIALIZED: 0x00000a0300000000n,
  TDX_EPT_WALK_FAILED: 0xc0000b0000000000n,
  TDX_EPT_ENTRY_FREE: 0xc0000b0100000000n,
  TDX_EPT_ENTRY_NOT_FREE: 0xc0000b0200000000n,
  TDX_EPT_ENTRY_NOT_PRESENT: 0xc0000b0300000000n,
  TDX_EPT_ENTRY_NOT_LEAF: 0xc0000b0400000000n,
  TDX_EPT_ENTRY_LEAF: 0xc0000b0500000000n,
  TDX_GPA_RANGE_NOT_BLOCKED: 0xc0000b0600000000n,
  TDX_GPA_RANGE_ALREADY_BLOCKED: 0x00000b0700000000n,
  TDX_TLB_TRACKING_NOT_DONE: 0xc0000b0800000000n,
  TDX_EPT_INVALID_PROMOTE_CONDITIONS: 0xc0000b0900000000n,
  TDX_PAGE_ALREADY_ACCEPTED: 0x00000b0a00000000n,
  TDX_PAGE_SIZE_MISMATCH: 0xc0000b0b00000000n,
  TDX_GPA_RANGE_BLOCKED: 0xc0000b0c00000000n,
  TDX_EPT_ENTRY_STATE_INCORRECT: 0xc0000b0d00000000n,
  TDX_EPT_PAGE_NOT_FREE: 0xc0000b0e00000000n,
  TDX_METADATA_FIELD_ID_INCORRECT: 0xc0000c0000000000n,
  TDX_METADATA_FIELD_NOT_WRITABLE: 0xc0000c0100000000n,
  TDX_METADATA_FIELD_NOT_READABLE: 0xc0000c0200000000n,
  TDX_METADATA_FIELD_VALUE_NOT_VALID: 0xc0000c0300000000n,
  TDX_METADATA_WR_MASK_NOT_VALID: 0xc0000c0a00000000n,
  TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT: 0x00000c0b00000000n,
  TDX_INVALID_CPUSVN: 0xc000100000000000n,
  TDX_INVALID_REPORTMACSTRUCT: 0xc000100100000000n,
  TDX_PENDING_INTERRUPT: 0x0000112000000000n,
  TDX_GLA_NOT_CANONICAL: 0xc000116000000000n,
} as const;
export type TdxStatusName = keyof typeof TdxStatus;

/** Operand ids added to a status (include/auto_gen/tdx_error_codes_defs.h). */
export const OperandId = {
  RAX: 0,
  RCX: 1,
  RDX: 2,
  RBX: 3,
  RBP: 5,
  RSI: 6,
  RDI: 7,
  R8: 8,
  R9: 9,
  R10: 10,
  R11: 11,
  R12: 12,
  R13: 13,
  R14: 14,
  R15: 15,
  ATTRIBUTES: 64,
  XFAM: 65,
  EXEC_CONTROLS: 66,
  EPTP_CONTROLS: 67,
  MAX_VCPUS: 68,
  CPUID_CONFIG: 69,
  TSC_FREQUENCY: 70,
  NUM_L2_VMS: 71,
  IA32_ARCH_CAPABILITIES_CONFIG: 72,
  PAGE: 95,
  TDMR_INFO_PA: 96,
  GPA_LIST_ENTRY: 97,
  TDR: 128,
  TDCX: 129,
  TDVPR: 130,
  REG_PAGE: 132,
  TDCS: 144,
  TDVPS: 145,
  SEPT_TREE: 146,
  SEPT_ENTRY: 147,
  RTMR: 168,
  TD_EPOCH: 169,
  L2_VAPIC_GPA: 170,
  MIGSC: 171,
  OP_STATE: 172,
  MIG: 173,
  SERVTD_BINDINGS: 174,
  METADATA_FIELD: 176,
  SYS: 184,
  TDMR: 185,
  KOT: 186,
  KET: 187,
  WBCACHE: 188,
} as const;
export type OperandIdName = keyof typeof OperandId;

const TWO32 = 0x1_0000_0000;
const TWO48 = 0x1_0000_0000_0000;

/** Architectural 64-bit status → compact number. */
export function compactStatus(status: bigint): number {
  const hi = Number((status >> 32n) & 0xffffffffn);
  const lo = Number(status & 0xffffffffn);
  if ((hi & 0x0fff0000) !== 0)
    throw new RangeError(`status 0x${status.toString(16)} uses reserved bits 59:48`);
  return (hi >>> 28) * TWO48 + (hi & 0xffff) * TWO32 + lo;
}

/** High 32 bits (RAX[63:32]) of a compact status. */
export function statusHi(s: number): number {
  const top = Math.floor(s / TWO48);
  const mid = Math.floor(s / TWO32) % 0x10000;
  return ((top << 28) | mid) >>> 0;
}
/** Low 32 bits (operand id / details) of a compact status. */
export function statusLo(s: number): number {
  return s % TWO32;
}

const bigintCache = new Map<number, bigint>();
/** Compact status → architectural 64-bit value (cached: statuses repeat). */
export function statusToBigInt(s: number): bigint {
  let b = bigintCache.get(s);
  if (b === undefined) {
    b = (BigInt(statusHi(s)) << 32n) | BigInt(statusLo(s));
    if (bigintCache.size < 4096) bigintCache.set(s, b);
  }
  return b;
}

/** Compact constants, used by the module internally: `S.TDX_OPERAND_INVALID + OperandId.RCX`. */
export const S = Object.fromEntries(Object.entries(TdxStatus).map(([k, v]) => [k, compactStatus(v)])) as {
  readonly [K in TdxStatusName]: number;
};

const namesByHi = new Map<number, TdxStatusName>(
  (Object.entries(TdxStatus) as [TdxStatusName, bigint][]).map(([k, v]) => [Number(v >> 32n), k]),
);
const operandNames = new Map<number, string>(Object.entries(OperandId).map(([k, v]) => [v, k]));

/** Codes whose low 32 bits carry an operand id (others carry details, printed in hex). */
export function isSuccess(status: bigint | number): boolean {
  return typeof status === "bigint" ? status >> 63n === 0n : statusHi(status) >>> 31 === 0;
}

/**
 * Names a status: "TDX_SUCCESS", "TDX_OPERAND_INVALID (RCX)", "TDX_OPERAND_BUSY (SEPT_ENTRY)",
 * "TDX_PAGE_ALREADY_ACCEPTED (0x1)"; unknown codes print as hex.
 */
export function decodeTdxStatus(status: bigint | number): string {
  const value = typeof status === "number" ? statusToBigInt(status) : status;
  const hi = Number(value >> 32n);
  const lo = Number(value & 0xffffffffn);
  const name = namesByHi.get(hi);
  if (name === undefined) return `unknown TDX status 0x${value.toString(16).padStart(16, "0")}`;
  if (lo === 0) return name;
  const operand = operandNames.get(lo);
  return operand ? `${name} (${operand})` : `${name} (0x${lo.toString(16)})`;
}
