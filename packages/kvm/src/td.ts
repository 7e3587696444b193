// KVM's per-TD state (struct kvm_tdx) and the TDX sub-commands that drive the TDX module, in the
// order 6.16's arch/x86/kvm/vmx/tdx.c issues SEAMCALLs (spec/tdx-abi.md §7.5; kvm-api.md §1):
// INIT_VM → HKID, TDR, MNG.CREATE / KEY.CONFIG / ADDCX / INIT; INIT_VCPU → VP.CREATE / ADDCX /
// INIT; INIT_MEM_REGION → SEPT.ADD, PAGE.ADD, MR.EXTEND; FINALIZE → MR.FINALIZE; teardown →
// VP.FLUSH, VPFLUSHDONE, CACHE.WB, KEY.FREEID, then PHYMEM.PAGE.RECLAIM of everything.

import type { SparseMemory } from "@tdxsim/memory";
import {
  buildTdParams,
  ConfigFlag,
  decodeTdxStatus,
  EPTP_MEMTYPE_WB,
  EPTP_PWL4,
  EPTP_PWL5,
  TdFieldId,
  TdxStatus,
} from "@tdxsim/tdx-module";
import { KvmError } from "./errors.js";
import { KVM_MAX_TDP_LEVEL } from "./supported-cpuid.js";
import { TdMmu } from "./td-mmu.js";
import { check, isOperandInvalid, seamcallError, statusClass } from "./td-seamcall.js";
import { TdSharedEpt } from "./td-shared-ept.js";
import { tdxSharedBit } from "./tdvmcall.js";
import {
  computeTdxCapabilities,
  KVM_TDX_CPUID_NO_SUBLEAF,
  readTdxInitMemRegion,
  readTdxInitVm,
  type TdxCapabilities,
  type TdxInitVm,
  writeBackTdxInitMemRegion,
  writeTdxCapabilities,
  writeTdxGetCpuid,
} from "./tdx-args.js";
import type { TdxCmd } from "./tdx-cmd.js";
import { KVM_SUPPORTED_XCR0_XSS, type TdxHost, tdxHostOf } from "./tdx-host.js";
import { KvmMpState } from "./uapi/constants.js";
import { KVM_MAX_CPUID_ENTRIES, type KvmCpuidEntry2 } from "./uapi/structs.js";
import { checkUserRange } from "./user-memory.js";
import type { Vcpu } from "./vcpu.js";
import type { Vm } from "./vm.js";

const PAGE = 4096;
const ZERO_PAGE = new Uint8Array(PAGE);
const hexOf = (n: number) => `0x${n.toString(16)}`;
/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX */
const SIGNIFICANT_INDEX = 1;
/** The simulated host's TSC: 2.5 GHz, in TD_PARAMS' 25 MHz units (KVM passes the default TSC kHz). */
export const TD_DEFAULT_TSC_FREQUENCY = 100;

/** TDVPR + TDCX pages of one TD vCPU (struct vcpu_tdx). */
export interface TdVcpuPages {
  tdvpr: number;
  tdcx: number[];
}

export class TdControl {
  readonly tdx: TdxHost;
  hkid = -1;
  tdr = 0;
  readonly tdcs: number[] = [];
  gpaw: 48 | 52 = 48;
  septLevels = 4;
  hkidReleased = false;
  readonly mmu: TdMmu;
  /** The shared half: shared GPAs → the memslots' userspace memory. */
  readonly sharedEpt: TdSharedEpt;
  readonly vcpuPages = new Map<number, TdVcpuPages>();
  private caps: TdxCapabilities | undefined;

  constructor(readonly vm: Vm) {
    this.tdx = tdxHostOf(vm.host);
    this.mmu = new TdMmu(this);
    this.sharedEpt = new TdSharedEpt(vm.memory, () => 2 ** this.sharedBit);
  }

  /** KVM zaps a range (conversion, punch, close, slot change): the private side, the shared side or both. */
  zap(start: number, end: number, filter: "private" | "shared" | "all"): void {
    if (filter !== "shared") this.mmu.zap(start, end);
    if (filter !== "private") this.sharedEpt.zap(start, end);
  }

