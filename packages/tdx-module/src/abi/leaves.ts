// SEAMCALL (host, TDH.*) and TDCALL (guest, TDG.*) leaf numbers: RAX bits 15:0, version in 23:16.
// Source: intel/tdx-module tdx_1.5 include/tdx_api_defs.h (see shared/spec/tdx-abi.md §1.2, §7.1).

export const SeamcallLeaf = {
  TDH_VP_ENTER: 0,
  TDH_MNG_ADDCX: 1,
  TDH_MEM_PAGE_ADD: 2,
  TDH_MEM_SEPT_ADD: 3,
  TDH_VP_ADDCX: 4,
  TDH_MEM_PAGE_RELOCATE: 5,
  TDH_MEM_PAGE_AUG: 6,
  TDH_MEM_RANGE_BLOCK: 7,
  TDH_MNG_KEY_CONFIG: 8,
  TDH_MNG_CREATE: 9,
  TDH_VP_CREATE: 10,
  TDH_MNG_RD: 11,
  TDH_MEM_RD: 12,
  TDH_MNG_WR: 13,
  TDH_MEM_WR: 14,
  TDH_MEM_PAGE_DEMOTE: 15,
  TDH_MR_EXTEND: 16,
  TDH_MR_FINALIZE: 17,
  TDH_VP_FLUSH: 18,
  TDH_MNG_VPFLUSHDONE: 19,
  TDH_MNG_KEY_FREEID: 20,
  TDH_MNG_INIT: 21,
  TDH_VP_INIT: 22,
  TDH_MEM_PAGE_PROMOTE: 23,
  TDH_PHYMEM_PAGE_RDMD: 24,
  TDH_MEM_SEPT_RD: 25,
  TDH_VP_RD: 26,
  TDH_MNG_KEY_RECLAIMID: 27,
  TDH_PHYMEM_PAGE_RECLAIM: 28,
  TDH_MEM_PAGE_REMOVE: 29,
  TDH_MEM_SEPT_REMOVE: 30,
  TDH_SYS_KEY_CONFIG: 31,
  TDH_SYS_INFO: 32,
  TDH_SYS_INIT: 33,
  TDH_SYS_RD: 34,
  TDH_SYS_LP_INIT: 35,
  TDH_SYS_TDMR_INIT: 36,
  TDH_SYS_RDALL: 37,
  TDH_MEM_TRACK: 38,
  TDH_MEM_RANGE_UNBLOCK: 39,
  TDH_PHYMEM_CACHE_WB: 40,
  TDH_PHYMEM_PAGE_WBINVD: 41,
  TDH_MEM_SEPT_WR: 42,
  TDH_VP_WR: 43,
  TDH_SYS_LP_SHUTDOWN: 44,
  TDH_SYS_CONFIG: 45,
  TDH_SERVTD_BIND: 48,
  TDH_SERVTD_PREBIND: 49,
  TDH_SYS_SHUTDOWN: 52,
  TDH_SYS_UPDATE: 53,
} as const;
export type SeamcallLeafName = keyof typeof SeamcallLeaf;

export const TdcallLeaf = {
  TDG_VP_VMCALL: 0,
  TDG_VP_INFO: 1,
  TDG_MR_RTMR_EXTEND: 2,
  TDG_VP_VEINFO_GET: 3,
  TDG_MR_REPORT: 4,
  TDG_VP_CPUIDVE_SET: 5,
  TDG_MEM_PAGE_ACCEPT: 6,
  TDG_VM_RD: 7,
  TDG_VM_WR: 8,
  TDG_VP_RD: 9,
  TDG_VP_WR: 10,
  TDG_SYS_RD: 11,
  TDG_SYS_RDALL: 12,
  TDG_SERVTD_RD: 18,
  TDG_SERVTD_WR: 20,
  TDG_MR_VERIFYREPORT: 22,
  TDG_MEM_PAGE_ATTR_RD: 23,
  TDG_MEM_PAGE_ATTR_WR: 24,
  TDG_VP_ENTER: 25,
  TDG_VP_INVEPT: 26,
  TDG_VP_INVVPID: 27,
} as const;
export type TdcallLeafName = keyof typeof TdcallLeaf;

function invert(table: Record<string, number>): Map<number, string> {
  return new Map(
    Object.entries(table).map(([k, v]) => [v, k.replace(/_/g, ".").replace(/^(TD[HG])\./, "$1.")]),
  );
}
const seamcallNames = invert(SeamcallLeaf);
const tdcallNames = invert(TdcallLeaf);

/** "TDH.MEM.PAGE.ADD" for 2. */
export function seamcallLeafName(leaf: number): string {
  return seamcallNames.get(leaf) ?? `SEAMCALL leaf ${leaf}`;
}
/** "TDG.MEM.PAGE.ACCEPT" for 6. */
export function tdcallLeafName(leaf: number): string {
  return tdcallNames.get(leaf) ?? `TDCALL leaf ${leaf}`;
}
