// KVM_CHECK_EXTENSION answers of Linux 6.16 on an Intel host (kvm_vm_ioctl_check_extension_generic
// in virt/kvm/kvm_main.c and kvm_vm_ioctl_check_extension in arch/x86/kvm/x86.c), as data. The
// same cap is asked on /dev/kvm (no VM) or on a VM fd, where some answers depend on the VM type.
// Caps not listed answer 0, as KVM does for anything it does not know.
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_USER_MEM_SLOTS } from "@tdxsim/memory";
import type { KvmHost } from "./host.js";
import { KvmCap, KvmHc, KvmVmType } from "./uapi/constants.js";
import { kvmXsave } from "./uapi/structs.js";

export interface CapVmContext {
  readonly type: number;
  /** kvm->max_vcpus (clamped to the present CPUs for a TD) */
  readonly maxVcpus: number;
}

type CapAnswer = number | ((host: KvmHost, vm: CapVmContext | undefined) => number);

/** VMs with private memory (guest_memfd-backed, memory attributes): TDX here. */
const hasPrivateMem = (vm: CapVmContext | undefined): boolean => vm?.type === KvmVmType.TDX_VM;
/** VMs whose register state is protected (kvm->arch.has_protected_state): TDX here. */
const hasProtectedState = hasPrivateMem;

/** kvm_supported_mem_attributes: PRIVATE on /dev/kvm (some VM type has it) and on VMs with private memory, else 0. */
export function supportedMemoryAttributes(vm?: CapVmContext): number {
  return !vm || hasPrivateMem(vm) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
}

/** KVM_EXIT_HYPERCALL_VALID_MASK: only KVM_HC_MAP_GPA_RANGE can exit to userspace. */
export const KVM_EXIT_HYPERCALL_VALID_MASK = 1 << KvmHc.MAP_GPA_RANGE;
/** KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK */
export const KVM_X2APIC_API_VALID_FLAGS = 3;
/** APIC_BUS_CYCLE_NS_DEFAULT: 1 GHz APIC bus (TDX wants 25 MHz = 40 ns, set by the VMM). */
export const APIC_BUS_CYCLE_NS_DEFAULT = 1;

const CAPS: ReadonlyMap<number, CapAnswer> = new Map<number, CapAnswer>([
  // generic, always 1
  [KvmCap.USER_MEMORY, 1],
  [KvmCap.DESTROY_MEMORY_REGION_WORKS, 1],
  [KvmCap.JOIN_MEMORY_REGIONS_WORKS, 1],
  [KvmCap.INTERNAL_ERROR_DATA, 1],
  [KvmCap.CHECK_EXTENSION_VM, 1],
  [KvmCap.ENABLE_CAP_VM, 1],
  [KvmCap.BINARY_STATS_FD, 1],
  [KvmCap.SYSTEM_EVENT_DATA, 1],
  [KvmCap.USER_MEMORY2, 1],
  [KvmCap.NR_MEMSLOTS, KVM_USER_MEM_SLOTS],
  // guest_memfd and attributes: on /dev/kvm "some VM type can use them", on a VM "this one can"
  [KvmCap.MEMORY_ATTRIBUTES, (_h, vm) => supportedMemoryAttributes(vm)],
  [KvmCap.GUEST_MEMFD, (_h, vm) => (!vm || hasPrivateMem(vm) ? 1 : 0)],
  // x86, always 1
  [KvmCap.IRQCHIP, 1],
  [KvmCap.HLT, 1],
  [KvmCap.USER_NMI, 1],
  [KvmCap.EXT_CPUID, 1],
  // KVM_GET_EMULATED_CPUID and KVM_GET/SET_XCRS (the core has XSAVE: supported-cpuid.ts)
  [KvmCap.EXT_EMUL_CPUID, 1],
  [KvmCap.XCRS, 1],
  [KvmCap.XSAVE, 1],
  // KVM_GET_XSAVE2's buffer size: struct kvm_xsave (the x87 + SSE image fits in it)
  [KvmCap.XSAVE2, kvmXsave.size],
  [KvmCap.MP_STATE, 1],
  [KvmCap.SYNC_MMU, 1],
  [KvmCap.SET_TSS_ADDR, 1],
  [KvmCap.IOEVENTFD, 1],
  [KvmCap.GET_TSC_KHZ, 1],
  [KvmCap.TSC_CONTROL, 1],
  [KvmCap.VM_TSC_CONTROL, 1],
  [KvmCap.TSC_DEADLINE_TIMER, 1],
  [KvmCap.ENABLE_CAP, 1],
  [KvmCap.SPLIT_IRQCHIP, 1],
  [KvmCap.IMMEDIATE_EXIT, 1],
  [KvmCap.GET_MSR_FEATURES, 1],
  [KvmCap.X86_USER_SPACE_MSR, 1],
  [KvmCap.X86_MSR_FILTER, 1],
  [KvmCap.X86_TRIPLE_FAULT_EVENT, 1],
  [KvmCap.MEMORY_FAULT_INFO, 1],
  [KvmCap.X86_GUEST_MODE, 1],
  [KvmCap.X2APIC_API, KVM_X2APIC_API_VALID_FLAGS],
  [KvmCap.EXIT_HYPERCALL, KVM_EXIT_HYPERCALL_VALID_MASK],
  [KvmCap.X86_APIC_BUS_CYCLES_NS, APIC_BUS_CYCLE_NS_DEFAULT],
  // EPT is on: tdp_enabled
  [KvmCap.PRE_FAULT_MEMORY, 1],
  // read-only memslots are refused for VMs with protected state (kvm_arch_has_readonly_mem)
  [KvmCap.READONLY_MEM, (_h, vm) => (vm && hasProtectedState(vm) ? 0 : 1)],
  [KvmCap.VM_TYPES, (h) => h.supportedVmTypes],
  [KvmCap.NR_VCPUS, (h) => Math.min(h.cpus, h.maxVcpus)],
  [KvmCap.MAX_VCPUS, (h, vm) => (vm ? vm.maxVcpus : h.maxVcpus)],
]);

/** KVM_CHECK_EXTENSION(cap) on /dev/kvm (vm undefined) or on a VM fd. */
export function checkExtension(host: KvmHost, cap: bigint | number, vm?: CapVmContext): number {
  const n = typeof cap === "bigint" ? (cap > 0xffffffffn ? -1 : Number(cap)) : cap;
  const answer = CAPS.get(n);
  if (answer === undefined) return 0;
  return typeof answer === "number" ? answer : answer(host, vm);
}

/** The caps this table answers non-zero for on /dev/kvm (for docs/tests). */
export function knownCaps(): number[] {
  return [...CAPS.keys()];
}
