// The ioctl argument structs of include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h
// (Linux 6.16), as field lists. Sizes/offsets are checked against the C compiler and the
// installed headers in test/uapi-headers.test.ts; the structs the installed (older) headers
// lack are checked against the upstream definitions written out in that test.
import { arrayOf, defineStruct, structArrayOf, structOf } from "./struct.js";

// ---- memory ----

export const kvmUserspaceMemoryRegion = defineStruct("kvm_userspace_memory_region", [
  ["slot", "u32"],
  ["flags", "u32"],
  ["guest_phys_addr", "u64"],
  ["memory_size", "u64"],
  ["userspace_addr", "u64"],
] as const);

export const kvmUserspaceMemoryRegion2 = defineStruct("kvm_userspace_memory_region2", [
  ["slot", "u32"],
  ["flags", "u32"],
  ["guest_phys_addr", "u64"],
  ["memory_size", "u64"],
  ["userspace_addr", "u64"],
  ["guest_memfd_offset", "u64"],
  ["guest_memfd", "u32"],
  ["pad1", "u32"],
  ["pad2", arrayOf("u64", 14)],
] as const);

/** struct kvm_dirty_log: dirty_bitmap shares a union with padding2 (a u64), so it is 8 bytes wide. */
export const kvmDirtyLog = defineStruct("kvm_dirty_log", [
  ["slot", "u32"],
  ["padding1", "u32"],
  ["dirty_bitmap", "u64"],
] as const);

export const kvmCreateGuestMemfd = defineStruct("kvm_create_guest_memfd", [
  ["size", "u64"],
  ["flags", "u64"],
  ["reserved", arrayOf("u64", 6)],
] as const);

export const kvmMemoryAttributes = defineStruct("kvm_memory_attributes", [
  ["address", "u64"],
  ["size", "u64"],
  ["attributes", "u64"],
  ["flags", "u64"],
] as const);

export const kvmPreFaultMemory = defineStruct("kvm_pre_fault_memory", [
  ["gpa", "u64"],
  ["size", "u64"],
  ["flags", "u64"],
  ["padding", arrayOf("u64", 5)],
] as const);

// ---- capabilities ----

export const kvmEnableCap = defineStruct("kvm_enable_cap", [
  ["cap", "u32"],
  ["flags", "u32"],
  ["args", arrayOf("u64", 4)],
  ["pad", arrayOf("u8", 64)],
] as const);

// ---- vCPU state ----

export const kvmRegs = defineStruct("kvm_regs", [
  ["rax", "u64"],
  ["rbx", "u64"],
  ["rcx", "u64"],
  ["rdx", "u64"],
  ["rsi", "u64"],
  ["rdi", "u64"],
  ["rsp", "u64"],
  ["rbp", "u64"],
  ["r8", "u64"],
  ["r9", "u64"],
  ["r10", "u64"],
  ["r11", "u64"],
  ["r12", "u64"],
  ["r13", "u64"],
  ["r14", "u64"],
  ["r15", "u64"],
  ["rip", "u64"],
  ["rflags", "u64"],
] as const);

export const kvmSegment = defineStruct("kvm_segment", [
  ["base", "u64"],
  ["limit", "u32"],
  ["selector", "u16"],
  ["type", "u8"],
  ["present", "u8"],
  ["dpl", "u8"],
  ["db", "u8"],
  ["s", "u8"],
  ["l", "u8"],
  ["g", "u8"],
  ["avl", "u8"],
  ["unusable", "u8"],
  ["padding", "u8"],
] as const);

export const kvmDtable = defineStruct("kvm_dtable", [
  ["base", "u64"],
  ["limit", "u16"],
  ["padding", arrayOf("u16", 3)],
] as const);

/** KVM_NR_INTERRUPTS = 256 → interrupt_bitmap has (256 + 63) / 64 = 4 words. */
export const KVM_NR_INTERRUPTS = 256;

const segment = structOf(kvmSegment);
const dtable = structOf(kvmDtable);

export const kvmSregs = defineStruct("kvm_sregs", [
  ["cs", segment],
  ["ds", segment],
  ["es", segment],
  ["fs", segment],
  ["gs", segment],
  ["ss", segment],
  ["tr", segment],
  ["ldt", segment],
  ["gdt", dtable],
  ["idt", dtable],
  ["cr0", "u64"],
  ["cr2", "u64"],
  ["cr3", "u64"],
  ["cr4", "u64"],
  ["cr8", "u64"],
  ["efer", "u64"],
  ["apic_base", "u64"],
  ["interrupt_bitmap", arrayOf("u64", Math.floor((KVM_NR_INTERRUPTS + 63) / 64))],
] as const);

