// TDCALL leaf numbers (RAX) and TDG.VP.VMCALL sub-functions (R11) the guest library issues:
// the numbers are @tdxsim/tdx-module's (one source of truth), under the selftests' names.
import { ExitReason, TdcallLeaf, TdvmcallLeaf, TdvmcallStatus } from "@tdxsim/tdx-module";

/** TDCALL leaves (RAX bits 15:0). */
export const TDG_VP_VMCALL = TdcallLeaf.TDG_VP_VMCALL;
export const TDG_VP_INFO = TdcallLeaf.TDG_VP_INFO;
export const TDG_MR_RTMR_EXTEND = TdcallLeaf.TDG_MR_RTMR_EXTEND;
export const TDG_VP_VEINFO_GET = TdcallLeaf.TDG_VP_VEINFO_GET;
export const TDG_MR_REPORT = TdcallLeaf.TDG_MR_REPORT;
export const TDG_MEM_PAGE_ACCEPT = TdcallLeaf.TDG_MEM_PAGE_ACCEPT;

/** TDG.VP.VMCALL sub-functions (R11); the instruction ones equal the VMX basic exit reason. */
export const TDG_VP_VMCALL_INSTRUCTION_CPUID = TdvmcallLeaf.INSTRUCTION_CPUID;
export const TDG_VP_VMCALL_INSTRUCTION_HLT = TdvmcallLeaf.INSTRUCTION_HLT;
export const TDG_VP_VMCALL_INSTRUCTION_IO = TdvmcallLeaf.INSTRUCTION_IO;
export const TDG_VP_VMCALL_INSTRUCTION_RDMSR = TdvmcallLeaf.INSTRUCTION_RDMSR;
export const TDG_VP_VMCALL_INSTRUCTION_WRMSR = TdvmcallLeaf.INSTRUCTION_WRMSR;
export const TDG_VP_VMCALL_VE_REQUEST_MMIO = TdvmcallLeaf.VE_REQUEST_MMIO;
export const TDG_VP_VMCALL_GET_TD_VM_CALL_INFO = TdvmcallLeaf.GET_TD_VM_CALL_INFO;
export const TDG_VP_VMCALL_MAP_GPA = TdvmcallLeaf.MAP_GPA;
// TDG_VP_VMCALL_REPORT_FATAL_ERROR lives with its host-side decoder in report/fatal-error.ts.

/** #VE.RequestMMIO directions (R13), also the expected kvm_run mmio.is_write. */
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_READ = 0;
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE = 1;

/** TDVMCALL status codes (R10 on return). */
export const TDG_VP_VMCALL_SUCCESS = TdvmcallStatus.SUCCESS;
export const TDG_VP_VMCALL_INVALID_OPERAND = TdvmcallStatus.INVALID_OPERAND;

/** VMX basic exit reasons a #VE reports in ve_info.exit_reason. */
export const EXIT_REASON_CPUID = ExitReason.CPUID;
export const EXIT_REASON_HLT = ExitReason.HLT;
export const EXIT_REASON_IO_INSTRUCTION = ExitReason.IO_INSTRUCTION;
export const EXIT_REASON_MSR_READ = ExitReason.MSR_READ;
export const EXIT_REASON_MSR_WRITE = ExitReason.MSR_WRITE;
export const EXIT_REASON_EPT_VIOLATION = ExitReason.EPT_VIOLATION;

/** TDG.MEM.PAGE.ACCEPT level in RCX[2:0]. */
export const MEM_PAGE_ACCEPT_LEVEL_4K = 0;
export const MEM_PAGE_ACCEPT_LEVEL_2M = 1;
