// The parts of struct kvm_run the report decoders read. Every number comes from @tdxsim/kvm's
// uapi (the one source of truth for the KVM ABI); this file only gives them the short names the
// decoders use.
import { KvmExit, KvmExitIo, KvmSystemEvent, KVM_RUN_OFFSETS as O } from "@tdxsim/kvm";

export const KVM_RUN_EXIT_REASON = O.exit_reason;
/** The exit union starts at byte 32. */
export const KVM_RUN_EXIT_UNION = O.exit_union;

export const KVM_RUN_IO_DIRECTION = O["io.direction"];
export const KVM_RUN_IO_SIZE = O["io.size"];
export const KVM_RUN_IO_PORT = O["io.port"];
export const KVM_RUN_IO_COUNT = O["io.count"];
export const KVM_RUN_IO_DATA_OFFSET = O["io.data_offset"];

export const KVM_RUN_MMIO_PHYS_ADDR = O["mmio.phys_addr"];
export const KVM_RUN_MMIO_DATA = O["mmio.data"];
export const KVM_RUN_MMIO_LEN = O["mmio.len"];
export const KVM_RUN_MMIO_IS_WRITE = O["mmio.is_write"];

export const KVM_RUN_SYSTEM_EVENT_TYPE = O["system_event.type"];
export const KVM_RUN_SYSTEM_EVENT_NDATA = O["system_event.ndata"];
export const KVM_RUN_SYSTEM_EVENT_DATA = O["system_event.data"];

export const KVM_RUN_MEMORY_FAULT_FLAGS = O["memory_fault.flags"];
export const KVM_RUN_MEMORY_FAULT_GPA = O["memory_fault.gpa"];
export const KVM_RUN_MEMORY_FAULT_SIZE = O["memory_fault.size"];

export const KVM_RUN_MSR_ERROR = O["msr.error"];
export const KVM_RUN_MSR_REASON = O["msr.reason"];
export const KVM_RUN_MSR_INDEX = O["msr.index"];
export const KVM_RUN_MSR_DATA = O["msr.data"];

export const KVM_RUN_HYPERCALL_NR = O["hypercall.nr"];
export const KVM_RUN_HYPERCALL_ARGS = O["hypercall.args"];
export const KVM_RUN_HYPERCALL_RET = O["hypercall.ret"];
export const KVM_RUN_HYPERCALL_FLAGS = O["hypercall.flags"];

export const KVM_EXIT_IO_IN = KvmExitIo.IN;
export const KVM_EXIT_IO_OUT = KvmExitIo.OUT;

export const KVM_EXIT_IO = KvmExit.IO;
export const KVM_EXIT_HYPERCALL = KvmExit.HYPERCALL;
export const KVM_EXIT_MMIO = KvmExit.MMIO;
export const KVM_EXIT_SYSTEM_EVENT = KvmExit.SYSTEM_EVENT;
export const KVM_EXIT_MEMORY_FAULT = KvmExit.MEMORY_FAULT;
export const KVM_EXIT_X86_RDMSR = KvmExit.X86_RDMSR;
export const KVM_EXIT_X86_WRMSR = KvmExit.X86_WRMSR;

export const KVM_SYSTEM_EVENT_TDX_FATAL = KvmSystemEvent.TDX_FATAL;

/** Exit reason names as exit_reason_str() prints them (KVM_EXIT_* numbering of kvm.h). */
export const KVM_EXIT_REASON_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, value] of Object.entries(KvmExit)) names[value] = name;
  return names;
})();

export const KVM_SYSTEM_EVENT_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(KvmSystemEvent).map(([name, value]) => [value, name]),
);

export function exitReasonName(reason: number): string {
  const name = KVM_EXIT_REASON_NAMES[reason];
  return name ? `KVM_EXIT_${name} (${reason})` : `unknown exit reason ${reason}`;
}