export const kvmDebugregs = defineStruct("kvm_debugregs", [
  ["db", arrayOf("u64", 4)],
  ["dr6", "u64"],
  ["dr7", "u64"],
  ["flags", "u64"],
  ["reserved", arrayOf("u64", 9)],
] as const);

/** struct kvm_fpu: the FXSAVE image's fields (KVM_GET/SET_FPU). */
export const kvmFpu = defineStruct("kvm_fpu", [
  ["fpr", arrayOf("u8", 8 * 16)],
  ["fcw", "u16"],
  ["fsw", "u16"],
  ["ftwx", "u8"],
  ["pad1", "u8"],
  ["last_opcode", "u16"],
  ["last_ip", "u64"],
  ["last_dp", "u64"],
  ["xmm", arrayOf("u8", 16 * 16)],
  ["mxcsr", "u32"],
  ["pad2", "u32"],
] as const);

/** struct kvm_vcpu_events (x86): pending/injected exception, interrupt, NMI, SIPI, SMI, triple fault. */
export const kvmVcpuEvents = defineStruct("kvm_vcpu_events", [
  [
    "exception",
    structOf(
      defineStruct("kvm_vcpu_events_exception", [
        ["injected", "u8"],
        ["nr", "u8"],
        ["has_error_code", "u8"],
        ["pending", "u8"],
        ["error_code", "u32"],
      ] as const),
    ),
  ],
  [
    "interrupt",
    structOf(
      defineStruct("kvm_vcpu_events_interrupt", [
        ["injected", "u8"],
        ["nr", "u8"],
        ["soft", "u8"],
        ["shadow", "u8"],
      ] as const),
    ),
  ],
  [
    "nmi",
    structOf(
      defineStruct("kvm_vcpu_events_nmi", [
        ["injected", "u8"],
        ["pending", "u8"],
        ["masked", "u8"],
        ["pad", "u8"],
      ] as const),
    ),
  ],
  ["sipi_vector", "u32"],
  ["flags", "u32"],
  [
    "smi",
    structOf(
      defineStruct("kvm_vcpu_events_smi", [
        ["smm", "u8"],
        ["pending", "u8"],
        ["smm_inside_nmi", "u8"],
        ["latched_init", "u8"],
      ] as const),
    ),
  ],
  ["triple_fault", structOf(defineStruct("kvm_vcpu_events_triple_fault", [["pending", "u8"]] as const))],
  ["reserved", arrayOf("u8", 26)],
  ["exception_has_payload", "u8"],
  ["exception_payload", "u64"],
] as const);

/** struct kvm_xsave: the XSAVE image in its standard (uncompacted) form, 4 KiB (region[1024]). */
export const kvmXsave = defineStruct("kvm_xsave", [["region", arrayOf("u32", 1024)]] as const);

/** KVM_MAX_XCRS */
export const KVM_MAX_XCRS = 16;

export const kvmXcr = defineStruct("kvm_xcr", [
  ["xcr", "u32"],
  ["reserved", "u32"],
  ["value", "u64"],
] as const);

export const kvmXcrs = defineStruct("kvm_xcrs", [
  ["nr_xcrs", "u32"],
  ["flags", "u32"],
  ["xcrs", structArrayOf(kvmXcr, KVM_MAX_XCRS)],
  ["padding", arrayOf("u64", 16)],
] as const);

export const kvmInterrupt = defineStruct("kvm_interrupt", [["irq", "u32"]] as const);

export const kvmMpState = defineStruct("kvm_mp_state", [["mp_state", "u32"]] as const);

// ---- MSRs ----

export const kvmMsrEntry = defineStruct("kvm_msr_entry", [
  ["index", "u32"],
  ["reserved", "u32"],
  ["data", "u64"],
] as const);

/** struct kvm_msrs without its flexible entries[] (they follow at offset 8). */
export const kvmMsrsHeader = defineStruct("kvm_msrs", [
  ["nmsrs", "u32"],
  ["pad", "u32"],
] as const);

/** struct kvm_msr_list without its flexible indices[] (u32 each, from offset 4). */
export const kvmMsrListHeader = defineStruct("kvm_msr_list", [["nmsrs", "u32"]] as const);

/** KVM_MSR_FILTER_MAX_RANGES */
export const KVM_MSR_FILTER_MAX_RANGES = 16;
/** KVM_MSR_FILTER_MAX_BITMAP_SIZE: a range's bitmap is at most 0x600 bytes (12288 MSRs). */
export const KVM_MSR_FILTER_MAX_BITMAP_SIZE = 0x600;

export const kvmMsrFilterRange = defineStruct("kvm_msr_filter_range", [
  ["flags", "u32"],
  ["nmsrs", "u32"],
  ["base", "u32"],
  /** __u8 *bitmap: an address in the caller's memory */
  ["bitmap", "u64"],
] as const);

