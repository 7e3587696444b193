// PAMT page types, Secure-EPT entry states, TD lifecycle/op states and page levels.
// Sources: shared/spec/tdx-abi.md §7.4 (SEPT public states), tdx-module pamt_manager.h (page types).

/** PAMT page type (pamt_entry_t.pt). */
export const PageType = {
  PT_NDA: 0,
  PT_RSVD: 1,
  PT_REG: 3,
  PT_TDR: 4,
  PT_TDCX: 5,
  PT_TDVPR: 6,
  PT_EPT: 8,
} as const;
export type PageTypeValue = (typeof PageType)[keyof typeof PageType];
const pageTypeNames = new Map<number, string>(Object.entries(PageType).map(([k, v]) => [v, k]));
export function pageTypeName(pt: number): string {
  return pageTypeNames.get(pt) ?? `PT_${pt}`;
}

/** Page levels (page_info_api_input_t.level / PAMT size). */
export const PageLevel = { L4K: 0, L2M: 1, L1G: 2, L512G: 3, L256T: 4 } as const;
export const PAGE_SIZE_4K = 0x1000;
export const PAGE_SIZE_2M = 0x20_0000;
export const PAGE_SIZE_1G = 0x4000_0000;
/** Bytes mapped by an entry at `level`. */
const LEVEL_SIZES = [
  PAGE_SIZE_4K,
  PAGE_SIZE_4K * 512,
  PAGE_SIZE_4K * 512 ** 2,
  PAGE_SIZE_4K * 512 ** 3,
  PAGE_SIZE_4K * 512 ** 4,
];
export function levelSize(level: number): number {
  return LEVEL_SIZES[level] ?? PAGE_SIZE_4K * 512 ** level;
}

/** Architectural ("public") Secure-EPT entry states (sept_state_lookup.h). */
export const SeptState = {
  FREE: 0,
  BLOCKED: 1,
  PENDING: 2,
  PENDING_BLOCKED: 3,
  MAPPED: 4,
  REMOVED: 5,
  NL_BLOCKED: 0x81,
  NL_MAPPED: 0x84,
} as const;
export type SeptStateValue = (typeof SeptState)[keyof typeof SeptState];
const septStateNames = new Map<number, string>(Object.entries(SeptState).map(([k, v]) => [v, k]));
export function septStateName(state: number): string {
  return septStateNames.get(state) ?? `SEPT_STATE_${state}`;
}
export const LEGAL_SEPT_STATES: ReadonlySet<number> = new Set(Object.values(SeptState));

/** TDR.LIFECYCLE_STATE. */
export const TdLifecycle = {
  TD_HKID_ASSIGNED: 0,
  TD_KEYS_CONFIGURED: 1,
  TD_BLOCKED: 2,
  TD_TEARDOWN: 3,
} as const;

/** TDCS.OP_STATE (the migration states are not modelled). */
export const TdOpState = {
  OP_STATE_UNINITIALIZED: 0,
  OP_STATE_INITIALIZED: 1,
  OP_STATE_RUNNABLE: 2,
} as const;

/** KOT (key ownership table) entry states. */
export const HkidState = {
  HKID_FREE: 0,
  HKID_ASSIGNED: 1,
  HKID_FLUSHED: 2,
} as const;

/** TDVPS.VCPU_STATE. */
export const VcpuState = {
  VCPU_UNINITIALIZED: 0,
  VCPU_READY: 1,
  VCPU_ACTIVE: 2,
  VCPU_DISABLED: 3,
} as const;

/** Minimum TDCS pages (MNG.ADDCX) and TDVPS pages (TDVPR + VP.ADDCX) in tdx_1.5 (UNCONFIRMED: the module
 * reports the real counts through TDH.SYS.RD TDCS_BASE_SIZE / TDVPS_BASE_SIZE; these are the values
 * KVM 6.16 reads on SPR-class platforms). */
export const MIN_NUM_TDCS_PAGES = 6;
export const MIN_NUM_TDVPS_PAGES = 6;
