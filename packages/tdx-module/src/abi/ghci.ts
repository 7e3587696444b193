// GHCI TDVMCALL sub-functions (guest R11) and statuses (R10 on return), as used by Linux and KVM.
// Source: shared/spec/tdx-abi.md §2.2.

export const TDX_HYPERCALL_STANDARD = 0;

export const TdvmcallLeaf = {
  INSTRUCTION_CPUID: 0x0a,
  INSTRUCTION_HLT: 0x0c,
  INSTRUCTION_IO: 0x1e,
  INSTRUCTION_RDMSR: 0x1f,
  INSTRUCTION_WRMSR: 0x20,
  VE_REQUEST_MMIO: 0x30,
  INSTRUCTION_WBINVD: 0x36,
  INSTRUCTION_PCONFIG: 0x41,
  GET_TD_VM_CALL_INFO: 0x10000,
  MAP_GPA: 0x10001,
  GET_QUOTE: 0x10002,
  REPORT_FATAL_ERROR: 0x10003,
  SETUP_EVENT_NOTIFY_INTERRUPT: 0x10004,
} as const;

export const TdvmcallStatus = {
  SUCCESS: 0x0000000000000000n,
  RETRY: 0x0000000000000001n,
  INVALID_OPERAND: 0x8000000000000000n,
  GPA_INUSE: 0x8000000000000001n,
  ALIGN_ERROR: 0x8000000000000002n,
  SUBFUNC_UNSUPPORTED: 0x8000000000000003n,
} as const;

/** TDG.VP.VMCALL RCX (tdvmcall_control_t): bits 15:0 GPR_SELECT, 31:16 XMM_SELECT, 63:32 reserved. */
export const TDVMCALL_GPR_RAX = 1 << 0;
export const TDVMCALL_GPR_RCX = 1 << 1;
export const TDVMCALL_GPR_RSP = 1 << 4;
export const TDVMCALL_GPR_RBP = 1 << 5;
/** Linux's TDVMCALL_EXPOSE_REGS_MASK (asm/shared/tdx.h): RDX, RBX, RSI, RDI, R8-R15 — no RBP, so it
 * works with KVM's CONFIG_FLAGS.NO_RBP_MOD. (Older kernels used 0xFCEC, which exposes RBP.) */
export const TDVMCALL_EXPOSE_REGS_MASK = 0xffcc;