export const kvmMsrFilter = defineStruct("kvm_msr_filter", [
  ["flags", "u32"],
  ["ranges", structArrayOf(kvmMsrFilterRange, KVM_MSR_FILTER_MAX_RANGES)],
] as const);

// ---- CPUID ----

export const kvmCpuidEntry2 = defineStruct("kvm_cpuid_entry2", [
  ["function", "u32"],
  ["index", "u32"],
  ["flags", "u32"],
  ["eax", "u32"],
  ["ebx", "u32"],
  ["ecx", "u32"],
  ["edx", "u32"],
  ["padding", arrayOf("u32", 3)],
] as const);

/** struct kvm_cpuid2 without its flexible entries[] (they follow at offset 8). */
export const kvmCpuid2Header = defineStruct("kvm_cpuid2", [
  ["nent", "u32"],
  ["padding", "u32"],
] as const);

/** KVM_MAX_CPUID_ENTRIES (arch/x86/include/asm/kvm_host.h) */
export const KVM_MAX_CPUID_ENTRIES = 256;

// ---- TDX (arch/x86/include/uapi/asm/kvm.h, 6.16) ----

export const kvmTdxCmd = defineStruct("kvm_tdx_cmd", [
  ["id", "u32"],
  ["flags", "u32"],
  ["data", "u64"],
  ["hw_error", "u64"],
] as const);

/**
 * struct kvm_tdx_capabilities as in 6.16 (reserved[250]); the kvm_cpuid2 header follows at
 * 2048 and its entries at 2056. Later kernels take supported_caps out of reserved[0] (offset 48).
 */
export const kvmTdxCapabilitiesFixed = defineStruct("kvm_tdx_capabilities", [
  ["supported_attrs", "u64"],
  ["supported_xfam", "u64"],
  ["kernel_tdvmcallinfo_1_r11", "u64"],
  ["user_tdvmcallinfo_1_r11", "u64"],
  ["kernel_tdvmcallinfo_1_r12", "u64"],
  ["user_tdvmcallinfo_1_r12", "u64"],
  ["reserved", arrayOf("u64", 250)],
  ["cpuid", structOf(kvmCpuid2Header)],
] as const);

/** struct kvm_tdx_init_vm: 256 fixed bytes (what goes into TD_PARAMS), then a kvm_cpuid2 at 256. */
export const kvmTdxInitVmFixed = defineStruct("kvm_tdx_init_vm", [
  ["attributes", "u64"],
  ["xfam", "u64"],
  ["mrconfigid", arrayOf("u64", 6)],
  ["mrowner", arrayOf("u64", 6)],
  ["mrownerconfig", arrayOf("u64", 6)],
  ["reserved", arrayOf("u64", 12)],
  ["cpuid", structOf(kvmCpuid2Header)],
] as const);

export const kvmTdxInitMemRegion = defineStruct("kvm_tdx_init_mem_region", [
  ["source_addr", "u64"],
  ["gpa", "u64"],
  ["nr_pages", "u64"],
] as const);

export type KvmUserspaceMemoryRegion = ReturnType<typeof kvmUserspaceMemoryRegion.zero>;
export type KvmRegs = ReturnType<typeof kvmRegs.zero>;
export type KvmFpu = ReturnType<typeof kvmFpu.zero>;
export type KvmXcrs = ReturnType<typeof kvmXcrs.zero>;
export type KvmXsave = ReturnType<typeof kvmXsave.zero>;
export type KvmVcpuEvents = ReturnType<typeof kvmVcpuEvents.zero>;
export type KvmSegment = ReturnType<typeof kvmSegment.zero>;
export type KvmDtable = ReturnType<typeof kvmDtable.zero>;
export type KvmSregs = ReturnType<typeof kvmSregs.zero>;
export type KvmMsrEntry = ReturnType<typeof kvmMsrEntry.zero>;
export type KvmCpuidEntry2 = ReturnType<typeof kvmCpuidEntry2.zero>;
export type KvmMsrFilterRange = ReturnType<typeof kvmMsrFilterRange.zero>;
export type KvmEnableCap = ReturnType<typeof kvmEnableCap.zero>;
export type KvmTdxCmd = ReturnType<typeof kvmTdxCmd.zero>;
export type KvmTdxInitMemRegion = ReturnType<typeof kvmTdxInitMemRegion.zero>;
export type KvmUserspaceMemoryRegion2 = ReturnType<typeof kvmUserspaceMemoryRegion2.zero>;
export type KvmCreateGuestMemfd = ReturnType<typeof kvmCreateGuestMemfd.zero>;
export type KvmMemoryAttributes = ReturnType<typeof kvmMemoryAttributes.zero>;
