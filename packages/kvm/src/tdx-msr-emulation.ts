// KVM's MSR emulation for a TD vCPU (tdx_get_msr / tdx_set_msr over kvm_get/set_msr_common, 6.16):
// the MSRs on KVM's TDX allow-list (tdxHasEmulatedMsr, spec §4) with the values KVM keeps for them.
// Guest accesses come from RDMSR/WRMSR TDVMCALLs (host = false); KVM_GET/SET_MSRS are host-initiated
// (host = true), which some MSRs treat differently. APICBASE, EFER and FEAT_CTL are read-only even
// for the host (tdx_set_msr checks tdx_is_read_only_msr first).
import { KVM_MAX_MCE_BANKS, KvmMsrRet, type KvmMsrRetValue, TdxMsr, tdxHasEmulatedMsr } from "./msr-exits.js";
import { TdX2apic } from "./td-x2apic.js";
import type { Vcpu } from "./vcpu.js";

const M = TdxMsr;
const U64 = (1n << 64n) - 1n;

/** vcpu->arch.microcode_version at reset (0x100000000: "revision 1" in the upper half) */
export const KVM_RESET_MICROCODE_VERSION = 0x1_0000_0000n;
/** MSR_IA32_MISC_ENABLE at reset: PEBS_UNAVAIL (12) | BTS_UNAVAIL (11) */
export const KVM_RESET_MISC_ENABLE = 0x1800n;
/** MSR_IA32_CR_PAT at reset (MSR_IA32_CR_PAT_DEFAULT) */
export const KVM_RESET_PAT = 0x0007_0406_0007_0406n;
/** MSR_PLATFORM_INFO at reset: CPUID faulting supported (bit 31) */
export const PLATFORM_INFO_CPUID_FAULT = 1n << 31n;
/** EFER of a TD vCPU as KVM records it (tdx_vcpu_create): SCE | LME | LMA | NX */
export const TDX_VCPU_EFER = 0xd01n;
/** MSR_IA32_APICBASE: base 0xFEE00000, x2APIC (10) and xAPIC (11) enabled, BSP (8) on vCPU 0 */
const APIC_BASE = 0xfee0_0000n | (1n << 10n) | (1n << 11n);
const APIC_BASE_BSP = 1n << 8n;
const FEAT_CTL_LOCKED = 1n;
const FEAT_CTL_LMCE_ENABLED = 1n << 20n;
const MCG_CTL_P = 1n << 8n;
const MCG_CMCI_P = 1n << 10n;
const MCG_LMCE_P = 1n << 27n;
const MCG_EXT_CTL_LMCE_EN = 1n;
/** MCi_CTL2: CMCI_EN (30) | threshold (14:0) */
const MCI_CTL2_WRITABLE = (1n << 30n) | 0x7fffn;
/** MISC_ENABLE bits the guest may not change (PMU_RO_MASK) and bits whose writes are ignored (EMON) */
const MISC_ENABLE_PMU_RO = 0x1800n;
const MISC_ENABLE_EMON = 0x80n;
/** MTRRcap: SMRR 0, WC 1, FIX 1, VCNT KVM_NR_VAR_MTRR (8) */
export const KVM_NR_VAR_MTRR = 8;
export const KVM_MTRRCAP = 0x500n | BigInt(KVM_NR_VAR_MTRR);
/** The fixed-range MTRRs KVM keeps: 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000. */
const MTRR_FIXED = [0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f];
/**
 * kvm_get_arch_capabilities() on the simulated host, whose CPU has none of the bugs KVM checks for:
 * RDCL_NO (0) | SSB_NO (4) | MDS_NO (5) | PSCHANGE_MC_NO (6) | GDS_NO (26) | RFDS_NO (27); no TSX,
 * so no TAA_NO. (A real host adds what its own IA32_ARCH_CAPABILITIES reports.)
 */
export const KVM_ARCH_CAPABILITIES =
  (1n << 0n) | (1n << 4n) | (1n << 5n) | (1n << 6n) | (1n << 26n) | (1n << 27n);
/** MSR_KVM_POLL_CONTROL at reset: 1 (host-side haltpoll enabled) */
const POLL_CONTROL_RESET = 1n;

export type MsrRead = { ret: typeof KvmMsrRet.OK; data: bigint } | { ret: KvmMsrRetValue; data: 0n };

const ok = (data: bigint): MsrRead => ({ ret: KvmMsrRet.OK, data: data & U64 });
const fail = (ret: KvmMsrRetValue = KvmMsrRet.ERROR): MsrRead => ({ ret, data: 0n }) as MsrRead;

