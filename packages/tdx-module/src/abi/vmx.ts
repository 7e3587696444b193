// VMX basic exit reasons used by TD exits and #VE info (Intel SDM Appendix C).
export const ExitReason = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INTERRUPT_WINDOW: 7,
  CPUID: 10,
  HLT: 12,
  INVD: 13,
  VMCALL: 18,
  CR_ACCESS: 28,
  IO_INSTRUCTION: 30,
  MSR_READ: 31,
  MSR_WRITE: 32,
  MWAIT: 36,
  MONITOR: 39,
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  WBINVD: 54,
  APIC_WRITE: 56,
  PCONFIG: 65,
  TDCALL: 77,
} as const;

/** EPT-violation exit qualification bits. */
export const EptQual = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  FETCH: 1 << 2,
  READABLE: 1 << 3,
  WRITABLE: 1 << 4,
  EXECUTABLE: 1 << 5,
  GLA_VALID: 1 << 7,
  GLA_TRANSLATION: 1 << 8,
} as const;

/** TDX extended exit qualification type (bits 3:0 of the EEQ returned by TDH.VP.ENTER in RDX). */
export const ExtExitQualType = {
  NONE: 0,
  ACCEPT: 1,
  GPA_DETAILS: 2,
  PENDING_EPT_VIOLATION: 6,
} as const;

export const Vector = { DF: 8, GP: 13, PF: 14, UD: 6, VE: 20 } as const;
