// Metadata fields behind TDH.MNG.RD/WR, TDG.VM.RD/WR (TD context) and TDH.SYS.RD/TDG.SYS.RD (SYS context):
// lookup by class + field code (context and element size are ignored on input), per-caller read and
// write masks, and the write rule new = (old & ~mask) | (value & mask) (spec/tdx-abi.md §12).
import { fieldKey, SysFieldId, TdFieldId } from "./abi/metadata.js";
import { MIN_NUM_TDCS_PAGES, MIN_NUM_TDVPS_PAGES } from "./abi/pages.js";
import { S } from "./abi/status.js";
import {
  ATTRIBUTES_FIXED0,
  ATTRIBUTES_FIXED1,
  CONFIG_FLAGS_FIXED0,
  CONFIG_FLAGS_FIXED1,
  ConfigFlag,
  CPUID_CONFIG_LEAVES,
  MAX_NUM_CPUID_CONFIG,
  XFAM_FIXED0,
  XFAM_FIXED1,
} from "./abi/td-attributes.js";
import { configurableMask, tdCpuid } from "./cpuid.js";
import { MAX_VCPUS_PER_TD } from "./td-params.js";
import type { TdState } from "./td-state.js";

const ALL = 0xffff_ffff_ffff_ffffn;

export type Caller = "host" | "guest";

interface TdField {
  /** Full field id of element 0. */
  id: bigint;
  elements: number;
  read(td: TdState, element: number): bigint;
  guestRd: bigint;
  guestWr(td: TdState): bigint;
  hostRd: bigint;
  hostWr: bigint;
  write?(td: TdState, element: number, value: bigint): void;
}

function bytesQword(b: Uint8Array, element: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(8 * element, true);
}

