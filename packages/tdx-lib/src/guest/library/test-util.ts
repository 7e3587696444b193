import { type Assembler, eax, edi, edx, esi, qword, rax, rbp, rcx, rdi, rsi, rsp } from "@tdxsim/x86/asm";
import {
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_REPORT_SIZE,
  TDX_TEST_SUCCESS_PORT,
  TDX_TEST_SUCCESS_SIZE,
} from "../../report/ports.js";
import { type GuestRoutine, localLabel } from "./routines.js";

// The guest half of test_util.c: reports to the host through Instruction.IO writes and
// ReportFatalError, the protocol the host's tdxTestAssert* helpers check.

/** 4-byte OUT of the u64 at [rbp−8] to `port` (a register or constant already in EDI). */
function writeSlotToPort(a: Assembler, size: number): void {
  a.mov(esi, size);
  a.mov(edx, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
  a.lea(rcx, qword(rbp, -8));
  a.call(a.label("tdg_vp_vmcall_instruction_io"));
}

/** tdx_test_success(): OUT of 0, 4 bytes, to port 0x30. */
export const tdxTestSuccess: GuestRoutine = {
  name: "tdx_test_success",
  params: 0,
  returns: false,
  emit(a) {
    a.push(rbp).mov(rbp, rsp).sub(rsp, 16);
    a.mov(qword(rbp, -8), 0);
    a.mov(edi, TDX_TEST_SUCCESS_PORT);
    writeSlotToPort(a, TDX_TEST_SUCCESS_SIZE);
    a.leave().ret();
  },
};

/** tdx_test_report_to_user_space(u32 data): 4-byte OUT to port 0x31; returns the status. */
export const tdxTestReportToUserSpace: GuestRoutine = {
  name: "tdx_test_report_to_user_space",
  params: 1,
  returns: true,
  emit(a) {
    a.push(rbp).mov(rbp, rsp).sub(rsp, 16);
    a.mov(eax, edi); // the u32 argument, zero-extended
    a.mov(qword(rbp, -8), rax);
    a.mov(edi, TDX_TEST_REPORT_PORT);
    writeSlotToPort(a, TDX_TEST_REPORT_SIZE);
    a.leave().ret();
  },
};

/**
 * tdx_test_send_64bit(port, data): two 4-byte OUTs to `port`, low half first; a failing first
 * write is returned without sending the second.
 */
export const tdxTestSend64bit: GuestRoutine = {
  name: "tdx_test_send_64bit",
  params: 2,
  returns: true,
  emit(a) {
    const done = localLabel(a, "send_64bit_done");
    a.push(rbp).mov(rbp, rsp).sub(rsp, 32);
    a.mov(qword(rbp, -16), rdi);
    a.mov(qword(rbp, -24), rsi);
    a.mov(eax, esi);
    a.mov(qword(rbp, -8), rax);
    writeSlotToPort(a, 4);
    a.test(rax, rax).jnz(done);
    a.mov(rax, qword(rbp, -24));
    a.shr(rax, 32);
    a.mov(qword(rbp, -8), rax);
    a.mov(rdi, qword(rbp, -16));
    writeSlotToPort(a, 4);
    a.bind(done);
    a.leave().ret();
  },
};

/** tdx_test_report_64bit_to_user_space(data): tdx_test_send_64bit on port 0x31. */
export const tdxTestReport64bitToUserSpace: GuestRoutine = {
  name: "tdx_test_report_64bit_to_user_space",
  params: 1,
  returns: true,
  emit(a) {
    a.mov(rsi, rdi);
    a.mov(edi, TDX_TEST_REPORT_PORT);
    a.jmp(a.label("tdx_test_send_64bit"));
  },
};

/** tdx_test_fatal_with_data(error_code, data_gpa): ReportFatalError. */
export const tdxTestFatalWithData: GuestRoutine = {
  name: "tdx_test_fatal_with_data",
  params: 2,
  returns: false,
  emit(a) {
    a.jmp(a.label("tdg_vp_vmcall_report_fatal_error"));
  },
};

/** tdx_test_fatal(error_code): tdx_test_fatal_with_data(error_code, 0). */
export const tdxTestFatal: GuestRoutine = {
  name: "tdx_test_fatal",
  params: 1,
  returns: false,
  emit(a) {
    a.xor(esi, esi);
    a.jmp(a.label("tdx_test_fatal_with_data"));
  },
};

/** tdx_assert_error(ret): if (ret) tdx_test_fatal(ret). */
export const tdxAssertError: GuestRoutine = {
  name: "tdx_assert_error",
  params: 1,
  returns: false,
  emit(a) {
    const ok = localLabel(a, "assert_error_ok");
    a.test(rdi, rdi).jz(ok);
    a.jmp(a.label("tdx_test_fatal"));
    a.bind(ok);
    a.ret();
  },
};

export const TEST_UTIL_ROUTINES: readonly GuestRoutine[] = [
  tdxTestSuccess,
  tdxTestReportToUserSpace,
  tdxTestSend64bit,
  tdxTestReport64bitToUserSpace,
  tdxTestFatalWithData,
  tdxTestFatal,
  tdxAssertError,
];
