// The TDX module: owns the private-KeyID capability of host memory, the PAMT, every TD, and offers the
// SEAMCALL host API in two shapes — raw registers (`seamcall`) and typed methods named after the leaves
// (`tdhMemPageAdd`...) — plus the per-vCPU guest side (TdVcpu) the CPU drives.
import type { HostPhysicalMemory } from "@tdxsim/memory";
import { GPR_NAMES } from "@tdxsim/x86";
import { SeamcallLeaf as L } from "./abi/leaves.js";
import { PageType } from "./abi/pages.js";
import { decodeTdxStatus, OperandId as Op, S, statusToBigInt } from "./abi/status.js";
import { type LeafResult, ModuleContext, type ModuleOptions } from "./context.js";
import { defaultHash } from "./hash.js";
import * as mem from "./host/mem.js";
import * as mng from "./host/mng.js";
import { tdhMemSeptRd, tdhPhymemPageRdmd } from "./host/sept-rd.js";
import * as vp from "./host/vp.js";
import { type TdGuestExecutor, tdhVpEnter } from "./host/vp-enter.js";
import type { PlatformIdentity } from "./measurement.js";
import type { SharedEpt } from "./td-memory.js";
import type { VcpuStateData } from "./td-state.js";
import { TdVcpu } from "./td-vcpu.js";

/** SEAMCALL registers (API edge: BigInt). Inputs not given are 0. */
export interface SeamcallRegs {
  rax: bigint;
  rbx?: bigint;
  rsi?: bigint;
  rdi?: bigint;
  rbp?: bigint;
  rcx?: bigint;
  rdx?: bigint;
  r8?: bigint;
  r9?: bigint;
  r10?: bigint;
  r11?: bigint;
  r12?: bigint;
  r13?: bigint;
  r14?: bigint;
  r15?: bigint;
}

/** A typed leaf's result: the 64-bit status and the output registers the leaf defines. */
export interface SeamcallOutput {
  status: bigint;
  rcx?: bigint;
  rdx?: bigint;
  r8?: bigint;
  r9?: bigint;
  r10?: bigint;
  r11?: bigint;
}

const NO_OUTPUT: SeamcallOutput = Object.freeze({ status: 0n });

function toOutput(r: LeafResult): SeamcallOutput {
  if (r.status === 0 && r.rcx === undefined && r.rdx === undefined && r.r8 === undefined) return NO_OUTPUT;
  const out: SeamcallOutput = { status: statusToBigInt(r.status) };
  if (r.rcx !== undefined) out.rcx = r.rcx;
  if (r.rdx !== undefined) out.rdx = r.rdx;
  if (r.r8 !== undefined) out.r8 = r.r8;
  if (r.r9 !== undefined) out.r9 = r.r9;
  if (r.r10 !== undefined) out.r10 = r.r10;
  if (r.r11 !== undefined) out.r11 = r.r11;
  return out;
}

/** A 64-bit operand as a number, or NaN when it does not fit in 2^53 (rejected by the checks). */
function num(v: bigint | undefined): number {
  const b = v ?? 0n;
  return b >= 0n && b < 1n << 53n ? Number(b) : Number.NaN;
}

/** Splits page_info (GPA | level): reserved bits 11:3 and 63:52 must be 0. */
function pageInfo(rcx: bigint | undefined): { gpa: number; level: number } | undefined {
  const v = rcx ?? 0n;
  if ((v & 0xff8n) !== 0n || v >> 52n !== 0n) return undefined;
  return { gpa: Number(v & 0x000f_ffff_ffff_f000n), level: Number(v & 7n) };
}

const encoder = new TextEncoder();
function fixedBytes(label: string, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(encoder.encode(label).subarray(0, n));
  return b;
}

let readInternals: (m: TdxModule) => ModuleContext;

export class TdxModule {
  // ES-private: the host can reach the module's state only through SEAMCALLs (DESIGN decision 3).
  readonly #ctx: ModuleContext;
  #guestAccessTaken = false;

