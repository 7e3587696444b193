// The module's internal state and the checks every SEAMCALL shares: explicit page operands (alignment,
// TDMR range, PAMT type), TDR lookup, the TD build-state check and the op-state permission table.
import type { HostPhysicalMemory, PrivateKeyAccess } from "@tdxsim/memory";
import { SeamcallLeaf as L } from "./abi/leaves.js";
import {
  HkidState,
  MIN_NUM_TDCS_PAGES,
  PAGE_SIZE_4K,
  PageType,
  TdLifecycle,
  TdOpState,
} from "./abi/pages.js";
import { S } from "./abi/status.js";
import type { HashProvider } from "./hash.js";
import type { PlatformIdentity } from "./measurement.js";
import { SysMetadata } from "./metadata-access.js";
import { Pamt, type Tdmr } from "./pamt.js";
import type { TdState, VcpuStateData } from "./td-state.js";

/** What a leaf returns inside the module: compact status plus the output registers it sets. */
export interface LeafResult {
  status: number;
  rcx?: bigint;
  rdx?: bigint;
  r8?: bigint;
  r9?: bigint;
  r10?: bigint;
  r11?: bigint;
}

const SUCCESS: LeafResult = Object.freeze({ status: S.TDX_SUCCESS });
/** TDX_SUCCESS with the given output registers (one shared frozen object when there are none). */
export const ok = (extra?: Omit<LeafResult, "status">): LeafResult =>
  extra ? { status: S.TDX_SUCCESS, ...extra } : SUCCESS;
export const err = (status: number, extra: Omit<LeafResult, "status"> = {}): LeafResult => ({
  status,
  ...extra,
});

/** Highest physical-address width the simulated platform supports (MAX_PA). */
export const MAX_PA = 52;
/**
 * KeyID bits sit at the top of the physical address: 6 bits (64 KeyIDs) from bit 46, so the host sees
 * 46 usable address bits (what KVM calls x86_phys_bits) and tags a page with HKID as pa | hkid << 46.
 */
export const KEYID_SHIFT = 46;
/** Page operands must have KeyID bits (51:46) clear: every HPA is below this. */
const HPA_KEYID_LIMIT = 2 ** KEYID_SHIFT;

/** SEAMCALL leaves allowed per TDCS op state (tdx_1.5 op_state_lookup.c, spec §7.3). */
const OP_STATE_ALLOWED_SETS: Record<number, ReadonlySet<number>> = {
  [TdOpState.OP_STATE_UNINITIALIZED]: new Set([L.TDH_MNG_ADDCX, L.TDH_MNG_INIT, L.TDH_VP_FLUSH]),
  [TdOpState.OP_STATE_INITIALIZED]: new Set([
    L.TDH_MEM_PAGE_ADD,
    L.TDH_MR_EXTEND,
    L.TDH_MR_FINALIZE,
    L.TDH_VP_CREATE,
    L.TDH_VP_ADDCX,
    L.TDH_VP_INIT,
    L.TDH_MEM_SEPT_ADD,
    L.TDH_MEM_PAGE_AUG,
    L.TDH_MEM_RANGE_BLOCK,
    L.TDH_MEM_RANGE_UNBLOCK,
    L.TDH_MEM_TRACK,
    L.TDH_MEM_PAGE_REMOVE,
    L.TDH_MEM_SEPT_REMOVE,
    L.TDH_MEM_PAGE_PROMOTE,
    L.TDH_MEM_PAGE_DEMOTE,
    L.TDH_MNG_RD,
    L.TDH_MNG_WR,
    L.TDH_VP_RD,
    L.TDH_VP_WR,
    L.TDH_VP_FLUSH,
  ]),
  [TdOpState.OP_STATE_RUNNABLE]: new Set([
    L.TDH_VP_ENTER,
    L.TDH_MEM_SEPT_ADD,
    L.TDH_MEM_PAGE_AUG,
    L.TDH_MEM_RANGE_BLOCK,
    L.TDH_MEM_RANGE_UNBLOCK,
    L.TDH_MEM_TRACK,
    L.TDH_MEM_PAGE_REMOVE,
    L.TDH_MEM_SEPT_REMOVE,
    L.TDH_MEM_PAGE_PROMOTE,
    L.TDH_MEM_PAGE_DEMOTE,
    L.TDH_MNG_RD,
    L.TDH_MNG_WR,
    L.TDH_VP_RD,
    L.TDH_VP_WR,
    L.TDH_VP_FLUSH,
  ]),
};

/** The same table as flags, indexed opState * 64 + leaf (checked on every TD leaf). */
const OP_STATE_ALLOWED = (() => {
  const t = new Uint8Array(8 * 64);
  for (const [opState, leaves] of Object.entries(OP_STATE_ALLOWED_SETS))
    for (const leaf of leaves) t[Number(opState) * 64 + leaf] = 1;
  return t;
})();

/** What tdr()/tdForLeaf() return: the TD, or the status when there is none. */
export interface TdLookup {
  status: number;
  td?: TdState;
}

export interface ModuleOptions {
  /** Private KeyIDs: [first, first + count). Default 1..63. */
  privateKeyIds?: { first: number; count: number };
  /** The TDX global private KeyID (encrypts TDRs); default the first private KeyID. */
  globalKeyId?: number;
  /** Memory TDX may use (TDMRs); default all of host memory. */
  tdmrs?: Tdmr[];
  /** Simulated platform identity and report-MAC key. */
  platform?: Partial<PlatformIdentity>;
  hash?: HashProvider;
}