const none = () => 0n;
const TD_FIELDS: TdField[] = [
  {
    id: TdFieldId.ATTRIBUTES,
    elements: 1,
    read: (td) => td.attributes,
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.XFAM,
    elements: 1,
    read: (td) => td.xfam,
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.MAX_VCPUS,
    elements: 1,
    read: (td) => BigInt(td.maxVcpus),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.GPAW,
    elements: 1,
    read: (td) => (td.gpaw === 52 ? 1n : 0n),
    guestRd: 0xffn,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.EPTP,
    elements: 1,
    read: (td) => td.eptp,
    guestRd: 0n,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.TSC_OFFSET,
    elements: 1,
    read: (td) => td.tscOffset,
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.TSC_MULTIPLIER,
    elements: 1,
    read: (td) => td.tscMultiplier,
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.TSC_FREQUENCY,
    elements: 1,
    read: (td) => BigInt(td.tscFrequency),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.NOTIFY_ENABLES,
    elements: 1,
    read: (td) => td.notifyEnables,
    guestRd: 1n,
    guestWr: () => 1n,
    hostRd: ALL,
    hostWr: 0n,
    write: (td, _e, v) => {
      td.notifyEnables = v;
    },
  },
  {
    id: TdFieldId.CONFIG_FLAGS,
    elements: 1,
    read: (td) => td.configFlags,
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.TD_CTLS,
    elements: 1,
    read: (td) => td.tdCtls,
    guestRd: ALL,
    // PENDING_VE_DISABLE is guest-writable only with CONFIG_FLAGS.FLEXIBLE_PENDING_VE (spec §3.3).
    guestWr: (td) => ((td.configFlags & ConfigFlag.FLEXIBLE_PENDING_VE) !== 0n ? 1n : 0n),
    hostRd: ALL,
    hostWr: 0n,
    write: (td, _e, v) => {
      td.tdCtls = v;
    },
  },
  {
    id: TdFieldId.NUM_VCPUS,
    elements: 1,
    read: (td) => BigInt(td.numVcpus),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.MRTD,
    elements: 6,
    read: (td, e) => bytesQword(td.mrtd, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.MRCONFIGID,
    elements: 6,
    read: (td, e) => bytesQword(td.mrConfigId, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.MROWNER,
    elements: 6,
    read: (td, e) => bytesQword(td.mrOwner, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.MROWNERCONFIG,
    elements: 6,
    read: (td, e) => bytesQword(td.mrOwnerConfig, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.RTMR,
    elements: 24,
    read: (td, e) => bytesQword(td.rtmr, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
  {
    id: TdFieldId.SERVTD_HASH,
    elements: 6,
    read: (td, e) => bytesQword(td.servtdHash, e),
    guestRd: ALL,
    guestWr: none,
    hostRd: ALL,
    hostWr: 0n,
  },
];

interface Located {
  field: TdField;
  element: number;
  index: number;
}
const tdIndex = new Map<string, Located>();
const tdOrder: { id: bigint }[] = [];
for (const field of TD_FIELDS) {
  for (let e = 0; e < field.elements; e++) {
    const id = field.id + BigInt(e);
    tdIndex.set(fieldKey(id)!, { field, element: e, index: tdOrder.length });
    tdOrder.push({ id });
  }
}

/**
 * CPUID_VALUES (class 20): the TD's virtual CPUID for any leaf the module handles (what KVM's
 * tdx_read_cpuid reads through TDH.MNG.RD). Field code: bit 0 element (0 → EBX:EAX, 1 → EDX:ECX), bits
 * 7:1 subleaf[6:0], bit 8 SUBLEAF_NA, bits 15:9 leaf[6:0], bit 16 leaf bit 31 (spec §12.1).
 */
function cpuidFieldValue(td: TdState, fieldCode: number): bigint | undefined {
  const element = fieldCode & 1;
  const subleafNa = (fieldCode >> 8) & 1;
  const subleaf = subleafNa ? 0 : (fieldCode >> 1) & 0x7f;
  const leaf = ((((fieldCode >> 16) & 1) << 31) | ((fieldCode >> 9) & 0x7f)) >>> 0;
  if (fieldCode >>> 17 !== 0) return undefined;
  const out = new Uint32Array(4);
  if (!tdCpuid(td, 0, 0, 0, leaf, subleaf, false, out)) return undefined;
  const lo = element === 0 ? out[0] : out[2];
  const hi = element === 0 ? out[1] : out[3];
  return (BigInt(hi) << 32n) | BigInt(lo);
}
const CPUID_VALUES_KEY_PREFIX = (() => {
  const k = fieldKey(TdFieldId.CPUID_VALUES)!;
  return k.slice(0, k.lastIndexOf(":") + 1);
})();

export interface MdResult {
  status: number;
  value: bigint;
  /** Next field id (TDG.VM.RD version 1, TDG.SYS.RD), −1 when none. */
  next: bigint;
}

function nextTdId(index: number): bigint {
  return index + 1 < tdOrder.length ? tdOrder[index + 1].id : ALL;
}

export function tdFieldRead(td: TdState, id: bigint, caller: Caller): MdResult {
  const key = fieldKey(id);
  if (key === undefined) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT, value: 0n, next: ALL };
  if (key.startsWith(CPUID_VALUES_KEY_PREFIX)) {
    const v = cpuidFieldValue(td, Number(id & 0xffffffn));
    if (v === undefined) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT, value: 0n, next: ALL };
    return { status: S.TDX_SUCCESS, value: v, next: ALL };
  }
  const loc = tdIndex.get(key);
  if (!loc) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT, value: 0n, next: ALL };
  const mask = caller === "guest" ? loc.field.guestRd : loc.field.hostRd;
  if (mask === 0n) return { status: S.TDX_METADATA_FIELD_NOT_READABLE, value: 0n, next: nextTdId(loc.index) };
  return { status: S.TDX_SUCCESS, value: loc.field.read(td, loc.element) & mask, next: nextTdId(loc.index) };
}

/** First TD-context field id (for a null field id in TDG.VM.RD version 1). */
export function firstTdFieldId(): bigint {
  return tdOrder[0].id;
}

/** new = (old & ~m) | (value & m), m = writable & requestMask; returns the old value. */
export function tdFieldWrite(
  td: TdState,
  id: bigint,
  value: bigint,
  requestMask: bigint,
  caller: Caller,
): MdResult {
  const key = fieldKey(id);
  const loc = key === undefined ? undefined : tdIndex.get(key);
  if (!loc) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT, value: 0n, next: ALL };
  const writable = caller === "guest" ? loc.field.guestWr(td) : loc.field.hostWr;
  const m = writable & requestMask;
  if (m === 0n || !loc.field.write)
    return { status: S.TDX_METADATA_FIELD_NOT_WRITABLE, value: 0n, next: ALL };
  const old = loc.field.read(td, loc.element);
  // Bits requested but not writable must keep their current value.
  const forbidden = requestMask & ~writable;
  if ((value & forbidden) !== (old & forbidden))
    return { status: S.TDX_METADATA_FIELD_VALUE_NOT_VALID, value: 0n, next: ALL };
  loc.field.write(td, loc.element, (old & ~m) | (value & m));
  return { status: S.TDX_SUCCESS, value: old, next: ALL };
}

// ---- SYS context ----

export interface ModuleVersion {
  major: number;
  minor: number;
  update: number;
}

export function sysFields(version: ModuleVersion, memorySize: number): { id: bigint; value: bigint }[] {
  const fields: { id: bigint; value: bigint }[] = [
    { id: SysFieldId.NUM_CMRS, value: 1n },
    { id: SysFieldId.CMR_BASE, value: 0n },
    { id: SysFieldId.CMR_SIZE, value: BigInt(memorySize) },
    { id: SysFieldId.VENDOR_ID, value: 0x8086n },
    { id: SysFieldId.MINOR_VERSION, value: BigInt(version.minor) },
    { id: SysFieldId.MAJOR_VERSION, value: BigInt(version.major) },
    { id: SysFieldId.UPDATE_VERSION, value: BigInt(version.update) },
    { id: SysFieldId.SYS_ATTRIBUTES, value: 0n },
    { id: SysFieldId.TDX_FEATURES0, value: 0n },
    { id: SysFieldId.MAX_TDMRS, value: 64n },
    { id: SysFieldId.MAX_RESERVED_PER_TDMR, value: 16n },
    { id: SysFieldId.PAMT_4K_ENTRY_SIZE, value: 16n },
    { id: SysFieldId.PAMT_2M_ENTRY_SIZE, value: 16n },
    { id: SysFieldId.PAMT_1G_ENTRY_SIZE, value: 16n },
    { id: SysFieldId.TDR_BASE_SIZE, value: 4096n },
    { id: SysFieldId.TDCS_BASE_SIZE, value: BigInt(MIN_NUM_TDCS_PAGES * 4096) },
    { id: SysFieldId.TDVPS_BASE_SIZE, value: BigInt(MIN_NUM_TDVPS_PAGES * 4096) },
    { id: SysFieldId.MAX_VCPUS_PER_TD, value: BigInt(MAX_VCPUS_PER_TD) },
    { id: SysFieldId.ATTRIBUTES_FIXED0, value: ATTRIBUTES_FIXED0 },
    { id: SysFieldId.ATTRIBUTES_FIXED1, value: ATTRIBUTES_FIXED1 },
    { id: SysFieldId.XFAM_FIXED0, value: XFAM_FIXED0 },
    { id: SysFieldId.XFAM_FIXED1, value: XFAM_FIXED1 },
    { id: SysFieldId.NUM_CPUID_CONFIG, value: BigInt(MAX_NUM_CPUID_CONFIG) },
    { id: SysFieldId.CONFIG_FLAGS_FIXED0, value: CONFIG_FLAGS_FIXED0 },
    { id: SysFieldId.CONFIG_FLAGS_FIXED1, value: CONFIG_FLAGS_FIXED1 },
    { id: SysFieldId.MAX_SERV_TDS, value: 0n },
  ];
  for (let i = 0; i < MAX_NUM_CPUID_CONFIG; i++) {
    const [leaf, subleaf] = CPUID_CONFIG_LEAVES[i];
    fields.push({
      id: SysFieldId.CPUID_CONFIG_LEAVES + BigInt(i),
      value: BigInt(leaf) | (BigInt(subleaf) << 32n),
    });
  }
  for (let i = 0; i < MAX_NUM_CPUID_CONFIG; i++) {
    const m = configurableMask(i);
    fields.push({
      id: SysFieldId.CPUID_CONFIG_VALUES + BigInt(2 * i),
      value: BigInt(m[0] >>> 0) | (BigInt(m[1] >>> 0) << 32n),
    });
    fields.push({
      id: SysFieldId.CPUID_CONFIG_VALUES + BigInt(2 * i + 1),
      value: BigInt(m[2] >>> 0) | (BigInt(m[3] >>> 0) << 32n),
    });
  }
  return fields;
}

export class SysMetadata {
  private readonly fields: { id: bigint; value: bigint }[];
  private readonly index = new Map<string, number>();
  constructor(version: ModuleVersion, memorySize: number) {
    this.fields = sysFields(version, memorySize);
    this.fields.forEach((f, i) => {
      this.index.set(fieldKey(f.id)!, i);
    });
  }
  /** Null id (all ones, context ignored) → first field with TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT. */
  read(id: bigint): MdResult {
    if ((id | (7n << 52n)) === ALL)
      return { status: S.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT, value: 0n, next: this.fields[0].id };
    const key = fieldKey(id);
    const i = key === undefined ? undefined : this.index.get(key);
    if (i === undefined) return { status: S.TDX_METADATA_FIELD_ID_INCORRECT, value: 0n, next: ALL };
    const next = i + 1 < this.fields.length ? this.fields[i + 1].id : ALL;
    return { status: S.TDX_SUCCESS, value: this.fields[i].value, next };
  }
}
