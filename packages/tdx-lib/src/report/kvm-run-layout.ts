// The parts of struct kvm_run (include/uapi/linux/kvm.h, Linux 6.16) the report decoders
// read, at their real byte offsets. When @tdxsim/kvm lands on main its uapi constants are
// the single source of truth and these should be imported from there instead.

export const KVM_RUN_EXIT_REASON = 8;
/** The exit union starts at byte 32. */
export const KVM_RUN_EXIT_UNION = 32;

/** io: direction u8 @32, size u8 @33, port u16 @34, count u32 @36, data_offset u64 @40. */
export const KVM_RUN_IO_DIRECTION = 32;
export const KVM_RUN_IO_SIZE = 33;
export const KVM_RUN_IO_PORT = 34;
export const KVM_RUN_IO_COUNT = 36;
export const KVM_RUN_IO_DATA_OFFSET = 40;

/** mmio: phys_addr u64 @32, data[8] @40, len u32 @48, is_write u8 @52. */
export const KVM_RUN_MMIO_PHYS_ADDR = 32;
export const KVM_RUN_MMIO_DATA = 40;
export const KVM_RUN_MMIO_LEN = 48;
export const KVM_RUN_MMIO_IS_WRITE = 52;

/** system_event: type u32 @32, ndata u32 @36, data[16] u64 @40. */
export const KVM_RUN_SYSTEM_EVENT_TYPE = 32;
export const KVM_RUN_SYSTEM_EVENT_NDATA = 36;
export const KVM_RUN_SYSTEM_EVENT_DATA = 40;

/** memory_fault: flags u64 @32, gpa u64 @40, size u64 @48. */
export const KVM_RUN_MEMORY_FAULT_FLAGS = 32;
export const KVM_RUN_MEMORY_FAULT_GPA = 40;
export const KVM_RUN_MEMORY_FAULT_SIZE = 48;

/** hypercall: nr u64 @32, args[6] u64 @40, ret u64 @88, flags u64 @96. */
export const KVM_RUN_HYPERCALL_NR = 32;
export const KVM_RUN_HYPERCALL_ARGS = 40;
export const KVM_RUN_HYPERCALL_RET = 88;
export const KVM_RUN_HYPERCALL_FLAGS = 96;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SYSTEM_EVENT = 24;
export const KVM_EXIT_MEMORY_FAULT = 39;

export const KVM_SYSTEM_EVENT_TDX_FATAL = 7;

/** Exit reason names as exit_reason_str() prints them (KVM_EXIT_* numbering of kvm.h). */
export const KVM_EXIT_REASON_NAMES: readonly string[] = [
  "UNKNOWN",
  "EXCEPTION",
  "IO",
  "HYPERCALL",
  "DEBUG",
  "HLT",
  "MMIO",
  "IRQ_WINDOW_OPEN",
  "SHUTDOWN",
  "FAIL_ENTRY",
  "INTR",
  "SET_TPR",
  "TPR_ACCESS",
  "S390_SIEIC",
  "S390_RESET",
  "DCR",
  "NMI",
  "INTERNAL_ERROR",
  "OSI",
  "PAPR_HCALL",
  "S390_UCONTROL",
  "WATCHDOG",
  "S390_TSCH",
  "EPR",
  "SYSTEM_EVENT",
  "S390_STSI",
  "IOAPIC_EOI",
  "HYPERV",
  "ARM_NISV",
  "X86_RDMSR",
  "X86_WRMSR",
  "DIRTY_RING_FULL",
  "AP_RESET_HOLD",
  "X86_BUS_LOCK",
  "XEN",
  "RISCV_SBI",
  "RISCV_CSR",
  "NOTIFY",
  "LOONGARCH_IOCSR",
  "MEMORY_FAULT",
  "TDX",
];

export const KVM_SYSTEM_EVENT_NAMES: Readonly<Record<number, string>> = {
  1: "SHUTDOWN",
  2: "RESET",
  3: "CRASH",
  4: "WAKEUP",
  5: "SUSPEND",
  6: "SEV_TERM",
  7: "TDX_FATAL",
};

export function exitReasonName(reason: number): string {
  const name = KVM_EXIT_REASON_NAMES[reason];
  return name ? `KVM_EXIT_${name} (${reason})` : `unknown exit reason ${reason}`;
}