/** The MSR state KVM keeps for one TD vCPU (the allow-listed MSRs' part of struct kvm_vcpu_arch). */
export class TdMsrState {
  microcodeVersion = KVM_RESET_MICROCODE_VERSION;
  archCapabilities = KVM_ARCH_CAPABILITIES;
  powerCtl = 0n;
  pat = KVM_RESET_PAT;
  mtrrDefType = 0n;
  readonly mtrrFixed = new Array<bigint>(MTRR_FIXED.length).fill(0n);
  /** MTRRphysBase0/Mask0 .. Base7/Mask7 */
  readonly mtrrVar = new Array<bigint>(2 * KVM_NR_VAR_MTRR).fill(0n);
  miscEnable = KVM_RESET_MISC_ENABLE;
  platformInfo = PLATFORM_INFO_CPUID_FAULT;
  miscFeaturesEnables = 0n;
  /** KVM_X86_SETUP_MCE is not offered, so MCG_CAP stays at its creation value: 32 banks, no CTL_P/CMCI_P/LMCE_P */
  mcgCap = BigInt(KVM_MAX_MCE_BANKS);
  mcgStatus = 0n;
  mcgCtl = 0n;
  mcgExtCtl = 0n;
  /** MCi_CTL, MCi_STATUS, MCi_ADDR, MCi_MISC per bank */
  readonly mceBanks = new Array<bigint>(4 * KVM_MAX_MCE_BANKS).fill(0n);
  readonly mciCtl2 = new Array<bigint>(KVM_MAX_MCE_BANKS).fill(0n);
  pollControl = POLL_CONTROL_RESET;
  readonly x2apic: TdX2apic;

  constructor(private readonly vcpu: Vcpu) {
    this.x2apic = new TdX2apic({
      apicId: vcpu.id,
      isBsp: vcpu.id === 0,
      cmciSupported: () => (this.mcgCap & MCG_CMCI_P) !== 0n,
      tscDeadlineSupported: () => (((vcpu.cpuidModel.find(1, 0)?.ecx ?? 0) >>> 24) & 1) === 1,
    });
  }

  private get bankCount(): number {
    return Number(this.mcgCap & 0xffn);
  }

  /** tdx_get_msr: the value, or the failure (ERROR: the access faults; UNSUPPORTED: KVM does not know it). */
  get(index: number, host: boolean): MsrRead {
    if (!tdxHasEmulatedMsr(index)) return fail();
    if (index >= 0x800 && index <= 0x8ff) {
      const v = this.x2apic.read(index);
      return v === undefined ? fail() : ok(v);
    }
    switch (index) {
      case M.IA32_FEAT_CTL:
        return ok(FEAT_CTL_LOCKED | ((this.mcgCap & MCG_LMCE_P) !== 0n ? FEAT_CTL_LMCE_ENABLED : 0n));
      case M.IA32_MCG_EXT_CTL:
        return !host && (this.mcgCap & MCG_LMCE_P) === 0n ? fail() : ok(this.mcgExtCtl);
      case M.IA32_UCODE_REV:
        return ok(this.microcodeVersion);
      case M.IA32_ARCH_CAPABILITIES:
        // the guest needs CPUID.7.0:EDX[29]; UNSUPPORTED for a feature the guest lacks (6.12+) is UNCONFIRMED
        return !host && !this.hasArchCapabilities() ? fail(KvmMsrRet.UNSUPPORTED) : ok(this.archCapabilities);
      case M.IA32_POWER_CTL:
        return ok(this.powerCtl);
      case M.IA32_CR_PAT:
        return ok(this.pat);
      case M.MTRRcap:
        return ok(KVM_MTRRCAP);
      case M.MTRRdefType:
        return ok(this.mtrrDefType);
      case M.IA32_TSC_DEADLINE:
        return ok(this.x2apic.readTscDeadline());
      case M.IA32_MISC_ENABLE:
        return ok(this.miscEnable);
      case M.PLATFORM_INFO:
        return ok(this.platformInfo);
      case M.MISC_FEATURES_ENABLES:
        return ok(this.miscFeaturesEnables);
      case M.IA32_APICBASE:
        return ok(APIC_BASE | (this.vcpu.id === 0 ? APIC_BASE_BSP : 0n));
      case M.EFER:
        return ok(TDX_VCPU_EFER);
      case M.IA32_MCG_CAP:
        return ok(this.mcgCap);
      case M.IA32_MCG_STATUS:
        return ok(this.mcgStatus);
      case M.IA32_MCG_CTL:
        return !host && (this.mcgCap & MCG_CTL_P) === 0n ? fail() : ok(this.mcgCtl);
      case M.KVM_POLL_CONTROL:
        return ok(this.pollControl);
    }
    const mtrr = this.mtrrSlot(index);
    if (mtrr) return ok(mtrr.get());
    if (index >= M.IA32_MC0_CTL2 && index < M.IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS) {
      const bank = index - M.IA32_MC0_CTL2;
      if (bank >= this.bankCount) return fail();
      if (!host && (this.mcgCap & MCG_CMCI_P) === 0n) return fail();
      return ok(this.mciCtl2[bank]!);
    }
    if (index >= M.IA32_MC0_CTL && index < M.IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS) {
      const offset = index - M.IA32_MC0_CTL;
      return offset >= 4 * this.bankCount ? fail() : ok(this.mceBanks[offset]!);
    }
    return fail(); // MTRR numbers KVM does not keep (e.g. MTRRphysBase8)
  }