  get module() {
    return this.tdx.module;
  }
  get memory() {
    return this.tdx.memory;
  }
  get sharedBit(): number {
    return tdxSharedBit(this.gpaw);
  }
  get hasHkid(): boolean {
    return this.hkid >= 0 && !this.hkidReleased;
  }
  bug(): void {
    this.vm.td.bugged();
  }

  /** What KVM_TDX_CAPABILITIES reports (init_kvm_tdx_caps over the module's TD configuration). */
  capabilities(): TdxCapabilities {
    this.caps ??= computeTdxCapabilities(this.tdx.tdConf, KVM_SUPPORTED_XCR0_XSS);
    return this.caps;
  }

  // ---- VM-scope sub-commands ----

  /** KVM_TDX_CAPABILITIES */
  getCapabilities(cmd: TdxCmd, user = this.vm.process.userMemory): void {
    writeTdxCapabilities(user, cmd.data, cmd.flags, this.capabilities());
  }

  /** KVM_TDX_INIT_VM (tdx_td_init) */
  initVm(cmd: TdxCmd, user = this.vm.process.userMemory): void {
    this.vm.td.checkInitVm(this.vm.createdVcpus);
    const caps = this.capabilities();
    const init = readTdxInitVm(user, cmd.data, cmd.flags, {
      supportedAttrs: caps.supportedAttrs,
      supportedXfam: caps.supportedXfam,
      fiveLevelEpt: KVM_MAX_TDP_LEVEL >= 5,
      cpuidConfigs: this.tdx.tdConf.cpuidConfigs.map((c) => ({
        leaf: c.leaf,
        subleaf: c.subleaf === KVM_TDX_CPUID_NO_SUBLEAF ? -1 : c.subleaf,
      })),
    });
    const params = this.tdParams(init);
    const hkid = this.tdx.allocHkid();
    const { module, memory } = this;
    const tdr = memory.allocPage();
    const created = module.tdhMngCreate(tdr, hkid);
    if (created.status !== 0n) {
      memory.freePage(tdr);
      this.tdx.freeHkid(hkid);
      throw seamcallError("TDH.MNG.CREATE", created);
    }
    this.hkid = hkid;
    this.tdr = tdr;
    const sharedEpt = this.sharedEpt;
    module.setSharedEpt(tdr, (gpa) => sharedEpt.lookup(gpa));
    try {
      check("TDH.MNG.KEY.CONFIG", module.tdhMngKeyConfig(tdr));
      for (let i = 0; i < this.tdx.tdcsPages; i++) {
        const page = memory.allocPage();
        this.tdcs.push(page);
        check("TDH.MNG.ADDCX", module.tdhMngAddcx(page, tdr));
      }
      const paramsPage = memory.allocPage();
      memory.host.writeBytes(paramsPage, params);
      const out = module.tdhMngInit(tdr, paramsPage);
      memory.freePage(paramsPage);
      if (out.status !== 0n) {
        // TD_PARAMS rejected: EINVAL with the operand in hw_error (the VMM's fault); else EIO
        if (isOperandInvalid(out.status)) {
          throw new KvmError(
            "EINVAL",
            `TDH.MNG.INIT refused TD_PARAMS: ${decodeTdxStatus(out.status)} (hw_error 0x${out.status.toString(16)})`,
            { hwError: out.status },
          );
        }
        throw seamcallError("TDH.MNG.INIT", out);
      }
    } catch (e) {
      this.teardown();
      throw e;
    }
    this.vm.memory.setSharedGpaBit(this.sharedBit);
    this.vm.td.initialized();
  }

