// TDVPS fields a TD reads and writes with TDG.VP.RD / TDG.VP.WR (leaves 9/10). The guest masks follow
// tdx_1.5 tdvps_fields_lookup.c: VCPU_INDEX is guest-readable, CPUID_SUPERVISOR_VE / CPUID_USER_VE
// (the bytes TDG.VP.CPUIDVE.SET also sets) guest-readable and -writable. Other TDVPS fields the module
// models (VE_INFO, guest GPRs, VCPU_STATE, PEND_NMI, XFAM...) exist but have guest masks 0; L2 fields
// (L2_CTLS, TSC_DEADLINE) are absent because this module has no L2 VMs.

import { fieldKey } from "./abi/metadata.js";
import { S } from "./abi/status.js";
import type { MdResult } from "./metadata-access.js";
import type { VcpuStateData } from "./td-state.js";

const NONE = 0xffff_ffff_ffff_ffffn;

/** TDVPS field ids (full form, context VP). */
export const TdvpsFieldId = {
  VCPU_INDEX: 0xa020000200000002n,
  CPUID_SUPERVISOR_VE: 0xa020000000000007n,
  CPUID_USER_VE: 0xa020000000000008n,
} as const;

interface GuestField {
  id: bigint;
  rd: bigint;
  wr: bigint;
  read(v: VcpuStateData): bigint;
  write?(v: VcpuStateData, value: bigint): void;
}

function setCpuidVeByte(v: VcpuStateData, which: 0 | 1, value: bigint): void {
  v.cpuidVeBytes[which] = Number(value & 0xffn);
  v.cpuidVe = (v.cpuidVeBytes[0] !== 0 ? 1 : 0) | (v.cpuidVeBytes[1] !== 0 ? 2 : 0);
}

/** Guest-readable fields in lookup-table order (the order TDG.VP.RD's next field id follows). */
const GUEST_FIELDS: readonly GuestField[] = [
  { id: TdvpsFieldId.VCPU_INDEX, rd: 0xffff_ffffn, wr: 0n, read: (v) => BigInt(v.vcpuIndex) },
  {
    id: TdvpsFieldId.CPUID_SUPERVISOR_VE,
    rd: 0xffn,
    wr: 0xffn,
    read: (v) => BigInt(v.cpuidVeBytes[0]),
    write: (v, value) => setCpuidVeByte(v, 0, value),
  },
  {
    id: TdvpsFieldId.CPUID_USER_VE,
    rd: 0xffn,
    wr: 0xffn,
    read: (v) => BigInt(v.cpuidVeBytes[1]),
    write: (v, value) => setCpuidVeByte(v, 1, value),
  },
];

/** TDVPS fields that exist with guest masks 0 (class:field keys as fieldKey spells them). */
const GUEST_HIDDEN = new Set(
  [
    0x0220000200000000n, // VE_INFO.EXIT_REASON
    0x0220000200000001n, // VE_INFO.VALID
    0x0220000300000002n, // VE_INFO.EXIT_QUALIFICATION
    0x0220000300000003n, // VE_INFO.GLA
    0x0220000300000004n, // VE_INFO.GPA
    0xa020000000000000n, // VCPU_STATE
    0xa020000000000003n, // NUM_TDVPS_PAGES
    0xa020000200000004n, // ASSOC_LPID
    0xa020000300000006n, // VCPU_EPOCH
    0x202000000000000bn, // PEND_NMI
    0x202000030000000cn, // XFAM
    ...Array.from({ length: 16 }, (_, r) => 0x1020000300000000n + BigInt(r)), // guest GPRs
  ].map((id) => fieldKey(id)!),
);

const byKey = new Map(GUEST_FIELDS.map((f, index) => [fieldKey(f.id)!, { f, index }]));

function nextId(index: number): bigint {
  // UNCONFIRMED: the real table continues with L2 fields; without L2 VMs the walk ends here.
  return index + 1 < GUEST_FIELDS.length ? GUEST_FIELDS[index + 1].id : NONE;
}

/** The first guest-readable TDVPS field (TDG.VP.RD with a null field id). */
export function firstVpGuestFieldId(): bigint {
  return GUEST_FIELDS[0].id;
}

/** TDG.VP.RD of `id`: value, status and the next readable field id. */
export function vpGuestFieldRead(v: VcpuStateData, id: bigint): MdResult {
  const key = fieldKey(id);
  const loc = key === undefined ? undefined : byKey.get(key);
  if (!loc) {
    const status =
      key !== undefined && GUEST_HIDDEN.has(key)
        ? S.TDX_METADATA_FIELD_NOT_READABLE
        : S.TDX_METADATA_FIELD_ID_INCORRECT;
    return { status, value: 0n, next: NONE };
  }
  return { status: S.TDX_SUCCESS, value: loc.f.read(v) & loc.f.rd, next: nextId(loc.index) };
}

/** TDG.VP.WR: new = (old & ~m) | (value & m), m = guest-writable & request mask; returns the old value. */
export function vpGuestFieldWrite(
  v: VcpuStateData,
  id: bigint,
  value: bigint,
  requestMask: bigint,
): MdResult {
  const key = fieldKey(id);
  const loc = key === undefined ? undefined : byKey.get(key);
  if (!loc) {
    const status =
      key !== undefined && GUEST_HIDDEN.has(key)
        ? S.TDX_METADATA_FIELD_NOT_WRITABLE
        : S.TDX_METADATA_FIELD_ID_INCORRECT;
    return { status, value: 0n, next: NONE };
  }
  const f = loc.f;
  const m = f.wr & requestMask;
  if (m === 0n || !f.write) return { status: S.TDX_METADATA_FIELD_NOT_WRITABLE, value: 0n, next: NONE };
  const old = f.read(v);
  // Requested bits outside the writable mask must keep their value (e.g. above a byte field's size).
  const forbidden = requestMask & ~f.wr;
  if ((value & forbidden) !== (old & forbidden))
    return { status: S.TDX_METADATA_FIELD_VALUE_NOT_VALID, value: 0n, next: NONE };
  f.write(v, (old & ~m) | (value & m));
  return { status: S.TDX_SUCCESS, value: old, next: NONE };
}