export class ModuleContext {
  readonly pamt: Pamt;
  readonly tds = new Map<number, TdState>();
  readonly vcpus = new Map<number, VcpuStateData>();
  /** KOT: HkidState per KeyID. */
  readonly kot = new Map<number, number>();
  readonly firstPrivateKeyId: number;
  readonly privateKeyIdCount: number;
  readonly globalKeyId: number;
  readonly sys: SysMetadata;

  constructor(
    readonly memory: HostPhysicalMemory,
    readonly priv: PrivateKeyAccess,
    readonly hash: HashProvider,
    readonly platform: PlatformIdentity,
    options: ModuleOptions,
  ) {
    this.pamt = new Pamt(options.tdmrs ?? [{ base: 0, size: memory.size }]);
    this.firstPrivateKeyId = options.privateKeyIds?.first ?? 1;
    this.privateKeyIdCount = options.privateKeyIds?.count ?? 63;
    this.globalKeyId = options.globalKeyId ?? this.firstPrivateKeyId;
    this.kot.set(this.globalKeyId, HkidState.HKID_ASSIGNED);
    this.sys = new SysMetadata({ major: 1, minor: 5, update: 1 }, memory.size);
  }

  isPrivateKeyId(hkid: number): boolean {
    return hkid >= this.firstPrivateKeyId && hkid < this.firstPrivateKeyId + this.privateKeyIdCount;
  }

  /** Alignment and range checks of a host-physical operand (no PAMT). */
  checkHpa(hpa: number, operand: number, align = PAGE_SIZE_4K): number {
    // HKID bits must be zero in explicit page operands.
    if (!Number.isSafeInteger(hpa) || hpa < 0 || hpa >= HPA_KEYID_LIMIT || hpa % align !== 0)
      return S.TDX_OPERAND_INVALID + operand;
    if (!this.pamt.covers(hpa) || hpa + align > this.memory.size)
      return S.TDX_OPERAND_ADDR_RANGE_ERROR + operand;
    return S.TDX_SUCCESS;
  }

  /** An explicit 4 KiB page operand that must have PAMT type `pt`. */
  checkPage(hpa: number, operand: number, pt: number): number {
    const s = this.checkHpa(hpa, operand);
    if (s !== S.TDX_SUCCESS) return s;
    if (this.pamt.pt(hpa) !== pt) return S.TDX_PAGE_METADATA_INCORRECT + operand;
    return S.TDX_SUCCESS;
  }

  /** The TD whose TDR is at `hpa` (operand checks on the way). */
  tdr(hpa: number, operand: number): TdLookup {
    const r = this.lookup;
    const s = this.checkPage(hpa, operand, PageType.PT_TDR);
    r.status = s;
    r.td = s === S.TDX_SUCCESS ? this.tds.get(hpa) : undefined;
    return r;
  }
  /** tdr()'s result, reused on every call (callers destructure it at once): no allocation per leaf. */
  private readonly lookup: TdLookup = { status: 0, td: undefined };

  /** check_td_in_correct_build_state: not fatal, keys configured, TDCS allocated. */
  buildState(td: TdState): number {
    if (td.fatal) return S.TDX_TD_FATAL;
    if (td.lifecycle !== TdLifecycle.TD_KEYS_CONFIGURED) return S.TDX_TD_KEYS_NOT_CONFIGURED;
    if (td.tdcxPages.length < MIN_NUM_TDCS_PAGES) return S.TDX_TDCS_NOT_ALLOCATED;
    return S.TDX_SUCCESS;
  }

  opState(td: TdState, leaf: number): number {
    return leaf < 64 && OP_STATE_ALLOWED[td.opState * 64 + leaf] === 1
      ? S.TDX_SUCCESS
      : S.TDX_OP_STATE_INCORRECT;
  }

  /** TDR + build state + op state, the preamble of most TD leaves. */
  tdForLeaf(tdrHpa: number, operand: number, leaf: number): TdLookup {
    const r = this.tdr(tdrHpa, operand);
    if (!r.td) return r;
    let s = this.buildState(r.td);
    if (s === S.TDX_SUCCESS) s = this.opState(r.td, leaf);
    if (s !== S.TDX_SUCCESS) {
      r.status = s;
      r.td = undefined;
    }
    return r;
  }

  /**
   * TDH.VP.ENTER holds the TDVPS lock exclusively for the whole TD run (VcpuStateData.running), so a
   * SEAMCALL reaching that TDVPR meanwhile (a host callback re-entering the module while the guest
   * runs — the one way this single-threaded simulator overlaps two module calls) finds it taken.
   */
  /** TDX_OPERAND_BUSY with `operand` when the vCPU at `tdvpr` (a checked TDVPR) is running, else TDX_SUCCESS. */
  tdvpsLock(tdvpr: number, operand: number): number {
    return this.vcpus.get(tdvpr)?.running ? S.TDX_OPERAND_BUSY + operand : S.TDX_SUCCESS;
  }

  /** Assigns a fresh page to a TD (PAMT + private-KeyID initialisation). */
  assignPage(hpa: number, pt: number, owner: number, keyId: number, level = 0): Uint8Array {
    this.pamt.assign(hpa, pt, owner, level);
    return this.priv.initPage(hpa, keyId);
  }

  /** Bumped whenever a page is released: page bytes cached across calls are stale after that. */
  pageGeneration = 0;

  /** Returns a page to PT_NDA, zeroed and back under KeyID 0. */
  releasePage(hpa: number): void {
    this.pageGeneration++;
    this.pamt.free(hpa);
    this.priv.releasePage(hpa);
  }
}