  /** tdx_set_msr: OK, or the failure. */
  set(index: number, data: bigint, host: boolean): KvmMsrRetValue {
    const E = KvmMsrRet.ERROR;
    const OK = KvmMsrRet.OK;
    data &= U64;
    if (index === M.IA32_MCG_EXT_CTL) {
      if ((!host && (this.mcgCap & MCG_LMCE_P) === 0n) || (data & ~MCG_EXT_CTL_LMCE_EN) !== 0n) return E;
      this.mcgExtCtl = data;
      return OK;
    }
    if (index === M.IA32_APICBASE || index === M.EFER || index === M.IA32_FEAT_CTL) return E;
    if (!tdxHasEmulatedMsr(index)) return E;
    if (index >= 0x800 && index <= 0x8ff) return this.x2apic.write(index, data) ? OK : E;
    switch (index) {
      case M.IA32_UCODE_REV:
        // guest writes are ignored (they do not fault); the host sets the revision the guest reads
        if (host) this.microcodeVersion = data;
        return OK;
      case M.IA32_ARCH_CAPABILITIES:
        if (!host || !this.hasArchCapabilities()) return KvmMsrRet.UNSUPPORTED;
        this.archCapabilities = data;
        return OK;
      case M.IA32_POWER_CTL:
        this.powerCtl = data;
        return OK;
      case M.IA32_CR_PAT:
        if (!patValid(data)) return E;
        this.pat = data;
        return OK;
      case M.MTRRcap:
        return E; // read-only
      case M.IA32_TSC_DEADLINE:
        this.x2apic.writeTscDeadline(data);
        return OK;
      case M.IA32_MISC_ENABLE:
        if (!host) {
          if (((this.miscEnable ^ data) & MISC_ENABLE_PMU_RO) !== 0n) return E;
          data = (data & ~MISC_ENABLE_EMON) | (this.miscEnable & MISC_ENABLE_EMON);
        }
        this.miscEnable = data;
        return OK;
      case M.PLATFORM_INFO:
        // only the host may write it, and not clear CPUID faulting while the guest has it on
        if (!host) return E;
        if ((data & PLATFORM_INFO_CPUID_FAULT) === 0n && (this.miscFeaturesEnables & 1n) !== 0n) return E;
        this.platformInfo = data;
        return OK;
      case M.MISC_FEATURES_ENABLES:
        // bit 0 CPUID_FAULT, and only while PLATFORM_INFO offers it
        if (
          (data & ~1n) !== 0n ||
          ((data & 1n) !== 0n && (this.platformInfo & PLATFORM_INFO_CPUID_FAULT) === 0n)
        )
          return E;
        this.miscFeaturesEnables = data;
        return OK;
      case M.IA32_MCG_CAP:
        return E; // only KVM_X86_SETUP_MCE sets it
      case M.IA32_MCG_STATUS:
        this.mcgStatus = data;
        return OK;
      case M.IA32_MCG_CTL:
        if ((this.mcgCap & MCG_CTL_P) === 0n && (data !== 0n || !host)) return E;
        if (data !== 0n && data !== U64) return E;
        this.mcgCtl = data;
        return OK;
      case M.KVM_POLL_CONTROL:
        if ((data & ~1n) !== 0n) return E;
        this.pollControl = data;
        return OK;
    }
    const mtrr = this.mtrrSlot(index);
    if (mtrr) {
      if (!mtrrValid(index, data, this.maxPhyAddr())) return E;
      mtrr.set(data);
      return OK;
    }
    if (index >= M.IA32_MC0_CTL2 && index < M.IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS) {
      const bank = index - M.IA32_MC0_CTL2;
      if (bank >= this.bankCount) return E;
      if ((this.mcgCap & MCG_CMCI_P) === 0n && (data !== 0n || !host)) return E;
      if ((data & ~MCI_CTL2_WRITABLE) !== 0n) return E;
      this.mciCtl2[bank] = data;
      return OK;
    }
    if (index >= M.IA32_MC0_CTL && index < M.IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS) {
      const offset = index - M.IA32_MC0_CTL;
      if (offset >= 4 * this.bankCount) return E;
      // MCi_CTL: 0 or all ones (bits 10 and 0 may be clear); MCi_STATUS: the guest may only clear it (Intel)
      if (offset % 4 === 0 && data !== 0n && (data | (1n << 10n) | 1n) !== U64) return E;
      if (offset % 4 === 1 && !host && data !== 0n) return E;
      this.mceBanks[offset] = data;
      return OK;
    }
    return E;
  }