  /** TD_PARAMS from kvm_tdx_init_vm (setup_tdparams): fixed1 bits OR'ed in, CPUID per module slot. */
  private tdParams(init: TdxInitVm): Uint8Array {
    const conf = this.tdx.tdConf;
    this.gpaw = init.gpaw;
    this.septLevels = init.gpaw === 52 ? 5 : 4;
    const values = new Uint32Array(4 * conf.cpuidConfigs.length);
    conf.cpuidConfigs.forEach((c, i) => {
      const e = init.cpuid.find(
        (x) => x.function === c.leaf && (c.subleaf === KVM_TDX_CPUID_NO_SUBLEAF || x.index === c.subleaf),
      );
      if (!e) return;
      // KVM clears the GPAW field of 0x80000008: the module derives it from EPTP/GPAW config
      const eax = c.leaf === 0x80000008 ? e.eax & ~0xff0000 : e.eax;
      values.set([eax >>> 0, e.ebx >>> 0, e.ecx >>> 0, e.edx >>> 0], 4 * i);
    });
    return buildTdParams({
      attributes: init.attributes | conf.attributesFixed1,
      xfam: init.xfam | conf.xfamFixed1,
      maxVcpus: this.vm.maxVcpus,
      eptpControls: EPTP_MEMTYPE_WB | (init.gpaw === 52 ? EPTP_PWL5 : EPTP_PWL4),
      configFlags: ConfigFlag.NO_RBP_MOD | (init.gpaw === 52 ? ConfigFlag.GPAW : 0n),
      tscFrequency: TD_DEFAULT_TSC_FREQUENCY,
      mrConfigId: init.mrconfigid,
      mrOwner: init.mrowner,
      mrOwnerConfig: init.mrownerconfig,
      cpuidValues: values,
    });
  }

  /** KVM_TDX_FINALIZE_VM (tdx_td_finalize): MR.FINALIZE; OPERAND_BUSY → EBUSY, else KVM_BUG_ON → EIO. */
  finalize(_cmd: TdxCmd): void {
    // flags and data are documented as 0 but tdx_td_finalize (6.16) does not check them
    this.vm.td.checkFinalize(0);
    check("TDH.MR.FINALIZE", this.module.tdhMrFinalize(this.tdr), () => this.bug());
    this.vm.td.runnable();
  }

  /** KVM_TDX_TERMINATE_VM: release the HKID now (pages then come back by RECLAIM) and kill the VM. */
  terminate(_cmd: TdxCmd): void {
    // like FINALIZE, flags and data are not checked (tdx_terminate_vm)
    this.vm.td.terminate(false);
    this.releaseHkid();
  }

  // ---- vCPU-scope sub-commands ----

  /** KVM_TDX_INIT_VCPU (tdx_vcpu_init): data = the guest's initial RCX; SEAMCALL failure → bug, EIO. */
  initVcpu(vcpu: Vcpu, cmd: TdxCmd): void {
    if (cmd.flags !== 0)
      throw new KvmError("EINVAL", `kvm_tdx_cmd.flags ${cmd.flags} must be 0`, {
        field: "kvm_tdx_cmd.flags",
      });
    if (vcpu.tdInitialized) throw new KvmError("EINVAL", `vCPU ${vcpu.id} is already initialized`);
    // KVM puts the vCPU in x2APIC mode (kvm_apic_set_base), which fails unless KVM_SET_CPUID2 gave it x2APIC
    if (!vcpu.cpuidModel.hasX2apic) {
      throw new KvmError(
        "EINVAL",
        `vCPU ${vcpu.id}: the CPUID model (KVM_SET_CPUID2) lacks x2APIC (CPUID.1:ECX[21]), which a TD requires`,
      );
    }
    const { module, memory } = this;
    const bug = () => this.bug();
    const tdvpr = memory.allocPage();
    const pages: TdVcpuPages = { tdvpr, tdcx: [] };
    const created = module.tdhVpCreate(tdvpr, this.tdr);
    if (created.status !== 0n) {
      memory.freePage(tdvpr);
      throw seamcallError("TDH.VP.CREATE", created, bug);
    }
    this.vcpuPages.set(vcpu.id, pages);
    for (let i = 0; i < this.tdx.tdvpsPages - 1; i++) {
      const page = memory.allocPage();
      pages.tdcx.push(page);
      check("TDH.VP.ADDCX", module.tdhVpAddcx(page, tdvpr), bug);
    }
    check("TDH.VP.INIT", module.tdhVpInit(tdvpr, cmd.data, vcpu.id), bug);
    vcpu.tdInitialized = true;
    vcpu.mpState = KvmMpState.RUNNABLE;
  }

