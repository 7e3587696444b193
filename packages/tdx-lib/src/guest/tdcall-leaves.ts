// TDCALL leaf numbers (RAX) and TDG.VP.VMCALL sub-functions (R11) the guest library issues:
// the values of the TDX module 1.5 (tdx_api_defs.h) and the GHCI, under the selftests' names.

/** TDCALL leaves (RAX bits 15:0). */
export const TDG_VP_VMCALL = 0;
export const TDG_VP_INFO = 1;
export const TDG_MR_RTMR_EXTEND = 2;
export const TDG_VP_VEINFO_GET = 3;
export const TDG_MR_REPORT = 4;
export const TDG_MEM_PAGE_ACCEPT = 6;

/** TDG.VP.VMCALL sub-functions (R11); the instruction ones equal the VMX basic exit reason. */
export const TDG_VP_VMCALL_INSTRUCTION_CPUID = 10;
export const TDG_VP_VMCALL_INSTRUCTION_HLT = 12;
export const TDG_VP_VMCALL_INSTRUCTION_IO = 30;
export const TDG_VP_VMCALL_INSTRUCTION_RDMSR = 31;
export const TDG_VP_VMCALL_INSTRUCTION_WRMSR = 32;
export const TDG_VP_VMCALL_VE_REQUEST_MMIO = 48;
export const TDG_VP_VMCALL_GET_TD_VM_CALL_INFO = 0x10000;
export const TDG_VP_VMCALL_MAP_GPA = 0x10001;
// TDG_VP_VMCALL_REPORT_FATAL_ERROR (0x10003) lives with its host-side decoder in report/fatal-error.ts.

/** #VE.RequestMMIO directions (R13), also the expected kvm_run mmio.is_write. */
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_READ = 0;
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE = 1;

/** TDVMCALL status codes (R10 on return). */
export const TDG_VP_VMCALL_SUCCESS = 0n;
export const TDG_VP_VMCALL_INVALID_OPERAND = 0x8000_0000_0000_0000n;

/** VMX basic exit reasons a #VE reports in ve_info.exit_reason. */
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_MSR_READ = 31;
export const EXIT_REASON_MSR_WRITE = 32;
export const EXIT_REASON_EPT_VIOLATION = 48;

/** TDG.MEM.PAGE.ACCEPT level in RCX[2:0]. */
export const MEM_PAGE_ACCEPT_LEVEL_4K = 0;
export const MEM_PAGE_ACCEPT_LEVEL_2M = 1;
