// GHCI TDG.VP.VMCALL numbers as KVM knows them (spec/tdx-abi.md §2.2, spec/kvm-api.md §0):
// R10 = 0 selects a "standard" TDVMCALL with the sub-function (leaf) in R11; the status goes
// back in R10 and a value in R11. Instruction-emulation leaves equal the VMX exit reason.

/** TDX_HYPERCALL_STANDARD: R10 value of a GHCI-standard TDVMCALL; anything else is a KVM hypercall. */
export const TDX_HYPERCALL_STANDARD = 0n;

/** TDVMCALL sub-functions (R11). */
export const TdVmCallLeaf = {
  CPUID: 10,
  HLT: 12,
  IO: 30,
  RDMSR: 31,
  WRMSR: 32,
  MMIO: 48,
  WBINVD: 54,
  PCONFIG: 65,
  GET_TD_VM_CALL_INFO: 0x10000,
  MAP_GPA: 0x10001,
  GET_QUOTE: 0x10002,
  REPORT_FATAL_ERROR: 0x10003,
  SETUP_EVENT_NOTIFY_INTERRUPT: 0x10004,
} as const;

export type TdVmCallLeafName = keyof typeof TdVmCallLeaf;

/** GHCI names of the leaves, for messages and traces. */
export const TDVMCALL_LEAF_GHCI_NAME: Readonly<Record<number, string>> = {
  [TdVmCallLeaf.CPUID]: "Instruction.CPUID",
  [TdVmCallLeaf.HLT]: "Instruction.HLT",
  [TdVmCallLeaf.IO]: "Instruction.IO",
  [TdVmCallLeaf.RDMSR]: "Instruction.RDMSR",
  [TdVmCallLeaf.WRMSR]: "Instruction.WRMSR",
  [TdVmCallLeaf.MMIO]: "#VE.RequestMMIO",
  [TdVmCallLeaf.WBINVD]: "Instruction.WBINVD",
  [TdVmCallLeaf.PCONFIG]: "Instruction.PCONFIG",
  [TdVmCallLeaf.GET_TD_VM_CALL_INFO]: "GetTdVmCallInfo",
  [TdVmCallLeaf.MAP_GPA]: "MapGPA",
  [TdVmCallLeaf.GET_QUOTE]: "GetQuote",
  [TdVmCallLeaf.REPORT_FATAL_ERROR]: "ReportFatalError",
  [TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT]: "SetupEventNotifyInterrupt",
};

/** TDVMCALL status codes returned in R10 (TDVMCALL_STATUS_*). */
export const TdVmCallStatus = {
  SUCCESS: 0x0000000000000000n,
  RETRY: 0x0000000000000001n,
  INVALID_OPERAND: 0x8000000000000000n,
  GPA_INUSE: 0x8000000000000001n,
  ALIGN_ERROR: 0x8000000000000002n,
  SUBFUNC_UNSUPPORTED: 0x8000000000000003n,
} as const;

export type TdVmCallStatusName = keyof typeof TdVmCallStatus;

export function tdVmCallStatusName(status: bigint): string {
  for (const [name, value] of Object.entries(TdVmCallStatus)) if (value === status) return name;
  return `0x${status.toString(16)}`;
}

/**
 * GetTdVmCallInfo leaf 1 R11 bits. KVM 6.16 reports user_tdvmcallinfo_1_r11 =
 * TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT = BIT(1) (checked in arch/x86/kvm/vmx/tdx.c; the
 * GetQuote BIT(0) of earlier drafts was dropped before merge, GetQuote being mandatory).
 */
export const TdVmCallInfo1R11 = {
  SETUP_EVENT_NOTIFY_INTERRUPT: 1n << 1n,
} as const;

/** ReportFatalError R12 bit 63: R13 holds the GPA of an additional-information page. */
export const TDVMCALL_FATAL_ERROR_GPA_VALID = 1n << 63n;

/** TDH.VP.ENTER exit reason of a TDCALL (VMX basic exit reason 77), reported in fatal-error data[0]. */
export const EXIT_REASON_TDCALL = 77;