  static {
    readInternals = (m) => m.#ctx;
  }
  readonly #runtime = new Map<VcpuStateData, TdVcpu>();

  constructor(memory: HostPhysicalMemory, options: ModuleOptions = {}) {
    const hash = options.hash ?? defaultHash();
    const platform: PlatformIdentity = {
      cpuSvn: options.platform?.cpuSvn ?? fixedBytes("tdxsim-cpusvn", 16),
      teeTcbSvn: options.platform?.teeTcbSvn ?? fixedBytes("tdxsim-tcbsvn", 16),
      mrSeam: options.platform?.mrSeam ?? hash.sha384(encoder.encode("tdxsim simulated TDX module 1.5")),
      reportMacKey:
        options.platform?.reportMacKey ?? hash.sha384(encoder.encode("tdxsim simulated report MAC key")),
    };
    this.#ctx = new ModuleContext(memory, memory.takePrivateKeyAccess(), hash, platform, options);
  }

  // ---- raw interface ----

  /** SEAMCALL with raw registers: RAX = leaf | version << 16. Returns RAX (status) and the outputs. */
  seamcall(regs: SeamcallRegs): Required<SeamcallRegs> {
    const out: Required<SeamcallRegs> = {
      rax: 0n,
      rbx: 0n,
      rsi: 0n,
      rdi: 0n,
      rbp: 0n,
      rcx: 0n,
      rdx: 0n,
      r8: 0n,
      r9: 0n,
      r10: 0n,
      r11: 0n,
      r12: 0n,
      r13: 0n,
      r14: 0n,
      r15: 0n,
    };
    this.#lastEnterOut = undefined;
    const r = this.#dispatch(regs);
    out.rax = statusToBigInt(r.status);
    const enterOut = this.#lastEnterOut as Int32Array | undefined;
    if (enterOut) {
      // TDH.VP.ENTER: every GPR but RAX/RSP comes from the TD exit.
      const o = out as unknown as Record<string, bigint>;
      for (let i = 1; i < 16; i++) {
        if (i === 4) continue;
        o[GPR_NAMES[i]] = (BigInt(enterOut[2 * i + 1] >>> 0) << 32n) | BigInt(enterOut[2 * i] >>> 0);
      }
      return out;
    }
    if (r.rcx !== undefined) out.rcx = r.rcx;
    if (r.rdx !== undefined) out.rdx = r.rdx;
    if (r.r8 !== undefined) out.r8 = r.r8;
    if (r.r9 !== undefined) out.r9 = r.r9;
    if (r.r10 !== undefined) out.r10 = r.r10;
    if (r.r11 !== undefined) out.r11 = r.r11;
    return out;
  }

