// TD ATTRIBUTES, XFAM and CONFIG_FLAGS bits with the tdx_1.5 fixed masks (shared/spec/tdx-abi.md §5, §11.2).

export const TdAttribute = {
  DEBUG: 1n << 0n,
  SEPT_VE_DISABLE: 1n << 28n,
  MIGRATABLE: 1n << 29n,
  PKS: 1n << 30n,
  KL: 1n << 31n,
  PERFMON: 1n << 63n,
} as const;

/** Bits a TD may set (tdx_1.5 TDX_ATTRIBUTES_FIXED0); KL is named but not allowed by this build. */
export const ATTRIBUTES_FIXED0 = 0x8000_0000_7000_0001n;
export const ATTRIBUTES_FIXED1 = 0n;

/** XFAM bits (XCR0 | IA32_XSS format). */
export const Xfam = {
  X87: 1n << 0n,
  SSE: 1n << 1n,
  AVX: 1n << 2n,
  AVX512_OPMASK: 1n << 5n,
  AVX512_ZMM_HI256: 1n << 6n,
  AVX512_HI16_ZMM: 1n << 7n,
  PT: 1n << 8n,
  PKRU: 1n << 9n,
  CET_U: 1n << 11n,
  CET_S: 1n << 12n,
  UINTR: 1n << 14n,
  LBR: 1n << 15n,
  AMX_TILECFG: 1n << 17n,
  AMX_TILEDATA: 1n << 18n,
} as const;
export const XFAM_FIXED0 = 0x0006_dbe7n;
export const XFAM_FIXED1 = 0x3n;
/** Supervisor-state XFAM bits, loaded into IA32_XSS (UNCONFIRMED against tdx_1.5 source, see spec §11.2). */
export const XFAM_XSS_MASK = 0x0001_fd00n;

export const ConfigFlag = {
  GPAW: 1n << 0n,
  FLEXIBLE_PENDING_VE: 1n << 1n,
  NO_RBP_MOD: 1n << 2n,
} as const;
export const CONFIG_FLAGS_FIXED0 = 0x7n;
export const CONFIG_FLAGS_FIXED1 = 0n;

/** TDCS TD_CTLS bit 0 (initialised from ATTRIBUTES.SEPT_VE_DISABLE). */
export const TD_CTLS_PENDING_VE_DISABLE = 1n;
/** TDCS NOTIFY_ENABLES bit 0: notify on suspected zero-step attacks. */
export const NOTIFY_ENABLES_ZERO_STEP = 1n;

/** TDG.VP.CPUIDVE.SET RCX bits. */
export const CPUIDVE_SUPERVISOR = 1;
export const CPUIDVE_USER = 2;

/** EPTP_CONTROLS fields in TD_PARAMS: memory type 2:0 (WB = 6), page-walk length − 1 in 5:3. */
export const EPTP_MEMTYPE_WB = 6n;
export const EPTP_PWL4 = 3n << 3n;
export const EPTP_PWL5 = 4n << 3n;

/** TD_PARAMS byte offsets (1024 bytes, include/tdx_api_defs.h td_params_t). */
export const TdParamsOffset = {
  ATTRIBUTES: 0,
  XFAM: 8,
  MAX_VCPUS: 16,
  NUM_L2_VMS: 18,
  MSR_CONFIG_CTLS: 19,
  RESERVED_0: 20,
  EPTP_CONTROLS: 24,
  CONFIG_FLAGS: 32,
  TSC_FREQUENCY: 40,
  RESERVED_1: 42,
  MRCONFIGID: 80,
  MROWNER: 128,
  MROWNERCONFIG: 176,
  IA32_ARCH_CAPABILITIES_CONFIG: 224,
  RESERVED_2: 232,
  CPUID_CONFIG: 256,
  RESERVED_3: 448,
} as const;
export const TD_PARAMS_SIZE = 1024;
/** Number of CPUID_CONFIG entries in tdx_1.5. */
export const MAX_NUM_CPUID_CONFIG = 12;
/** Leaf/subleaf of each CPUID_CONFIG slot (subleaf 0xFFFFFFFF = no subleaf); spec §11.3. */
export const CPUID_CONFIG_LEAVES: ReadonlyArray<readonly [number, number]> = [
  [0x1, 0xffffffff],
  [0x4, 0],
  [0x4, 1],
  [0x4, 2],
  [0x4, 3],
  [0x7, 0],
  [0x7, 1],
  [0xa, 0xffffffff],
  [0x1c, 0xffffffff],
  [0x80000008, 0xffffffff],
  [0x7, 2],
  [0x23, 0],
];
/** TSC_FREQUENCY is in units of 25 MHz; valid range 4..400 (100 MHz .. 10 GHz). */
export const TSC_FREQUENCY_UNIT_HZ = 25_000_000;
export const TSC_FREQUENCY_MIN = 4;
export const TSC_FREQUENCY_MAX = 400;
