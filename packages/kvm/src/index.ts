// Facts owned by the memory layer that KVM users need too (one source of truth).
export { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, KVM_USER_MEM_SLOTS, TASK_SIZE_MAX } from "@tdxsim/memory";
export {
  APIC_BUS_CYCLE_NS_DEFAULT,
  type CapVmContext,
  checkExtension,
  KVM_EXIT_HYPERCALL_VALID_MASK,
  KVM_X2APIC_API_VALID_FLAGS,
  supportedMemoryAttributes,
} from "./capabilities.js";
export { asKvmError, KvmError, type KvmErrorDetails, toKvmError } from "./errors.js";
export {
  getKvmDebugregs,
  getKvmFpu,
  getKvmXcrs,
  getKvmXsave,
  type KvmDebugregs,
  setKvmDebugregs,
  setKvmFpu,
  setKvmXcrs,
  setKvmXsave,
} from "./extra-state.js";
export * from "./fallocate.js";
export { IoctlFile, type KvmFile, type KvmFileKind } from "./file.js";
export { Gpr, GprFile } from "./gpr-file.js";
export { GuestMemfdFile } from "./guest-memfd.js";
export {
  cr4ReservedBits,
  guestMaxPhysAddr,
  invalidApicBase,
  invalidGuestState,
  invalidSregs,
  VMX_ENTRY_FAILURE_INVALID_GUEST_STATE,
} from "./guest-state.js";
export { DEFAULT_HOST_MEMORY_BYTES, type KvmHost, type KvmHostOptions, resolveHost } from "./host.js";
export { IoctlArg, type IoctlArgument } from "./ioctl-arg.js";
export * from "./kvm-run.js";
export {
  GUEST_MEMFD_VALID_FLAGS_6_16,
  type MemoryAttributesArgs,
  memoryFaultExit,
  parseCreateGuestMemfd,
  parseMemoryAttributes,
} from "./memory-args.js";
export * from "./msr-exits.js";
export * from "./msr-filter.js";
export { getMsrIndexListRaw, MAX_IO_MSRS, msrIndexList, msrIo, msrIoRaw } from "./msrs.js";
export { NORMAL_VCPU_IOCTLS, normalVcpuIoctl } from "./normal-ioctls.js";
export { DEFAULT_RUN_BUDGET, NormalRun } from "./normal-run.js";
export { NormalVcpu } from "./normal-vcpu.js";
export { DEV_KVM, KvmProcess, O_RDWR } from "./process.js";
export {
  emulatedCpuid,
  executedFeatures,
  FEATURE_BITS,
  KVM_CPUID_FEATURES,
  KVM_CPUID_SIGNATURE,
  supportedCpuid,
} from "./supported-cpuid.js";
export { Kvm } from "./system.js";
export { TD_DEFAULT_TSC_FREQUENCY, TdControl, type TdVcpuPages } from "./td.js";
export { refuseProtectedState, TdLifecycle, type TdState } from "./td-lifecycle.js";
export { TdMmu, type TdMmuOwner } from "./td-mmu.js";
export type { MsrEntry } from "./td-msr-ioctls.js";
export { DEFAULT_TD_RUN_BUDGET, TdVcpuRunState } from "./td-run.js";
export { isOperandBusy, isOperandInvalid, seamcallError, TDX_SEAMCALL_STATUS_MASK } from "./td-seamcall.js";
export { TdSharedEpt } from "./td-shared-ept.js";
export { ApicReg, TdX2apic, x2apicMsr } from "./td-x2apic.js";
export {
  applyTdVmCallResult,
  completeTdMsrExit,
  completeTdVmCall,
  cpuidResult,
  routeTdVmCall,
  TDVMCALL_ROUTES,
  TDX_MAP_GPA_MAX_LEN,
  type TdVmCallContext,
  type TdVmCallKernelOp,
  type TdVmCallPending,
  type TdVmCallResult,
  type TdVmCallRoute,
  type TdVmCallRouteDoc,
  tdxSharedBit,
} from "./tdvmcall.js";
export {
  computeTdxCapabilities,
  KVM_SUPPORTED_TD_ATTRS,
  KVM_TDX_CPUID_NO_SUBLEAF,
  readTdxInitMemRegion,
  readTdxInitVm,
  type TdxCapabilities,
  type TdxInitMemRegion,
  type TdxInitVm,
  type TdxInitVmLimits,
  type TdxTdConf,
  writeBackTdxInitMemRegion,
  writeTdxCapabilities,
  writeTdxGetCpuid,
} from "./tdx-args.js";
export { parseTdxCmd, type TdxCmd, type TdxCmdScope, tdxCmdName } from "./tdx-cmd.js";
export {
  KVM_SUPPORTED_XCR0_XSS,
  TDX_FIRST_GUEST_HKID,
  TDX_LAST_GUEST_HKID,
  TdxHost,
  tdxHostOf,
} from "./tdx-host.js";
export {
  KVM_ARCH_CAPABILITIES,
  KVM_MTRRCAP,
  KVM_RESET_MISC_ENABLE,
  KVM_RESET_PAT,
  TdMsrState,
  tdMsrsOf,
} from "./tdx-msr-emulation.js";
export {
  decodeCpuid2,
  encodeTdxInitMemRegion,
  encodeTdxInitVm,
  type TdxInitMemRegionArgs,
  type TdxInitVmArgs,
} from "./tdx-typed.js";
export * from "./uapi/index.js";
export {
  copyFromUser,
  copyToUser,
  createUserMemory,
  MMAP_MIN_ADDR,
} from "./user-memory.js";
export { Vcpu } from "./vcpu.js";
export { decodeExit, encodeExit, type TdxExit, type VcpuExit, type VcpuExitKind } from "./vcpu-exit.js";
export {
  type EnableCap,
  type IrqchipMode,
  KVM_VCPU_ID_RATIO,
  MAX_NR_RESERVED_IOAPIC_PINS,
  Vm,
} from "./vm.js";
export {
  type CreateGuestMemfdArgs,
  KVM_SET_USER_MEMORY_REGION_V1_FLAGS,
  type SetMemoryAttributesArgs,
  type UserMemoryRegion,
  VmMemory,
  type ZapCause,
  type ZapFilter,
  type ZapListener,
  type ZapRange,
} from "./vm-memory.js";
