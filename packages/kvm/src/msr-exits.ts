// What happens to a guest RDMSR/WRMSR that KVM could not complete in the kernel, given the
// KVM_CAP_X86_USER_SPACE_MSR mask (arch/x86/kvm/x86.c kvm_msr_reason / kvm_msr_user_space,
// 6.16), plus the TDX allow-list of MSRs KVM emulates for a TD (tdx_has_emulated_msr, spec §4).

import { KvmError } from "./errors.js";
import { KVM_MSR_EXIT_REASON_VALID_MASK, KvmMsrExitReason } from "./uapi/constants.js";

/** Internal results of KVM's MSR access paths (arch/x86/kvm/x86.h). */
export const KvmMsrRet = {
  /** handled */
  OK: 0,
  /** the access faults (#GP): bad value, reserved bits, refused write ... */
  ERROR: 1,
  /** KVM_MSR_RET_UNSUPPORTED: KVM does not know the MSR */
  UNSUPPORTED: 2,
  /** KVM_MSR_RET_FILTERED: KVM_X86_SET_MSR_FILTER denied it */
  FILTERED: 3,
} as const;

export type KvmMsrRetValue = (typeof KvmMsrRet)[keyof typeof KvmMsrRet];

/** kvm_msr_reason(): which KVM_MSR_EXIT_REASON_* a failed access reports. */
export function msrExitReason(ret: KvmMsrRetValue): number {
  if (ret === KvmMsrRet.UNSUPPORTED) return KvmMsrExitReason.UNKNOWN;
  if (ret === KvmMsrRet.FILTERED) return KvmMsrExitReason.FILTER;
  return KvmMsrExitReason.INVAL;
}

export type MsrFailureOutcome =
  /** exit to userspace with KVM_EXIT_X86_RDMSR/WRMSR and this msr.reason */
  | { kind: "exit"; reason: number }
  /** the guest sees the failure: #GP for a VM, TDVMCALL INVALID_OPERAND for a TD */
  | { kind: "fault" };

/** A failed (ret ≠ OK) access: exit if userspace asked for this reason, else fault the guest. */
export function msrFailureOutcome(ret: KvmMsrRetValue, userSpaceMsrMask: number): MsrFailureOutcome {
  const reason = msrExitReason(ret);
  return (userSpaceMsrMask & reason) !== 0 ? { kind: "exit", reason } : { kind: "fault" };
}

/** KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) argument check: args[0] is the reason mask. */
export function checkUserSpaceMsrMask(mask: bigint): number {
  if ((mask & ~BigInt(KVM_MSR_EXIT_REASON_VALID_MASK)) !== 0n) {
    throw new KvmError(
      "EINVAL",
      `kvm_enable_cap.args[0] 0x${mask.toString(16)} has bits outside KVM_MSR_EXIT_REASON_VALID_MASK (0x7)`,
      { field: "kvm_enable_cap.args[0]" },
    );
  }
  return Number(mask);
}

/** KVM_MAX_MCE_BANKS (arch/x86/include/asm/kvm_host.h) */
export const KVM_MAX_MCE_BANKS = 32;

/** MSR numbers on the TDX allow-list. */
export const TdxMsr = {
  IA32_FEAT_CTL: 0x3a,
  IA32_UCODE_REV: 0x8b,
  PLATFORM_INFO: 0xce,
  MTRRcap: 0xfe,
  IA32_ARCH_CAPABILITIES: 0x10a,
  MISC_FEATURES_ENABLES: 0x140,
  IA32_MCG_CAP: 0x179,
  IA32_MCG_STATUS: 0x17a,
  IA32_MCG_CTL: 0x17b,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_APICBASE: 0x1b,
  IA32_POWER_CTL: 0x1fc,
  MTRR_FIRST: 0x200, // MTRRphysBase0
  MTRR_FIX_LAST: 0x26f, // MTRRfix4K_F8000
  IA32_CR_PAT: 0x277,
  IA32_MC0_CTL2: 0x280,
  MTRRdefType: 0x2ff,
  IA32_MC0_CTL: 0x400,
  IA32_MCG_EXT_CTL: 0x4d0,
  IA32_TSC_DEADLINE: 0x6e0,
  EFER: 0xc0000080,
  KVM_POLL_CONTROL: 0x4b564d05,
} as const;

/** x2APIC registers the CPU virtualizes for a TD, so KVM cannot emulate them: TPR, PPR, EOI, ISR, TMR, IRR. */
function isCpuVirtualizedX2apic(index: number): boolean {
  return (
    index === 0x808 || // TPR
    index === 0x80a || // PPR
    index === 0x80b || // EOI
    (index >= 0x810 && index <= 0x827) // ISR0-7, TMR0-7, IRR0-7
  );
}

/**
 * tdx_has_emulated_msr(): may KVM emulate this MSR for a TD's RDMSR/WRMSR TDVMCALL? Anything
 * else fails in the kernel (and reaches userspace only through KVM_CAP_X86_USER_SPACE_MSR).
 * The exact upstream ISR/TMR/IRR bounds are UNCONFIRMED; spec §4's full 8-register banks are used.
 */
export function tdxHasEmulatedMsr(index: number): boolean {
  const M = TdxMsr;
  switch (index) {
    case M.IA32_UCODE_REV:
    case M.IA32_ARCH_CAPABILITIES:
    case M.IA32_POWER_CTL:
    case M.IA32_CR_PAT:
    case M.MTRRcap:
    case M.MTRRdefType:
    case M.IA32_TSC_DEADLINE:
    case M.IA32_MISC_ENABLE:
    case M.PLATFORM_INFO:
    case M.MISC_FEATURES_ENABLES:
    case M.IA32_APICBASE:
    case M.EFER:
    case M.IA32_FEAT_CTL:
    case M.IA32_MCG_CAP:
    case M.IA32_MCG_STATUS:
    case M.IA32_MCG_CTL:
    case M.IA32_MCG_EXT_CTL:
    case M.KVM_POLL_CONTROL:
      return true;
  }
  if (index >= M.MTRR_FIRST && index <= M.MTRR_FIX_LAST) return true;
  if (index >= M.IA32_MC0_CTL && index < M.IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS) return true;
  if (index >= M.IA32_MC0_CTL2 && index < M.IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS) return true;
  if (index >= 0x800 && index <= 0x8ff) return !isCpuVirtualizedX2apic(index);
  return false;
}

/** tdx_is_read_only_msr(): guest writes to these are refused (the access faults). */
export function tdxIsReadOnlyMsr(index: number): boolean {
  return index === TdxMsr.IA32_APICBASE || index === TdxMsr.EFER || index === TdxMsr.IA32_FEAT_CTL;
}
