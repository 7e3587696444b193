import {
  type Assembler,
  dword,
  eax,
  ecx,
  edi,
  edx,
  esi,
  qword,
  r8,
  r9,
  rax,
  rbp,
  rbx,
  rcx,
  rdi,
  rdx,
  rsi,
  rsp,
} from "@tdxsim/x86/asm";
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_HLT,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
} from "../tdcall-leaves.js";
import { EX_REGS } from "./ex-regs.js";
import { type GuestRoutine, localLabel } from "./routines.js";

// guest_ve_emulate_instruction(struct ex_regs *regs, u64 exit_reason): the instruction #VEs a
// Linux TD guest emulates with a TDVMCALL — CPUID, RDMSR, WRMSR, HLT — with the instruction's
// register semantics (CPUID and RDMSR write 32-bit halves, zero-extended; HLT passes
// "interrupts blocked" = !RFLAGS.IF). The caller skips the instruction by ve.instr_len on
// success. Returns 0, the TDVMCALL status, or INSTRUCTION_NOT_EMULATED for another reason.

export const INSTRUCTION_NOT_EMULATED = -1;
const RFLAGS_IF_BIT = 9;
const SCRATCH = -16;

export const guestVeEmulateInstruction: GuestRoutine = {
  name: "guest_ve_emulate_instruction",
  params: 2,
  returns: true,
  emit(a: Assembler) {
    const label = (hint: string) => localLabel(a, `vei_${hint}`);
    const notCpuid = label("not_cpuid");
    const notRdmsr = label("not_rdmsr");
    const notWrmsr = label("not_wrmsr");
    const notHlt = label("not_hlt");
    const done = label("done");
    const slot = (name: keyof typeof EX_REGS) => qword(rbx, EX_REGS[name]);
    const low = (name: keyof typeof EX_REGS) => dword(rbx, EX_REGS[name]);
    a.push(rbp).mov(rbp, rsp).push(rbx).sub(rsp, 8);
    a.mov(rbx, rdi);

    // CPUID: EAX/ECX in, then EAX, EBX, ECX, EDX written as u32s over zeroed slots.
    a.cmp(rsi, EXIT_REASON_CPUID).jne(notCpuid);
    a.mov(edi, low("rax"));
    a.mov(esi, low("rcx"));
    for (const r of ["rax", "rbx", "rcx", "rdx"] as const) a.mov(slot(r), 0);
    a.lea(rdx, slot("rax"));
    a.lea(rcx, slot("rbx"));
    a.lea(r8, slot("rcx"));
    a.lea(r9, slot("rdx"));
    a.call(a.label("tdg_vp_vmcall_instruction_cpuid"));
    a.jmp(done);

    // RDMSR: ECX in; EDX:EAX out.
    a.bind(notCpuid);
    a.cmp(rsi, EXIT_REASON_MSR_READ).jne(notRdmsr);
    a.mov(edi, low("rcx"));
    a.lea(rsi, qword(rbp, SCRATCH));
    a.call(a.label("tdg_vp_vmcall_instruction_rdmsr"));
    a.test(rax, rax).jnz(done);
    a.mov(rcx, qword(rbp, SCRATCH));
    a.mov(edx, ecx);
    a.mov(slot("rax"), rdx);
    a.shr(rcx, 32);
    a.mov(slot("rdx"), rcx);
    a.jmp(done);

    // WRMSR: ECX, EDX:EAX in.
    a.bind(notRdmsr);
    a.cmp(rsi, EXIT_REASON_MSR_WRITE).jne(notWrmsr);
    a.mov(edi, low("rcx"));
    a.mov(esi, low("rdx"));
    a.shl(rsi, 32);
    a.mov(eax, low("rax"));
    a.or(rsi, rax);
    a.call(a.label("tdg_vp_vmcall_instruction_wrmsr"));
    a.jmp(done);

    // HLT: R12 = 1 when the interrupted code had interrupts disabled.
    a.bind(notWrmsr);
    a.cmp(rsi, EXIT_REASON_HLT).jne(notHlt);
    a.mov(rdi, slot("rflags"));
    a.shr(rdi, RFLAGS_IF_BIT).and(edi, 1).xor(edi, 1);
    a.call(a.label("tdg_vp_vmcall_instruction_hlt"));
    a.jmp(done);

    a.bind(notHlt);
    a.mov(rax, INSTRUCTION_NOT_EMULATED);
    a.bind(done);
    a.add(rsp, 8).pop(rbx).pop(rbp);
    a.ret();
  },
};
