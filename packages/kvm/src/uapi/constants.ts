// KVM uapi constants (include/uapi/linux/kvm.h, linux/kvm_para.h, arch/x86/include/uapi/asm/
// kvm.h and asm/kvm_para.h as of Linux 6.16). Each group is an object keyed by the upstream
// name without its prefix; `uapiName(group, key)` gives the full C name, and
// UAPI_CONSTANT_GROUPS lets the header test compare every value with the C preprocessor.

import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE as MEMORY_ATTRIBUTE_PRIVATE,
} from "@tdxsim/memory";

export const KVMIO = 0xae;
export const KVM_API_VERSION = 12;

/** x86 VM types for KVM_CREATE_VM (asm/kvm.h). */
export const KvmVmType = {
  DEFAULT_VM: 0,
  SW_PROTECTED_VM: 1,
  SEV_VM: 2,
  SEV_ES_VM: 3,
  SNP_VM: 4,
  TDX_VM: 5,
} as const;

/** KVM_CAP_* extension numbers (the subset an x86/TDX VMM probes). */
export const KvmCap = {
  IRQCHIP: 0,
  HLT: 1,
  USER_MEMORY: 3,
  SET_TSS_ADDR: 4,
  EXT_CPUID: 7,
  NR_VCPUS: 9,
  NR_MEMSLOTS: 10,
  MP_STATE: 14,
  COALESCED_MMIO: 15,
  SYNC_MMU: 16,
  DESTROY_MEMORY_REGION_WORKS: 21,
  USER_NMI: 22,
  JOIN_MEMORY_REGIONS_WORKS: 30,
  IOEVENTFD: 36,
  INTERNAL_ERROR_DATA: 40,
  ENABLE_CAP: 54,
  XSAVE: 55,
  XCRS: 56,
  TSC_CONTROL: 60,
  GET_TSC_KHZ: 61,
  MAX_VCPUS: 66,
  TSC_DEADLINE_TIMER: 72,
  READONLY_MEM: 81,
  EXT_EMUL_CPUID: 95,
  ENABLE_CAP_VM: 98,
  CHECK_EXTENSION_VM: 105,
  DISABLE_QUIRKS: 116,
  X86_SMM: 117,
  MULTI_ADDRESS_SPACE: 118,
  SPLIT_IRQCHIP: 121,
  MAX_VCPU_ID: 128,
  X2APIC_API: 129,
  IMMEDIATE_EXIT: 136,
  X86_DISABLE_EXITS: 143,
  GET_MSR_FEATURES: 153,
  NESTED_STATE: 157,
  X86_USER_SPACE_MSR: 188,
  X86_MSR_FILTER: 189,
  SREGS2: 200,
  EXIT_HYPERCALL: 201,
  BINARY_STATS_FD: 203,
  VM_GPA_BITS: 207,
  XSAVE2: 208,
  VM_TSC_CONTROL: 214,
  SYSTEM_EVENT_DATA: 215,
  X86_TRIPLE_FAULT_EVENT: 218,
  X86_NOTIFY_VMEXIT: 219,
  USER_MEMORY2: 231,
  MEMORY_FAULT_INFO: 232,
  MEMORY_ATTRIBUTES: 233,
  GUEST_MEMFD: 234,
  VM_TYPES: 235,
  PRE_FAULT_MEMORY: 236,
  X86_APIC_BUS_CYCLES_NS: 237,
  X86_GUEST_MODE: 238,
} as const;

/** kvm_run.exit_reason values (KVM_EXIT_*). KVM_EXIT_TDX is 40 as merged, not the 50 of old TDX branches. */
export const KvmExit = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  SET_TPR: 11,
  TPR_ACCESS: 12,
  S390_SIEIC: 13,
  S390_RESET: 14,
  DCR: 15,
  NMI: 16,
  INTERNAL_ERROR: 17,
  OSI: 18,
  PAPR_HCALL: 19,
  S390_UCONTROL: 20,
  WATCHDOG: 21,
  S390_TSCH: 22,
  EPR: 23,
  SYSTEM_EVENT: 24,
  S390_STSI: 25,
  IOAPIC_EOI: 26,
  HYPERV: 27,
  ARM_NISV: 28,
  X86_RDMSR: 29,
  X86_WRMSR: 30,
  DIRTY_RING_FULL: 31,
  AP_RESET_HOLD: 32,
  X86_BUS_LOCK: 33,
  XEN: 34,
  RISCV_SBI: 35,
  RISCV_CSR: 36,
  NOTIFY: 37,
  LOONGARCH_IOCSR: 38,
  MEMORY_FAULT: 39,
  TDX: 40,
} as const;

