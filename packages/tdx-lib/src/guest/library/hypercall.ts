import {
  type Assembler,
  eax,
  ecx,
  qword,
  r10,
  r11,
  r12,
  r13,
  r14,
  r15,
  rax,
  rbp,
  rdi,
  rsi,
  rsp,
} from "@tdxsim/x86/asm";
import { TDVMCALL_EXPOSE_REGS_MASK, TDX_HCALL_HAS_OUTPUT, TDX_HYPERCALL_ARGS } from "../library-abi.js";
import { TDG_VP_VMCALL } from "../tdcall-leaves.js";
import { type GuestRoutine, localLabel } from "./routines.js";

// tdcall.S: __tdx_hypercall(struct tdx_hypercall_args *args /* RDI */, unsigned long flags /* RSI */).
// R10–R15 are loaded from args and exposed to the VMM (RCX = 0xFC00); RAX ← R10, the TDVMCALL
// status; with TDX_HCALL_HAS_OUTPUT the six registers are stored back. RDI and RSI are not in
// the exposure mask, so the TDX module preserves them across the TDCALL.

const ARG_REGS = [
  [r10, TDX_HYPERCALL_ARGS.r10],
  [r11, TDX_HYPERCALL_ARGS.r11],
  [r12, TDX_HYPERCALL_ARGS.r12],
  [r13, TDX_HYPERCALL_ARGS.r13],
  [r14, TDX_HYPERCALL_ARGS.r14],
  [r15, TDX_HYPERCALL_ARGS.r15],
] as const;

export const tdxHypercall: GuestRoutine = {
  name: "__tdx_hypercall",
  params: 2,
  returns: true,
  emit(a: Assembler) {
    const done = localLabel(a, "hypercall_done");
    a.push(rbp).mov(rbp, rsp);
    a.push(r15).push(r14).push(r13).push(r12);
    a.mov(eax, TDG_VP_VMCALL);
    for (const [reg, offset] of ARG_REGS) a.mov(reg, qword(rdi, offset));
    a.mov(ecx, TDVMCALL_EXPOSE_REGS_MASK);
    a.tdcall();
    a.mov(rax, r10);
    a.test(rsi, TDX_HCALL_HAS_OUTPUT).jz(done);
    for (const [reg, offset] of ARG_REGS) a.mov(qword(rdi, offset), reg);
    a.bind(done);
    a.pop(r12).pop(r13).pop(r14).pop(r15).pop(rbp);
    a.ret();
  },
};