  /**
   * KVM_TDX_GET_CPUID (tdx_vcpu_get_cpuid): TD-scope metadata, so it works before INIT_VCPU too;
   * 6.16 checks neither flags nor the vCPU's state here.
   */
  getCpuid(_vcpu: Vcpu, cmd: TdxCmd, user = this.vm.process.userMemory): void {
    const entries: KvmCpuidEntry2[] = [];
    const walk = (first: number) => {
      const head = this.readCpuid(first, undefined);
      if (!head) throw new KvmError("EIO", `TDH.MNG.RD of CPUID leaf 0x${first.toString(16)} failed`);
      const last = head.eax >>> 0;
      for (let leaf = first; leaf <= last && entries.length < KVM_MAX_CPUID_ENTRIES; leaf++) {
        this.cpuidLeaf(leaf, entries);
      }
    };
    walk(0);
    walk(0x80000000);
    for (const e of entries) {
      if (e.function === 0x80000008) e.eax = ((e.eax & ~0xff0000) | (this.gpaw << 16)) >>> 0;
    }
    writeTdxGetCpuid(user, cmd.data, entries);
  }

  /** tdx_vcpu_get_cpuid_leaf: without a subleaf first; if that fails, subleaves 0.. until one fails. */
  private cpuidLeaf(leaf: number, out: KvmCpuidEntry2[]): void {
    const plain = this.readCpuid(leaf, undefined);
    if (plain) {
      out.push(plain);
      return;
    }
    for (let sub = 0; sub < 128 && out.length < KVM_MAX_CPUID_ENTRIES; sub++) {
      const e = this.readCpuid(leaf, sub);
      if (!e) return;
      out.push(e);
    }
  }

  private readCpuid(leaf: number, subleaf: number | undefined): KvmCpuidEntry2 | undefined {
    // CPUID_VALUES field code: bit 0 element, 7:1 subleaf, 8 SUBLEAF_NA, 15:9 leaf[6:0], 16 leaf bit 31
    const code =
      (subleaf === undefined ? 1 << 8 : (subleaf & 0x7f) << 1) | ((leaf & 0x7f) << 9) | ((leaf >>> 31) << 16);
    const lo = this.module.tdhMngRd(this.tdr, TdFieldId.CPUID_VALUES | BigInt(code));
    if (lo.status !== 0n) return undefined;
    const hi = this.module.tdhMngRd(this.tdr, TdFieldId.CPUID_VALUES | BigInt(code | 1));
    if (hi.status !== 0n) return undefined;
    const a = lo.r8 ?? 0n;
    const c = hi.r8 ?? 0n;
    return {
      function: leaf,
      index: subleaf ?? 0,
      flags: subleaf === undefined ? 0 : SIGNIFICANT_INDEX,
      eax: Number(a & 0xffffffffn),
      ebx: Number(a >> 32n),
      ecx: Number(c & 0xffffffffn),
      edx: Number(c >> 32n),
      padding: [0, 0, 0],
    };
  }

  /**
   * KVM_TDX_INIT_MEM_REGION (tdx_vcpu_init_mem_region + kvm_gmem_populate): page by page, the
   * source from the caller's memory, the GPA checked private and guest_memfd-backed (EINVAL),
   * an already populated page → EEXIST, SEPT.ADD + PAGE.ADD (+ MR.EXTEND × 16 when MEASURE). The
   * advanced struct is written back at the end, also after an error, so the caller can resume.
   */
  initMemRegion(vcpu: Vcpu, cmd: TdxCmd, user = this.vm.process.userMemory): void {
    if (!vcpu.tdInitialized)
      throw new KvmError("EINVAL", `vCPU ${vcpu.id} is not initialized (KVM_TDX_INIT_VCPU)`);
    const r = readTdxInitMemRegion(user, cmd.data, cmd.flags, this.sharedBit);
    // Real KVM hands PAGE.ADD the pinned user page itself; the VMM's memory here is not host-physical,
    // so each page goes through one KeyID-0 bounce page, reused for the whole call.
    const bounce = this.memory.allocPage();
    try {
      let gpa = Number(r.gpa);
      let source = Number(r.sourceAddr);
      while (r.nrPages > 0n) {
        this.populatePage(gpa, source, r.measure, user, bounce);
        gpa += PAGE;
        source += PAGE;
        r.sourceAddr += BigInt(PAGE);
        r.gpa += BigInt(PAGE);
        r.nrPages -= 1n;
      }
    } finally {
      this.memory.freePage(bounce);
      writeBackTdxInitMemRegion(user, cmd.data, r);
    }
  }

