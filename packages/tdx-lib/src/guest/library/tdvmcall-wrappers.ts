import { type Assembler, dword, eax, esi, qword, rax, rbp, rcx, rdi, rdx, rsi, rsp } from "@tdxsim/x86/asm";
import { TDG_VP_VMCALL_REPORT_FATAL_ERROR } from "../../report/fatal-error.js";
import { TDX_HCALL_HAS_OUTPUT, TDX_HYPERCALL_ARGS, TDX_HYPERCALL_STANDARD } from "../library-abi.js";
import {
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_INSTRUCTION_CPUID,
  TDG_VP_VMCALL_INSTRUCTION_HLT,
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_RDMSR,
  TDG_VP_VMCALL_INSTRUCTION_WRMSR,
  TDG_VP_VMCALL_MAP_GPA,
  TDG_VP_VMCALL_VE_REQUEST_MMIO,
  TDG_VP_VMCALL_VE_REQUEST_MMIO_READ,
  TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE,
} from "../tdcall-leaves.js";
import { type GuestRoutine, localLabel, SYSV_ARG_REGS, storeIfPointerSet } from "./routines.js";

// tdx.c's TDG.VP.VMCALL wrappers. Each builds a struct tdx_hypercall_args on its stack frame
// (R10 = TDX_HYPERCALL_STANDARD, R11 = sub-function, R12–R15 from its arguments), calls
// __tdx_hypercall, and stores the requested outputs through the caller's non-NULL pointers.

type InputRegister = "r12" | "r13" | "r14" | "r15";
type OutputRegister = "r11" | InputRegister;
/** Where an input register's value comes from. */
type Source = { arg: number; u32?: boolean } | { value: number };
/** Output register → pointer argument it is stored through (4 bytes for the u32 CPUID outputs). */
interface Output {
  readonly arg: number;
  readonly size: 4 | 8;
}

interface HypercallWrapperSpec {
  readonly name: string;
  readonly subfunction: number;
  readonly params: number;
  readonly inputs: Partial<Record<InputRegister, Source>>;
  readonly outputs?: Partial<Record<OutputRegister, Output>>;
}

// Frame: [rbp−48, rbp) = tdx_hypercall_args; below it one 8-byte slot per incoming argument.
const ARGS_BASE = -TDX_HYPERCALL_ARGS.size;
const argSlot = (i: number) => ARGS_BASE - 8 * (i + 1);
const field = (reg: keyof typeof TDX_HYPERCALL_ARGS) => ARGS_BASE + TDX_HYPERCALL_ARGS[reg];
const FRAME_SIZE = TDX_HYPERCALL_ARGS.size + 8 * SYSV_ARG_REGS.length;

/** Prologue shared by the wrappers: frame, arguments spilled, args struct zeroed with R11 set. */
function openHypercallFrame(a: Assembler, params: number, subfunction: number): void {
  a.push(rbp).mov(rbp, rsp).sub(rsp, FRAME_SIZE);
  for (let i = 0; i < params; i++) a.mov(qword(rbp, argSlot(i)), SYSV_ARG_REGS[i]);
  a.mov(qword(rbp, field("r10")), TDX_HYPERCALL_STANDARD);
  a.mov(qword(rbp, field("r11")), subfunction);
  for (const reg of ["r12", "r13", "r14", "r15"] as const) a.mov(qword(rbp, field(reg)), 0);
}

function callHypercall(a: Assembler, flags: number): void {
  a.lea(rdi, qword(rbp, ARGS_BASE));
  a.mov(esi, flags);
  a.call(a.label("__tdx_hypercall"));
}

function hypercallWrapper(spec: HypercallWrapperSpec): GuestRoutine {
  return {
    name: spec.name,
    params: spec.params,
    returns: true,
    emit(a) {
      openHypercallFrame(a, spec.params, spec.subfunction);
      for (const [reg, source] of Object.entries(spec.inputs) as [InputRegister, Source][]) {
        if ("value" in source) {
          a.mov(qword(rbp, field(reg)), source.value);
        } else if (source.u32) {
          a.mov(eax, dword(rbp, argSlot(source.arg))); // zero-extends, as the C cast does
          a.mov(qword(rbp, field(reg)), rax);
        } else {
          a.mov(rax, qword(rbp, argSlot(source.arg)));
          a.mov(qword(rbp, field(reg)), rax);
        }
      }
      const outputs = Object.entries(spec.outputs ?? {}) as [OutputRegister, Output][];
      callHypercall(a, outputs.length > 0 ? TDX_HCALL_HAS_OUTPUT : 0);
      // RAX holds the status from here on: only RCX/RDX are used to copy the outputs.
      for (const [reg, out] of outputs) {
        storeIfPointerSet(
          a,
          `${spec.name}_skip_${reg}`,
          qword(rbp, argSlot(out.arg)),
          qword(rbp, field(reg)),
          out.size,
        );
      }
      a.leave().ret();
    },
  };
}