  #dispatch(regs: SeamcallRegs): LeafResult {
    const rax = regs.rax;
    const invalidRax: LeafResult = { status: S.TDX_OPERAND_INVALID + Op.RAX };
    if (rax >> 24n !== 0n || rax < 0n) return invalidRax;
    const leaf = Number(rax & 0xffffn);
    const version = Number((rax >> 16n) & 0xffn);
    if (version > (leaf === L.TDH_VP_INIT ? 1 : 0)) return invalidRax;
    const ctx = this.#ctx;
    const rcx = num(regs.rcx);
    const rdx = num(regs.rdx);
    const r8 = num(regs.r8);
    const r9 = num(regs.r9);
    const withPageInfo = (f: (gpa: number, level: number) => LeafResult): LeafResult => {
      const p = pageInfo(regs.rcx);
      return p ? f(p.gpa, p.level) : { status: S.TDX_OPERAND_INVALID + Op.RCX };
    };
    switch (leaf) {
      case L.TDH_SYS_INFO:
        return mng.tdhSysInfo(ctx, rcx, rdx, r8, r9);
      case L.TDH_SYS_RD:
        return mng.tdhSysRd(ctx, regs.rdx ?? 0n);
      case L.TDH_MNG_CREATE:
        return mng.tdhMngCreate(ctx, rcx, rdx);
      case L.TDH_MNG_KEY_CONFIG:
        return mng.tdhMngKeyConfig(ctx, rcx);
      case L.TDH_MNG_ADDCX:
        return mng.tdhMngAddcx(ctx, rcx, rdx);
      case L.TDH_MNG_INIT:
        return mng.tdhMngInit(ctx, rcx, rdx);
      case L.TDH_MNG_RD:
        return mng.tdhMngRd(ctx, rcx, regs.rdx ?? 0n);
      case L.TDH_MNG_WR:
        return mng.tdhMngWr(ctx, rcx, regs.rdx ?? 0n, regs.r8 ?? 0n, regs.r9 ?? 0n);
      case L.TDH_MR_FINALIZE:
        return mng.tdhMrFinalize(ctx, rcx);
      case L.TDH_MNG_VPFLUSHDONE:
        return mng.tdhMngVpflushdone(ctx, rcx);
      case L.TDH_MNG_KEY_FREEID:
        return mng.tdhMngKeyFreeid(ctx, rcx);
      case L.TDH_PHYMEM_PAGE_RECLAIM:
        return mng.tdhPhymemPageReclaim(ctx, rcx);
      case L.TDH_PHYMEM_CACHE_WB:
        return mng.tdhPhymemCacheWb(ctx, regs.rcx ?? 0n);
      case L.TDH_PHYMEM_PAGE_WBINVD:
        return mng.tdhPhymemPageWbinvd(ctx, regs.rcx ?? 0n);
      case L.TDH_PHYMEM_PAGE_RDMD:
        return tdhPhymemPageRdmd(ctx, rcx);
      case L.TDH_VP_CREATE:
        return vp.tdhVpCreate(ctx, rcx, rdx);
      case L.TDH_VP_ADDCX:
        return vp.tdhVpAddcx(ctx, rcx, rdx);
      case L.TDH_VP_INIT:
        return vp.tdhVpInit(ctx, rcx, regs.rdx ?? 0n, version === 1 ? r8 : undefined);
      case L.TDH_VP_RD:
        return this.#vpRd(rcx, regs.rdx ?? 0n);
      case L.TDH_VP_WR:
        return this.#vpWr(rcx, regs.rdx ?? 0n, regs.r8 ?? 0n, regs.r9 ?? 0n);
      case L.TDH_VP_FLUSH:
        return vp.tdhVpFlush(ctx, rcx);
      case L.TDH_MEM_SEPT_ADD:
        return withPageInfo((gpa, level) => mem.tdhMemSeptAdd(ctx, gpa, level, rdx, r8));
      case L.TDH_MEM_SEPT_REMOVE:
        return withPageInfo((gpa, level) => mem.tdhMemSeptRemove(ctx, gpa, level, rdx));
      case L.TDH_MEM_SEPT_RD:
        return withPageInfo((gpa, level) => tdhMemSeptRd(ctx, gpa, level, rdx));
      case L.TDH_MEM_PAGE_ADD:
        return withPageInfo((gpa, level) => mem.tdhMemPageAdd(ctx, gpa, level, rdx, r8, r9));
      case L.TDH_MR_EXTEND:
        return mem.tdhMrExtend(ctx, rcx, rdx);
      case L.TDH_MEM_PAGE_AUG:
        return withPageInfo((gpa, level) => mem.tdhMemPageAug(ctx, gpa, level, rdx, r8));
      case L.TDH_MEM_RANGE_BLOCK:
        return withPageInfo((gpa, level) => mem.tdhMemRangeBlock(ctx, gpa, level, rdx));
      case L.TDH_MEM_RANGE_UNBLOCK:
        return withPageInfo((gpa, level) => mem.tdhMemRangeUnblock(ctx, gpa, level, rdx));
      case L.TDH_MEM_TRACK:
        return mem.tdhMemTrack(ctx, rcx);
      case L.TDH_MEM_PAGE_REMOVE:
        return withPageInfo((gpa, level) => mem.tdhMemPageRemove(ctx, gpa, level, rdx));
      case L.TDH_MEM_PAGE_PROMOTE:
        return withPageInfo((gpa, level) => mem.tdhMemPagePromote(ctx, gpa, level, rdx));
      case L.TDH_MEM_PAGE_DEMOTE:
        return withPageInfo((gpa, level) => mem.tdhMemPageDemote(ctx, gpa, level, rdx, r8));
      case L.TDH_VP_ENTER: {
        const host = new Int32Array(32);
        for (const [i, name] of GPR_NAMES.entries()) {
          const v = (regs as unknown as Record<string, bigint | undefined>)[name] ?? 0n;
          host[2 * i] = Number(v & 0xffffffffn) | 0;
          host[2 * i + 1] = Number((v >> 32n) & 0xffffffffn) | 0;
        }
        const out = new Int32Array(32);
        const status = this.enter(rcx, host, out);
        this.#lastEnterOut = out;
        return { status };
      }
      default:
        // Leaves not modelled: SYS.INIT/LP.INIT/TDMR setup (the module starts initialised), migration,
        // service TDs, TDH.MEM.RD/WR, PAGE.RELOCATE.
        return invalidRax;
    }
  }

  #lastEnterOut: Int32Array | undefined;
  #executor: TdGuestExecutor | undefined;
  /** Instruction budget per TDH.VP.ENTER (decision 6: a runaway guest returns to the host). */
  enterBudget = 1_000_000;

  /** Attaches the x86 core that runs TD vCPUs for TDH.VP.ENTER. */
  setGuestExecutor(executor: TdGuestExecutor): void {
    this.#executor = executor;
  }

  /**
   * TDH.VP.ENTER without BigInt: `hostGpr` (lo/hi pairs, x86 order) carries the host's answer to a
   * pending VP.VMCALL; `out` receives the host registers after the TD exit. Returns the compact status
   * (for a TD exit: TDX_SUCCESS + exit reason); `statusToBigInt` gives RAX.
   */
  enter(tdvpr: number, hostGpr: Int32Array | undefined, out: Int32Array): number {
    return tdhVpEnter(this.#ctx, tdvpr, this.#runtimeOf, this.#executor, this.enterBudget, hostGpr, out);
  }

  // ---- typed interface ----

  tdhSysInfo(infoPa: number, infoSize: number, cmrPa: number, cmrEntries: number): SeamcallOutput {
    return toOutput(mng.tdhSysInfo(this.#ctx, infoPa, infoSize, cmrPa, cmrEntries));
  }
  tdhSysRd(fieldId: bigint): SeamcallOutput {
    return toOutput(mng.tdhSysRd(this.#ctx, fieldId));
  }
  tdhMngCreate(tdr: number, hkid: number): SeamcallOutput {
    return toOutput(mng.tdhMngCreate(this.#ctx, tdr, hkid));
  }
  tdhMngKeyConfig(tdr: number): SeamcallOutput {
    return toOutput(mng.tdhMngKeyConfig(this.#ctx, tdr));
  }
  tdhMngAddcx(tdcx: number, tdr: number): SeamcallOutput {
    return toOutput(mng.tdhMngAddcx(this.#ctx, tdcx, tdr));
  }
  /** `tdParams` = HPA of the 1024-byte TD_PARAMS in host (shared) memory. */
  tdhMngInit(tdr: number, tdParams: number): SeamcallOutput {
    return toOutput(mng.tdhMngInit(this.#ctx, tdr, tdParams));
  }
  tdhMngRd(tdr: number, fieldId: bigint): SeamcallOutput {
    return toOutput(mng.tdhMngRd(this.#ctx, tdr, fieldId));
  }
  tdhMngWr(tdr: number, fieldId: bigint, value: bigint, mask: bigint): SeamcallOutput {
    return toOutput(mng.tdhMngWr(this.#ctx, tdr, fieldId, value, mask));
  }
  tdhMrFinalize(tdr: number): SeamcallOutput {
    return toOutput(mng.tdhMrFinalize(this.#ctx, tdr));
  }
  tdhMngVpflushdone(tdr: number): SeamcallOutput {
    return toOutput(mng.tdhMngVpflushdone(this.#ctx, tdr));
  }
  tdhMngKeyFreeid(tdr: number): SeamcallOutput {
    return toOutput(mng.tdhMngKeyFreeid(this.#ctx, tdr));
  }
  tdhPhymemPageReclaim(page: number): SeamcallOutput {
    return toOutput(mng.tdhPhymemPageReclaim(this.#ctx, page));
  }
  tdhPhymemCacheWb(command: bigint): SeamcallOutput {
    return toOutput(mng.tdhPhymemCacheWb(this.#ctx, command));
  }
  /** `taggedPa` = pa | hkid << 46. */
  tdhPhymemPageWbinvd(taggedPa: bigint): SeamcallOutput {
    return toOutput(mng.tdhPhymemPageWbinvd(this.#ctx, taggedPa));
  }
  tdhPhymemPageRdmd(page: number): SeamcallOutput {
    return toOutput(tdhPhymemPageRdmd(this.#ctx, page));
  }
  tdhVpCreate(tdvpr: number, tdr: number): SeamcallOutput {
    return toOutput(vp.tdhVpCreate(this.#ctx, tdvpr, tdr));
  }
  tdhVpAddcx(tdcx: number, tdvpr: number): SeamcallOutput {
    return toOutput(vp.tdhVpAddcx(this.#ctx, tdcx, tdvpr));
  }
  /** Version 1 when `x2apicId` is given (as KVM 6.16 calls it). */
  tdhVpInit(tdvpr: number, initialRcx: bigint, x2apicId?: number): SeamcallOutput {
    return toOutput(this.#afterVpInit(tdvpr, vp.tdhVpInit(this.#ctx, tdvpr, initialRcx, x2apicId)));
  }
  tdhVpRd(tdvpr: number, fieldId: bigint): SeamcallOutput {
    return toOutput(this.#vpRd(tdvpr, fieldId));
  }
  tdhVpWr(tdvpr: number, fieldId: bigint, value: bigint, mask: bigint): SeamcallOutput {
    return toOutput(this.#vpWr(tdvpr, fieldId, value, mask));
  }
  tdhVpFlush(tdvpr: number): SeamcallOutput {
    return toOutput(vp.tdhVpFlush(this.#ctx, tdvpr));
  }
  tdhMemSeptAdd(gpa: number, level: number, tdr: number, septPage: number): SeamcallOutput {
    return toOutput(mem.tdhMemSeptAdd(this.#ctx, gpa, level, tdr, septPage));
  }
  tdhMemSeptRemove(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemSeptRemove(this.#ctx, gpa, level, tdr));
  }
  tdhMemSeptRd(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(tdhMemSeptRd(this.#ctx, gpa, level, tdr));
  }
  tdhMemPageAdd(gpa: number, level: number, tdr: number, page: number, source: number): SeamcallOutput {
    return toOutput(mem.tdhMemPageAdd(this.#ctx, gpa, level, tdr, page, source));
  }
  tdhMrExtend(gpa: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMrExtend(this.#ctx, gpa, tdr));
  }
  tdhMemPageAug(gpa: number, level: number, tdr: number, page: number): SeamcallOutput {
    return toOutput(mem.tdhMemPageAug(this.#ctx, gpa, level, tdr, page));
  }
  tdhMemRangeBlock(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemRangeBlock(this.#ctx, gpa, level, tdr));
  }
  tdhMemRangeUnblock(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemRangeUnblock(this.#ctx, gpa, level, tdr));
  }
  tdhMemTrack(tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemTrack(this.#ctx, tdr));
  }
  tdhMemPageRemove(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemPageRemove(this.#ctx, gpa, level, tdr));
  }
  tdhMemPagePromote(gpa: number, level: number, tdr: number): SeamcallOutput {
    return toOutput(mem.tdhMemPagePromote(this.#ctx, gpa, level, tdr));
  }
  tdhMemPageDemote(gpa: number, level: number, tdr: number, septPage: number): SeamcallOutput {
    return toOutput(mem.tdhMemPageDemote(this.#ctx, gpa, level, tdr, septPage));
  }

  // ---- guest side ----

  /**
   * The guest side, for the x86 core only: a one-time capability (like the private-KeyID access of host
   * memory) that hands out TdVcpu handles — TDCALL, translate() into private pages, the register file.
   * The executor attached with setGuestExecutor also receives the handle on every TDH.VP.ENTER.
   */
  takeGuestAccess(): GuestAccess {
    if (this.#guestAccessTaken) throw new Error("the TDX module's guest access has already been taken");
    this.#guestAccessTaken = true;
    return { vcpu: (tdvpr) => this.#vcpu(tdvpr) };
  }

  /** The guest-side handle of an initialised vCPU (undefined for anything else). */
  #vcpu(tdvpr: number): TdVcpu | undefined {
    const ctx = this.#ctx;
    const v =
      ctx.pamt.covers(tdvpr) && ctx.pamt.pt(tdvpr) === PageType.PT_TDVPR ? ctx.vcpus.get(tdvpr) : undefined;
    if (!v || v.vcpuIndex < 0) return undefined;
    return this.#runtimeFor(v);
  }

  /** Installs the host's shared-EPT translation for a TD (the shared half of its GPA space). */
  setSharedEpt(tdr: number, sharedEpt: SharedEpt): void {
    const td = this.#ctx.tds.get(tdr);
    if (!td) throw new RangeError(`0x${tdr.toString(16)} is not a TDR`);
    for (const rt of this.#runtime.values()) if (rt.state.td === td) rt.memory.sharedEpt = sharedEpt;
    this.#sharedEpts.set(td.tdrHpa, sharedEpt);
  }
  readonly #sharedEpts = new Map<number, SharedEpt>();

  readonly #gprAccess: vp.GprAccess = {
    read: (v, reg) => this.#runtimeFor(v).readGpr(reg),
    write: (v, reg, val) => this.#runtimeFor(v).writeGpr(reg, val),
  };
  #vpRd(tdvpr: number, fieldId: bigint): LeafResult {
    return vp.tdhVpRd(this.#ctx, tdvpr, fieldId, this.#gprAccess);
  }
  #vpWr(tdvpr: number, fieldId: bigint, value: bigint, mask: bigint): LeafResult {
    return vp.tdhVpWr(this.#ctx, tdvpr, fieldId, value, mask, this.#gprAccess);
  }
  readonly #runtimeOf = (v: VcpuStateData): TdVcpu => this.#runtimeFor(v);
  #runtimeFor(v: VcpuStateData): TdVcpu {
    let rt = this.#runtime.get(v);
    if (!rt) {
      rt = new TdVcpu(this.#ctx, v);
      rt.memory.sharedEpt = this.#sharedEpts.get(v.td.tdrHpa);
      this.#runtime.set(v, rt);
    }
    return rt;
  }

  #afterVpInit(tdvpr: number, r: LeafResult): LeafResult {
    if (r.status === S.TDX_SUCCESS) {
      const v = this.#ctx.vcpus.get(tdvpr);
      if (v) this.#runtime.get(v)?.reset();
    }
    return r;
  }
}

export { decodeTdxStatus };

/** What takeGuestAccess() returns. */
export interface GuestAccess {
  vcpu(tdvpr: number): TdVcpu | undefined;
}

/**
 * @internal The module's state, for this package's invariant checks (tests, fuzzer). Not exported from
 * the package entry point, so hosts cannot reach it.
 */
export function moduleInternals(m: TdxModule): ModuleContext {
  return readInternals(m);
}