/** kvm_vcpu_events.flags (KVM_VCPUEVENT_VALID_*) */
export const KvmVcpuEventValid = {
  NMI_PENDING: 0x1,
  SIPI_VECTOR: 0x2,
  SHADOW: 0x4,
  SMM: 0x8,
  PAYLOAD: 0x10,
  TRIPLE_FAULT: 0x20,
} as const;

/** kvm_vcpu_events.interrupt.shadow (KVM_X86_SHADOW_INT_*) */
export const KvmX86ShadowInt = { MOV_SS: 1, STI: 2 } as const;

/** kvm_run.io.direction */
export const KvmExitIo = { IN: 0, OUT: 1 } as const;

/** kvm_run.internal.suberror for KVM_EXIT_INTERNAL_ERROR */
export const KvmInternalError = {
  EMULATION: 1,
  SIMUL_EX: 2,
  DELIVERY_EV: 3,
  UNEXPECTED_EXIT_REASON: 4,
} as const;

/** kvm_run.system_event.type (KVM_SYSTEM_EVENT_*) */
export const KvmSystemEvent = {
  SHUTDOWN: 1,
  RESET: 2,
  CRASH: 3,
  WAKEUP: 4,
  SUSPEND: 5,
  SEV_TERM: 6,
  TDX_FATAL: 7,
} as const;

/** kvm_run.msr.reason and the KVM_CAP_X86_USER_SPACE_MSR argument bits (KVM_MSR_EXIT_REASON_*). */
export const KvmMsrExitReason = {
  INVAL: 1 << 0,
  UNKNOWN: 1 << 1,
  FILTER: 1 << 2,
} as const;
export const KVM_MSR_EXIT_REASON_VALID_MASK =
  KvmMsrExitReason.INVAL | KvmMsrExitReason.UNKNOWN | KvmMsrExitReason.FILTER;

/** kvm_msr_filter.flags (KVM_MSR_FILTER_DEFAULT_*) and kvm_msr_filter_range.flags (KVM_MSR_FILTER_READ/WRITE). */
export const KvmMsrFilter = {
  DEFAULT_ALLOW: 0,
  DEFAULT_DENY: 1 << 0,
  READ: 1 << 0,
  WRITE: 1 << 1,
} as const;
export const KVM_MSR_FILTER_VALID_MASK = KvmMsrFilter.DEFAULT_DENY;
export const KVM_MSR_FILTER_RANGE_VALID_MASK = KvmMsrFilter.READ | KvmMsrFilter.WRITE;

/** KVM_MP_STATE_* */
export const KvmMpState = {
  RUNNABLE: 0,
  UNINITIALIZED: 1,
  INIT_RECEIVED: 2,
  HALTED: 3,
  SIPI_RECEIVED: 4,
  STOPPED: 5,
  CHECK_STOP: 6,
  OPERATING: 7,
  LOAD: 8,
  AP_RESET_HOLD: 9,
  SUSPENDED: 10,
} as const;

/** kvm_userspace_memory_region(2).flags (KVM_MEM_*); the numbers live in @tdxsim/memory's memslots. */
export const KvmMem = {
  LOG_DIRTY_PAGES: KVM_MEM_LOG_DIRTY_PAGES,
  READONLY: KVM_MEM_READONLY,
  GUEST_MEMFD: KVM_MEM_GUEST_MEMFD,
} as const;

/** KVM_MEMORY_ATTRIBUTE_PRIVATE (kvm_memory_attributes.attributes), as a bigint like the u64 field. */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = BigInt(MEMORY_ATTRIBUTE_PRIVATE);
/** KVM_MEMORY_EXIT_FLAG_PRIVATE (kvm_run.memory_fault.flags) */
export const KVM_MEMORY_EXIT_FLAG_PRIVATE = 1n << 3n;

/** Hypercall numbers (include/uapi/linux/kvm_para.h, KVM_HC_*). */
export const KvmHc = {
  VAPIC_POLL_IRQ: 1,
  MMU_OP: 2,
  FEATURES: 3,
  PPC_MAP_MAGIC_PAGE: 4,
  KICK_CPU: 5,
  MIPS_GET_CLOCK_FREQ: 6,
  MIPS_EXIT_VM: 7,
  MIPS_CONSOLE_OUTPUT: 8,
  CLOCK_PAIRING: 9,
  SEND_IPI: 10,
  SCHED_YIELD: 11,
  MAP_GPA_RANGE: 12,
} as const;

/** KVM_HC_MAP_GPA_RANGE attribute bits (asm/kvm_para.h, KVM_MAP_GPA_RANGE_*). */
export const KvmMapGpaRange = {
  PAGE_SZ_4K: 0,
  PAGE_SZ_2M: 1 << 0,
  PAGE_SZ_1G: 1 << 1,
  ENCRYPTED: 1 << 4,
  DECRYPTED: 0,
} as const;

