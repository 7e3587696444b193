// GHCI TDG.VP.VMCALL numbers as KVM knows them (spec/tdx-abi.md §2.2, spec/kvm-api.md §0):
// R10 = 0 selects a "standard" TDVMCALL with the sub-function (leaf) in R11; the status goes
// back in R10 and a value in R11. Instruction-emulation leaves equal the VMX exit reason.
import {
  TDX_HYPERCALL_STANDARD as GHCI_STANDARD,
  TdvmcallLeaf as L,
  TdvmcallStatus,
} from "@tdxsim/tdx-module";

/** TDX_HYPERCALL_STANDARD: R10 value of a GHCI-standard TDVMCALL; anything else is a KVM hypercall. */
export const TDX_HYPERCALL_STANDARD = BigInt(GHCI_STANDARD);

/** TDVMCALL sub-functions (R11), under KVM's short names; the numbers are the TDX module package's. */
export const TdVmCallLeaf = {
  CPUID: L.INSTRUCTION_CPUID,
  HLT: L.INSTRUCTION_HLT,
  IO: L.INSTRUCTION_IO,
  RDMSR: L.INSTRUCTION_RDMSR,
  WRMSR: L.INSTRUCTION_WRMSR,
  MMIO: L.VE_REQUEST_MMIO,
  WBINVD: L.INSTRUCTION_WBINVD,
  PCONFIG: L.INSTRUCTION_PCONFIG,
  GET_TD_VM_CALL_INFO: L.GET_TD_VM_CALL_INFO,
  MAP_GPA: L.MAP_GPA,
  GET_QUOTE: L.GET_QUOTE,
  REPORT_FATAL_ERROR: L.REPORT_FATAL_ERROR,
  SETUP_EVENT_NOTIFY_INTERRUPT: L.SETUP_EVENT_NOTIFY_INTERRUPT,
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
export const TdVmCallStatus = TdvmcallStatus;

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