/**
 * tdg_vp_vmcall_instruction_io(port, size, write, uint64_t *data): R12 = size, R13 = direction,
 * R14 = port, R15 = *data for a write; a read asks for output and stores R11 into *data.
 */
export const tdgVpVmcallInstructionIo: GuestRoutine = {
  name: "tdg_vp_vmcall_instruction_io",
  params: 4,
  returns: true,
  emit(a) {
    const call = localLabel(a, "io_call");
    const done = localLabel(a, "io_done");
    openHypercallFrame(a, 4, TDG_VP_VMCALL_INSTRUCTION_IO);
    a.mov(qword(rbp, field("r12")), rsi);
    a.mov(qword(rbp, field("r13")), rdx);
    a.mov(qword(rbp, field("r14")), rdi);
    a.mov(esi, TDX_HCALL_HAS_OUTPUT);
    a.test(rdx, rdx).jz(call);
    a.mov(rax, qword(rcx, 0));
    a.mov(qword(rbp, field("r15")), rax);
    a.xor(esi, esi);
    a.bind(call);
    a.lea(rdi, qword(rbp, ARGS_BASE));
    a.call(a.label("__tdx_hypercall"));
    a.cmp(qword(rbp, argSlot(2)), 0).jne(done);
    a.mov(rcx, qword(rbp, argSlot(3)));
    a.mov(rdx, qword(rbp, field("r11")));
    a.mov(qword(rcx, 0), rdx);
    a.bind(done);
    a.leave().ret();
  },
};

/**
 * tdg_vp_vmcall_report_fatal_error(error_code, data_gpa): R12 = error code, with bit 63 set when
 * a data GPA is given (GHCI: "R13 is valid"), R13 = data_gpa. The status is returned but
 * upstream ignores it: the guest continues if the host re-enters.
 */
export const tdgVpVmcallReportFatalError: GuestRoutine = {
  name: "tdg_vp_vmcall_report_fatal_error",
  params: 2,
  returns: false,
  emit(a) {
    const call = localLabel(a, "fatal_call");
    openHypercallFrame(a, 2, TDG_VP_VMCALL_REPORT_FATAL_ERROR);
    a.test(rsi, rsi).jz(call);
    a.bts(rdi, 63);
    a.bind(call);
    a.mov(qword(rbp, field("r12")), rdi);
    a.mov(qword(rbp, field("r13")), rsi);
    callHypercall(a, 0);
    a.leave().ret();
  },
};

export const TDVMCALL_WRAPPERS: readonly GuestRoutine[] = [
  tdgVpVmcallInstructionIo,
  tdgVpVmcallReportFatalError,
  hypercallWrapper({
    name: "tdg_vp_vmcall_get_td_vmcall_info",
    subfunction: TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
    params: 4,
    inputs: { r12: { value: 0 } },
    outputs: {
      r11: { arg: 0, size: 8 },
      r12: { arg: 1, size: 8 },
      r13: { arg: 2, size: 8 },
      r14: { arg: 3, size: 8 },
    },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_instruction_rdmsr",
    subfunction: TDG_VP_VMCALL_INSTRUCTION_RDMSR,
    params: 2,
    inputs: { r12: { arg: 0 } },
    outputs: { r11: { arg: 1, size: 8 } },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_instruction_wrmsr",
    subfunction: TDG_VP_VMCALL_INSTRUCTION_WRMSR,
    params: 2,
    inputs: { r12: { arg: 0 }, r13: { arg: 1 } },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_instruction_hlt",
    subfunction: TDG_VP_VMCALL_INSTRUCTION_HLT,
    params: 1,
    inputs: { r12: { arg: 0 } },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_ve_request_mmio_read",
    subfunction: TDG_VP_VMCALL_VE_REQUEST_MMIO,
    params: 3,
    inputs: { r12: { arg: 1 }, r13: { value: TDG_VP_VMCALL_VE_REQUEST_MMIO_READ }, r14: { arg: 0 } },
    outputs: { r11: { arg: 2, size: 8 } },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_ve_request_mmio_write",
    subfunction: TDG_VP_VMCALL_VE_REQUEST_MMIO,
    params: 3,
    inputs: {
      r12: { arg: 1 },
      r13: { value: TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE },
      r14: { arg: 0 },
      r15: { arg: 2 },
    },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_instruction_cpuid",
    subfunction: TDG_VP_VMCALL_INSTRUCTION_CPUID,
    params: 6,
    inputs: { r12: { arg: 0, u32: true }, r13: { arg: 1, u32: true } },
    outputs: {
      r12: { arg: 2, size: 4 },
      r13: { arg: 3, size: 4 },
      r14: { arg: 4, size: 4 },
      r15: { arg: 5, size: 4 },
    },
  }),
  hypercallWrapper({
    name: "tdg_vp_vmcall_map_gpa",
    subfunction: TDG_VP_VMCALL_MAP_GPA,
    params: 3,
    inputs: { r12: { arg: 0 }, r13: { arg: 1 } },
    outputs: { r11: { arg: 2, size: 8 } },
  }),
];
