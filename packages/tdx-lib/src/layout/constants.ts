// Address conventions of the KVM selftest library (kvm_util.h, x86 processor.h) that the
// TDX library inherits. Same numbers, so a GVA in a trace means the same thing as upstream.

/** Lowest page the physical allocator hands out (GPA 0x2000). */
export const KVM_UTIL_MIN_PFN = 2;
/** Lowest GVA vm_vaddr_alloc() searches from. */
export const KVM_UTIL_MIN_VADDR = 0x2000;
/** Page-table pages are allocated at or above this GPA. */
export const KVM_GUEST_PAGE_TABLE_MIN_PADDR = 0x18_0000;
/** vCPU stacks: DEFAULT_STACK_PGS pages at a GVA at or above DEFAULT_GUEST_STACK_VADDR_MIN. */
export const DEFAULT_GUEST_STACK_VADDR_MIN = 0xab_6000;
export const DEFAULT_STACK_PGS = 5;

/**
 * Size of memslot 0 when the test does not choose one. Not an upstream number (upstream
 * sizes it from vm_nr_pages_required()); 64 MiB holds the image at 0x400000, the stacks
 * at 0xab6000 and room for vm_vaddr_alloc(). td_initialize takes a size (Chen Yu's request).
 */
export const DEFAULT_TD_MEMORY_SIZE = 64 * 1024 * 1024;

/** The TD's shared bit: GPA bit GPAW − 1 (bit 47 with GPAW 48, bit 51 with GPAW 52). */
export function tdxSharedBit(gpaw: 48 | 52): number {
  if (gpaw !== 48 && gpaw !== 52) throw new RangeError(`gpaw: ${gpaw} is neither 48 nor 52`);
  return 2 ** (gpaw - 1);
}