  private populatePage(
    gpa: number,
    sourceAddr: number,
    measure: boolean,
    user: SparseMemory,
    bounce: number,
  ): void {
    const slot = this.vm.memory.slots.find(gpa);
    const gmem = slot?.guestMemfd;
    if (!slot || !gmem)
      throw new KvmError("EINVAL", `gpa ${hexOf(gpa)} is not in a guest_memfd memslot`, {
        field: "kvm_tdx_init_mem_region.gpa",
      });
    if (!this.vm.memory.attributes.isPrivate(gpa))
      throw new KvmError("EINVAL", `gpa ${hexOf(gpa)} is not private (KVM_SET_MEMORY_ATTRIBUTES)`, {
        field: "kvm_tdx_init_mem_region.gpa",
      });
    const index = slot.gmemFirstIndex + Math.floor(gpa / PAGE) - slot.baseGfn;
    if (gmem.bindingOf(index) !== slot)
      throw new KvmError("EFAULT", `gpa ${hexOf(gpa)}: the memslot's guest_memfd was closed`);
    if (gmem.peekPfn(index) !== undefined)
      throw new KvmError("EEXIST", `gpa ${hexOf(gpa)} is already populated`, {
        field: "kvm_tdx_init_mem_region.gpa",
      });
    // copy_from_user straight into the bounce page (a page the VMM never wrote reads as zeros)
    const at = checkUserRange(user, sourceAddr, PAGE, "kvm_tdx_init_mem_region.source_addr");
    this.memory.host.writeBytes(bounce, user.peekPage(at / PAGE) ?? ZERO_PAGE);
    const hpa = this.vm.memory.privatePfn(gpa);
    this.mmu.addPage(gpa, hpa, bounce);
    if (measure) {
      const { module, tdr } = this;
      for (let off = 0; off < PAGE; off += 256) {
        const out = module.tdhMrExtend(gpa + off, tdr);
        if (out.status !== 0n) check("TDH.MR.EXTEND", out, () => this.bug());
      }
    }
  }

  // ---- teardown ----

  /**
   * tdx_mmu_release_hkid: VP.FLUSH every vCPU, MNG.VPFLUSHDONE, PHYMEM.CACHE.WB, MNG.KEY.FREEID; the
   * HKID goes back to the allocator. Afterwards pages are reclaimed with PHYMEM.PAGE.RECLAIM.
   */
  releaseHkid(): void {
    if (this.hkid < 0 || this.hkidReleased) return;
    const { module } = this;
    for (const p of this.vcpuPages.values()) {
      const out = module.tdhVpFlush(p.tdvpr);
      // VCPU_NOT_ASSOCIATED: never entered or already flushed — nothing to flush
      if (out.status !== 0n && statusClass(out.status) !== TdxStatus.TDX_VCPU_NOT_ASSOCIATED)
        check("TDH.VP.FLUSH", out);
    }
    check("TDH.MNG.VPFLUSHDONE", module.tdhMngVpflushdone(this.tdr));
    check("TDH.PHYMEM.CACHE.WB", module.tdhPhymemCacheWb(0n));
    check("TDH.MNG.KEY.FREEID", module.tdhMngKeyFreeid(this.tdr));
    this.hkidReleased = true;
    this.tdx.freeHkid(this.hkid);
  }

  /** Destroy: release the HKID, reclaim private and SEPT pages, vCPU pages, TDCS, then the TDR. */
  teardown(): void {
    if (this.tdr === 0) return;
    const { module, memory } = this;
    if (!this.hkidReleased) {
      try {
        this.releaseHkid();
      } catch {
        // the TD cannot be torn down cleanly: KVM leaks the pages (and here the HKID)
        this.tdr = 0;
        this.hkid = -1;
        return;
      }
    }
    this.mmu.reclaimAll();
    const reclaim = (page: number) => {
      check("TDH.PHYMEM.PAGE.RECLAIM", module.tdhPhymemPageReclaim(page));
      memory.freePage(page);
    };
    for (const p of this.vcpuPages.values()) {
      for (const c of p.tdcx) reclaim(c);
      reclaim(p.tdvpr);
    }
    this.vcpuPages.clear();
    for (const c of this.tdcs) reclaim(c);
    this.tdcs.length = 0;
    reclaim(this.tdr);
    this.tdr = 0;
    this.hkid = -1;
    this.hkidReleased = false;
  }
}