  /** cpuid_maxphyaddr(): guest CPUID 0x80000008 EAX[7:0], or 36 when the leaf is absent */
  private maxPhyAddr(): number {
    const model = this.vcpu.cpuidModel;
    const ext = model.find(0x80000000, 0);
    const leaf = ext && ext.eax >>> 0 >= 0x80000008 ? model.find(0x80000008, 0) : undefined;
    return leaf ? leaf.eax & 0xff : 36;
  }

  private hasArchCapabilities(): boolean {
    return (((this.vcpu.cpuidModel.find(7, 0)?.edx ?? 0) >>> 29) & 1) === 1;
  }

  /** The MTRR KVM keeps at `index` (find_mtrr), or undefined. */
  private mtrrSlot(index: number): { get(): bigint; set(v: bigint): void } | undefined {
    if (index === M.MTRRdefType) {
      return { get: () => this.mtrrDefType, set: (v) => (this.mtrrDefType = v) };
    }
    const fixed = MTRR_FIXED.indexOf(index);
    if (fixed >= 0) return { get: () => this.mtrrFixed[fixed]!, set: (v) => (this.mtrrFixed[fixed] = v) };
    const v = index - M.MTRR_FIRST;
    if (v >= 0 && v < 2 * KVM_NR_VAR_MTRR)
      return { get: () => this.mtrrVar[v]!, set: (x) => (this.mtrrVar[v] = x) };
    return undefined;
  }
}

/** kvm_pat_valid: every byte a valid memory type (0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC-). */
export function patValid(data: bigint): boolean {
  for (let i = 0n; i < 64n; i += 8n) {
    const t = Number((data >> i) & 0xffn);
    if (t > 7 || t === 2 || t === 3) return false;
  }
  return true;
}

/** The memory types valid in MTRRs: UC 0, WC 1, WT 4, WP 5, WB 6. */
const mtrrTypeValid = (t: number): boolean => t === 0 || t === 1 || t === 4 || t === 5 || t === 6;

/**
 * kvm_mtrr_valid: memory types and reserved bits; a variable range's reserved bits start at the
 * guest's MAXPHYADDR (KVM_SET_CPUID2's 0x80000008 EAX[7:0], 36 without that leaf).
 */
function mtrrValid(index: number, data: bigint, maxPhyAddr: number): boolean {
  if (index === M.MTRRdefType) {
    if ((data & ~0xcffn) !== 0n) return false; // type 7:0, FE 10, E 11
    return mtrrTypeValid(Number(data & 0xffn));
  }
  if (MTRR_FIXED.includes(index)) {
    for (let i = 0n; i < 64n; i += 8n) if (!mtrrTypeValid(Number((data >> i) & 0xffn))) return false;
    return true;
  }
  const isMask = (index - M.MTRR_FIRST) % 2 === 1;
  const reserved = ~((1n << BigInt(maxPhyAddr)) - 1n) & U64;
  if (isMask) return (data & (reserved | 0x7ffn)) === 0n; // valid bit 11, mask from bit 12
  return (data & (reserved | 0xf00n)) === 0n && mtrrTypeValid(Number(data & 0xffn));
}

const states = new WeakMap<Vcpu, TdMsrState>();

/** The TD vCPU's emulated-MSR state (created with reset values on first use). */
export function tdMsrsOf(vcpu: Vcpu): TdMsrState {
  let s = states.get(vcpu);
  if (!s) {
    s = new TdMsrState(vcpu);
    states.set(vcpu, s);
  }
  return s;
}
