// IDT entry points for the cases that watch an exception in the guest: the gate enters with the
// CPU's frame (error code, RIP, CS, RFLAGS, RSP, SS) on the stack; the entry hands the error code
// and the interrupted CS to a builder function `observer(error_code, cs)` on a SysV-aligned stack.
// The observer reports to the host and ends the test; it never returns (UD2 behind the call).
import { type Assembler, qword, rdi, rsi, rsp } from "@tdxsim/x86/asm";

/** Vectors (SDM table 6-1). */
export const DF_VECTOR = 8;
export const GP_VECTOR = 13;

/** Frame offsets of an exception with an error code, in 64-bit mode. */
const FRAME_ERROR_CODE = 0;
const FRAME_CS = 16;

export function emitExceptionEntry(observer: string): (a: Assembler) => void {
  return (a) => {
    a.mov(rdi, qword(rsp, FRAME_ERROR_CODE));
    a.mov(rsi, qword(rsp, FRAME_CS));
    a.and(rsp, -16);
    a.cld();
    a.call(a.label(observer));
    a.ud2();
  };
}
