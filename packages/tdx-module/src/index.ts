export * from "./abi/index.js";
export { KEYID_SHIFT, MAX_PA, type ModuleOptions } from "./context.js";
export {
  applyCpuidConfig,
  CPUID_MAX_BASIC_LEAF,
  configurableMask,
  NATIVE_CPUID1_EAX,
  TDX_CPUID_LEAF_ID,
} from "./cpuid.js";
export * from "./executor/index.js";
export { getReg, makeGuestRegs, Reg, regNum, setReg, setRegNum, type TdGuestRegs } from "./guest-regs.js";
export { defaultHash, type HashProvider, nobleHash, nodeCryptoHash, type Sha384Stream } from "./hash.js";
export { type TdGuestExecutor, TdRunResult } from "./host/vp-enter.js";
export {
  buildTdInfo,
  buildTdReport,
  mrExtendRecord,
  type PlatformIdentity,
  pageAddRecord,
  REPORT_TYPE_TDX,
  TDREPORT_SIZE,
  TdReportOffset,
  verifyReportMac,
} from "./measurement.js";
export type { PamtEntry, Tdmr } from "./pamt.js";
export {
  cr0WriteCausesVe,
  crWriteDisposition,
  Disposition,
  instructionDisposition,
  msrDisposition,
  UD_EXIT_REASONS,
  xcr0AllowedMask,
  xsetbvFaults,
} from "./td-exits.js";
export {
  Access,
  FaultKind,
  SHARED_EPT_MISCONFIG,
  SHARED_EPT_VE,
  SHARED_EPT_VIOLATION,
  type SharedEpt,
  TdMemory,
  TranslateFault,
} from "./td-memory.js";
export {
  buildTdParams,
  checkXfam,
  defaultCpuidValues,
  MAX_VCPUS_PER_TD,
  parseTdParams,
  type TdParams,
} from "./td-params.js";
export { VeInfo } from "./td-state.js";
export { TdVcpu } from "./td-vcpu.js";
export { TdcallOutcome, TdExit } from "./tdcall.js";
export { type GuestAccess, type SeamcallOutput, type SeamcallRegs, TdxModule } from "./tdx-module.js";
export { initialVcpuState, type SegmentInit, type TdVcpuInitialState } from "./vcpu-init.js";
export { TdvpsFieldId } from "./vp-guest-fields.js";
