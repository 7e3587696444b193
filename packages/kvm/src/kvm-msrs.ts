// MSRs KVM itself emulates for a vCPU (kvm_get_msr_common / kvm_set_msr_common, mtrr.c; 6.16),
// for those the @tdxsim/x86 core does not implement: the microcode revision, PLATFORM_INFO and
// MISC_FEATURES_ENABLES (CPUID faulting), POWER_CTL, and the MTRRs, which KVM stores and checks
// but does not use with EPT. MCE banks, the TSC deadline (no LAPIC), ARCH_CAPABILITIES and the PV
// MSRs are not here: a guest access to them still fails like an unknown MSR.

/** MSR_IA32_UCODE_REV; KVM's default microcode_version. */
export const MSR_IA32_UCODE_REV = 0x8b;
const MICROCODE_VERSION_DEFAULT = 0x1_0000_0000n;
/** MSR_PLATFORM_INFO and its CPUID-faulting bit (set by default: KVM emulates CPUID faulting). */
export const MSR_PLATFORM_INFO = 0xce;
export const MSR_PLATFORM_INFO_CPUID_FAULT = 1n << 31n;
/** MSR_MISC_FEATURES_ENABLES: only CPUID faulting (bit 0) exists. */
export const MSR_MISC_FEATURES_ENABLES = 0x140;
export const MSR_MISC_FEATURES_ENABLES_CPUID_FAULT = 1n;
export const MSR_IA32_POWER_CTL = 0x1fc;
export const MSR_MTRRcap = 0xfe;
export const MSR_MTRRdefType = 0x2ff;
/** KVM_NR_VAR_MTRR variable-range pairs at 0x200 (base) / 0x201 (mask) ... */
export const KVM_NR_VAR_MTRR = 8;
const MTRR_PHYS_BASE_0 = 0x200;
/** MTRRcap: WC (bit 10) | FIX (bit 8) | VCNT. */
const MTRRCAP_VALUE = BigInt(0x500 | KVM_NR_VAR_MTRR);
const FIXED_MTRRS = [0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f];

/** The emulated MSRs KVM_GET_MSR_INDEX_LIST lists (emulated_msrs). */
export const KVM_EMULATED_MSR_LIST = [
  MSR_PLATFORM_INFO,
  MSR_MISC_FEATURES_ENABLES,
  MSR_IA32_POWER_CTL,
  MSR_IA32_UCODE_REV,
];

function isMtrr(index: number): boolean {
  return (
    index === MSR_MTRRdefType ||
    FIXED_MTRRS.includes(index) ||
    (index >= MTRR_PHYS_BASE_0 && index < MTRR_PHYS_BASE_0 + 2 * KVM_NR_VAR_MTRR)
  );
}

/** valid_mtrr_type: UC 0, WC 1, WT 4, WP 5, WB 6. */
const validMtrrType = (t: number): boolean => t < 8 && ((1 << t) & 0x73) !== 0;

/** kvm_mtrr_valid() */
function mtrrValid(index: number, data: bigint, maxPhysAddr: number): boolean {
  if (index === MSR_MTRRdefType) return (data & ~0xcffn) === 0n && validMtrrType(Number(data & 0xffn));
  if (FIXED_MTRRS.includes(index)) {
    for (let i = 0n; i < 8n; i++) if (!validMtrrType(Number((data >> (8n * i)) & 0xffn))) return false;
    return true;
  }
  let reserved = ((1n << 64n) - 1n) ^ ((1n << BigInt(maxPhysAddr)) - 1n);
  if ((index & 1) === 0) {
    if (!validMtrrType(Number(data & 0xffn))) return false;
    reserved |= 0xf00n;
  } else reserved |= 0x7ffn;
  return (data & reserved) === 0n;
}

/** What a guest or host access to a KVM-emulated MSR gives: the value, true (written), or false (fails: #GP). */
export class KvmEmulatedMsrs {
  microcodeVersion = MICROCODE_VERSION_DEFAULT;
  platformInfo = MSR_PLATFORM_INFO_CPUID_FAULT;
  miscFeaturesEnables = 0n;
  powerCtl = 0n;
  private readonly mtrrs = new Map<number, bigint>();

  /** Whether KVM emulates `index` (else it is unknown to KVM too). */
  has(index: number): boolean {
    return (
      index === MSR_IA32_UCODE_REV ||
      index === MSR_PLATFORM_INFO ||
      index === MSR_MISC_FEATURES_ENABLES ||
      index === MSR_IA32_POWER_CTL ||
      index === MSR_MTRRcap ||
      isMtrr(index)
    );
  }

  /** Read; undefined when the access fails. */
  get(index: number): bigint | undefined {
    switch (index) {
      case MSR_IA32_UCODE_REV:
        return this.microcodeVersion;
      case MSR_PLATFORM_INFO:
        return this.platformInfo;
      case MSR_MISC_FEATURES_ENABLES:
        return this.miscFeaturesEnables;
      case MSR_IA32_POWER_CTL:
        return this.powerCtl;
      case MSR_MTRRcap:
        return MTRRCAP_VALUE;
      default:
        return isMtrr(index) ? (this.mtrrs.get(index) ?? 0n) : undefined;
    }
  }

  /** Write; false when the access fails (the guest gets #GP, KVM_SET_MSRS stops there). */
  set(index: number, data: bigint, hostInitiated: boolean, maxPhysAddr: number): boolean {
    switch (index) {
      case MSR_IA32_UCODE_REV:
        // guest writes are ignored (the microcode loader writes 0 before reading)
        if (hostInitiated) this.microcodeVersion = data;
        return true;
      case MSR_PLATFORM_INFO:
        // host only; clearing CPUID_FAULT while the guest uses faulting is refused
        if (!hostInitiated) return false;
        if ((data & MSR_PLATFORM_INFO_CPUID_FAULT) === 0n && this.cpuidFaulting) return false;
        this.platformInfo = data;
        return true;
      case MSR_MISC_FEATURES_ENABLES:
        if ((data & ~MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) !== 0n) return false;
        if (
          (data & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) !== 0n &&
          (this.platformInfo & MSR_PLATFORM_INFO_CPUID_FAULT) === 0n
        )
          return false;
        this.miscFeaturesEnables = data;
        return true;
      case MSR_IA32_POWER_CTL:
        this.powerCtl = data;
        return true;
      default:
        if (!isMtrr(index) || !mtrrValid(index, data, maxPhysAddr)) return false;
        this.mtrrs.set(index, data);
        return true;
    }
  }

  /** CPUID faulting is on: CPUID at CPL > 0 raises #GP. */
  get cpuidFaulting(): boolean {
    return (this.miscFeaturesEnables & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) !== 0n;
  }
}