/** kvm_run.hypercall.flags bit 0 (KVM_EXIT_HYPERCALL_LONG_MODE, asm/kvm.h). */
export const KVM_EXIT_HYPERCALL_LONG_MODE = 1n;

/** kvm_cpuid_entry2.flags (KVM_CPUID_FLAG_*; "SIGNIFCANT" is the upstream spelling). */
export const KvmCpuidFlag = {
  SIGNIFCANT_INDEX: 1 << 0,
  STATEFUL_FUNC: 1 << 1,
  STATE_READ_NEXT: 1 << 2,
} as const;

/** The vCPU mmap: kvm_run at page 0, PIO data at page 1, coalesced MMIO ring at page 2 (asm/kvm.h). */
export const KVM_PIO_PAGE_OFFSET = 1;
export const KVM_COALESCED_MMIO_PAGE_OFFSET = 2;

/** enum kvm_tdx_cmd_id (kvm_tdx_cmd.id). TERMINATE_VM came after the 6.16 base (see spec §1.10). */
export const KvmTdx = {
  CAPABILITIES: 0,
  INIT_VM: 1,
  INIT_VCPU: 2,
  INIT_MEM_REGION: 3,
  FINALIZE_VM: 4,
  GET_CPUID: 5,
  TERMINATE_VM: 6,
  CMD_NR_MAX: 7,
} as const;

/** kvm_tdx_cmd.flags for KVM_TDX_INIT_MEM_REGION */
export const KVM_TDX_MEASURE_MEMORY_REGION = 1 << 0;

/** TD ATTRIBUTES bits (tdx_arch.h); upstream 6.16 KVM offers only SEPT_VE_DISABLE. */
export const TdxTdAttr = {
  DEBUG: 1n << 0n,
  SEPT_VE_DISABLE: 1n << 28n,
  PKS: 1n << 30n,
  KL: 1n << 31n,
  PERFMON: 1n << 63n,
} as const;

export interface UapiConstantGroup {
  /** The C prefix, e.g. "KVM_EXIT_". */
  readonly prefix: string;
  readonly values: Readonly<Record<string, number | bigint>>;
}

/** Every group with its C prefix, for name lookup and the header test. */
export const UAPI_CONSTANT_GROUPS: readonly UapiConstantGroup[] = [
  { prefix: "KVM_X86_", values: KvmVmType },
  { prefix: "KVM_CAP_", values: KvmCap },
  { prefix: "KVM_EXIT_", values: KvmExit },
  { prefix: "KVM_EXIT_IO_", values: KvmExitIo },
  { prefix: "KVM_INTERNAL_ERROR_", values: KvmInternalError },
  { prefix: "KVM_SYSTEM_EVENT_", values: KvmSystemEvent },
  { prefix: "KVM_MSR_EXIT_REASON_", values: KvmMsrExitReason },
  { prefix: "KVM_MSR_FILTER_", values: KvmMsrFilter },
  { prefix: "KVM_MP_STATE_", values: KvmMpState },
  { prefix: "KVM_MEM_", values: KvmMem },
  { prefix: "KVM_HC_", values: KvmHc },
  { prefix: "KVM_MAP_GPA_RANGE_", values: KvmMapGpaRange },
  { prefix: "KVM_CPUID_FLAG_", values: KvmCpuidFlag },
  { prefix: "KVM_TDX_", values: KvmTdx },
  { prefix: "KVM_VCPUEVENT_VALID_", values: KvmVcpuEventValid },
  { prefix: "KVM_X86_SHADOW_INT_", values: KvmX86ShadowInt },
  {
    prefix: "",
    values: {
      KVMIO,
      KVM_API_VERSION,
      KVM_PIO_PAGE_OFFSET,
      KVM_COALESCED_MMIO_PAGE_OFFSET,
      KVM_MEMORY_ATTRIBUTE_PRIVATE,
      KVM_MEMORY_EXIT_FLAG_PRIVATE,
      KVM_EXIT_HYPERCALL_LONG_MODE,
      KVM_TDX_MEASURE_MEMORY_REGION,
      KVM_MSR_EXIT_REASON_VALID_MASK,
    },
  },
];

/** The upstream name of a value in a group, e.g. name(KvmExit, 2) → "KVM_EXIT_IO". */
export function uapiName(
  group: Readonly<Record<string, number | bigint>>,
  value: number | bigint,
): string | undefined {
  const g = UAPI_CONSTANT_GROUPS.find((x) => x.values === group);
  for (const [key, v] of Object.entries(group)) if (v === value) return `${g?.prefix ?? ""}${key}`;
  return undefined;
}

export const exitReasonName = (reason: number): string => uapiName(KvmExit, reason) ?? `KVM_EXIT_(${reason})`;
