// Byte offsets inside struct kvm_run (include/uapi/linux/kvm.h, x86-64). The exit union starts
// at 32 and is 256 bytes; the PIO data page follows kvm_run at KVM_PIO_PAGE_OFFSET * 4096.
// test/uapi-headers.test.ts compares these with offsetof() from the C compiler (and, for the
// members newer than the installed headers — memory_fault and tdx — with the upstream layout).
import { PAGE_SIZE } from "@tdxsim/memory";
import { KVM_COALESCED_MMIO_PAGE_OFFSET, KVM_PIO_PAGE_OFFSET } from "./constants.js";

const U = 32; // start of the exit union

export const KVM_RUN_OFFSETS = {
  request_interrupt_window: 0,
  immediate_exit: 1,
  exit_reason: 8,
  ready_for_interrupt_injection: 12,
  if_flag: 13,
  flags: 14,
  cr8: 16,
  apic_base: 24,
  exit_union: U,

  "hw.hardware_exit_reason": U,

  "fail_entry.hardware_entry_failure_reason": U,
  "fail_entry.cpu": U + 8,

  "ex.exception": U,
  "ex.error_code": U + 4,

  "io.direction": U,
  "io.size": U + 1,
  "io.port": U + 2,
  "io.count": U + 4,
  "io.data_offset": U + 8,

  "mmio.phys_addr": U,
  "mmio.data": U + 8,
  "mmio.len": U + 16,
  "mmio.is_write": U + 20,

  "hypercall.nr": U,
  "hypercall.args": U + 8,
  "hypercall.ret": U + 56,
  /** union { __u32 longmode (userspace view); __u64 flags; } */
  "hypercall.flags": U + 64,

  "internal.suberror": U,
  "internal.ndata": U + 4,
  "internal.data": U + 8,

  "system_event.type": U,
  "system_event.ndata": U + 4,
  "system_event.data": U + 8,

  "msr.error": U,
  "msr.reason": U + 8,
  "msr.index": U + 12,
  "msr.data": U + 16,

  "memory_fault.flags": U,
  "memory_fault.gpa": U + 8,
  "memory_fault.size": U + 16,

  "tdx.flags": U,
  "tdx.nr": U + 8,
  /** first word of every tdx union member: unknown.ret, get_quote.ret, ... */
  "tdx.ret": U + 16,
  /** unknown.data[5] / get_quote.gpa,size / get_tdvmcall_info.leaf,r11..r14 / setup_event_notify.vector */
  "tdx.data": U + 24,

  kvm_valid_regs: 288,
  kvm_dirty_regs: 296,
  s: 304,
} as const;

export const KVM_RUN_EXIT_UNION_SIZE = 256;
export const SYNC_REGS_SIZE_BYTES = 2048;
/** sizeof(struct kvm_run) on x86-64 */
export const KVM_RUN_SIZE = 304 + SYNC_REGS_SIZE_BYTES;

/** Offset of the PIO data area from the start of the mapping (io.data_offset). */
export const KVM_PIO_DATA_OFFSET = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;

/**
 * What KVM_GET_VCPU_MMAP_SIZE returns on x86-64 without a dirty ring: the kvm_run page, the
 * PIO data page and the coalesced-MMIO ring page.
 */
export const KVM_VCPU_MMAP_SIZE = (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * PAGE_SIZE;

/** Sizes of arrays in the union members. */
export const KVM_RUN_HYPERCALL_ARGS = 6;
export const KVM_RUN_INTERNAL_DATA = 16;
export const KVM_RUN_SYSTEM_EVENT_DATA = 16;
export const KVM_RUN_TDX_UNKNOWN_DATA = 5;
