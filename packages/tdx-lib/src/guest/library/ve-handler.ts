import {
  type Assembler,
  cl,
  dword,
  eax,
  ecx,
  edi,
  edx,
  esi,
  plus,
  qword,
  r8,
  r9,
  r10,
  r11,
  r12,
  r13,
  r14,
  r15,
  rax,
  rbp,
  rbx,
  rcx,
  rdi,
  rdx,
  rip,
  rsi,
  rsp,
} from "@tdxsim/x86/asm";
import { VE_VECTOR } from "../../boot/descriptor-tables.js";
import { TDG_VP_VMCALL_INSTRUCTION_IO_WRITE } from "../../report/ports.js";
import { VE_INFO } from "../library-abi.js";
import { EXIT_REASON_EPT_VIOLATION, EXIT_REASON_IO_INSTRUCTION } from "../tdcall-leaves.js";
import { EX_REGS } from "./ex-regs.js";
import { type GuestGlobal, type GuestRoutine, localLabel } from "./routines.js";
import { guestVeEmulateInstruction, INSTRUCTION_NOT_EMULATED } from "./ve-instructions.js";
import { guestVeEmulateMmio, MMIO_NOT_EMULATED } from "./ve-mmio.js";

// The #VE path of the guest library (IDT vector 20).
//
// guest_ve_entry saves the GPRs as a struct ex_regs (the selftests' exception frame) and calls
// the test's handler if one is installed in guest_ve_hook — like vm_install_exception_handler,
// the installed handler owns the event and calls tdg_vp_veinfo_get itself (VEINFO.GET clears
// VE_INFO.VALID, so only one reader may call it). Otherwise guest_ve_default_handler runs:
// it records the VE info for the test (guest_ve_info, guest_ve_status, guest_ve_count),
// emulates a non-string IN/OUT through TDG.VP.VMCALL<Instruction.IO> and skips the
// instruction by ve.instr_len, emulates a MOV to or from an MMIO GPA (EPT violation, exit
// reason 48) through #VE.RequestMMIO (guest_ve_emulate_mmio), emulates CPUID, RDMSR, WRMSR
// and HLT (guest_ve_emulate_instruction), and reports anything else with ReportFatalError.

/**
 * ReportFatalError code of an unhandled #VE: bits 62:32 TD-specific (0x7E00 in 62:48, the VMX
 * exit reason in 47:32), bits 31:0 zero as the GHCI asks; the data register carries the RIP.
 */
export const TDX_VE_UNHANDLED_ERROR = 0x7e00_0000_0000_0000n;
export function tdxVeUnhandledErrorCode(exitReason: number): bigint {
  return TDX_VE_UNHANDLED_ERROR | (BigInt(exitReason & 0xffff) << 32n);
}

export const VE_GLOBALS: readonly GuestGlobal[] = [
  { name: "guest_ve_info", size: VE_INFO.size },
  { name: "guest_ve_status", size: 8 },
  { name: "guest_ve_count", size: 8 },
  { name: "guest_ve_hook", size: 8 },
];

// push order: error code (none for #VE: 0), vector, then r15 … rax so that RSP → ex_regs.rax.
const SAVED_GPRS = [r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax] as const;

export const guestVeEntry: GuestRoutine = {
  name: "guest_ve_entry",
  params: 0,
  returns: false,
  emit(a) {
    const handled = localLabel(a, "ve_handled");
    const useDefault = localLabel(a, "ve_default");
    a.push(0).push(VE_VECTOR);
    for (const reg of SAVED_GPRS) a.push(reg);
    a.mov(rbx, rsp);
    a.mov(rdi, rsp);
    a.and(rsp, -16); // SysV alignment for the C-level handler
    a.cld(); // SysV: DF clear on function entry; the interrupted code may have set it
    a.mov(rax, qword(rip, a.label("guest_ve_hook")));
    a.test(rax, rax).jz(useDefault);
    a.call(rax);
    a.jmp(handled);
    a.bind(useDefault);
    a.call(a.label("guest_ve_default_handler"));
    a.bind(handled);
    a.mov(rsp, rbx);
    for (const reg of [...SAVED_GPRS].reverse()) a.pop(reg);
    a.add(rsp, 16);
    a.iretq();
  },
};

// guest_ve_default_handler(struct ex_regs *regs): RBX = regs; locals size, write flag, data.
const SIZE_SLOT = -16;
const WRITE_SLOT = -24;
const DATA_SLOT = -32;
/** A u64 field of guest_ve_info, RIP-relative. */
const veField = (a: Assembler, offset: number) => qword(rip, plus(a.label("guest_ve_info"), offset));

/** RAX ← (1 << (size × 8)) − 1 for the access size in [rbp+SIZE_SLOT] (1, 2 or 4). */
function sizeMask(a: Assembler): void {
  a.mov(rcx, qword(rbp, SIZE_SLOT));
  a.shl(ecx, 3);
  a.mov(eax, 1);
  a.shl(rax, cl);
  a.dec(rax);
}

export const guestVeDefaultHandler: GuestRoutine = {
  name: "guest_ve_default_handler",
  params: 1,
  returns: false,
  emit(a) {
    const fatalStatus = localLabel(a, "ve_fatal_status");
    const unhandled = localLabel(a, "ve_unhandled");
    const ioCall = localLabel(a, "ve_io_call");
    const handlerReturn = localLabel(a, "ve_return");
    const inMerge = localLabel(a, "ve_in_merge");
    const skip = localLabel(a, "ve_skip");
    const notIo = localLabel(a, "ve_not_io");
    const notMmio = localLabel(a, "ve_not_mmio");
    a.push(rbp).mov(rbp, rsp).push(rbx).sub(rsp, 40);
    a.mov(rbx, rdi);
    a.lea(rdi, qword(rip, a.label("guest_ve_info")));
    a.call(a.label("tdg_vp_veinfo_get"));
    a.mov(qword(rip, a.label("guest_ve_status")), rax);
    a.add(qword(rip, a.label("guest_ve_count")), 1);
    a.test(rax, rax).jnz(fatalStatus);
    a.cmp(veField(a, VE_INFO.exitReason), EXIT_REASON_IO_INSTRUCTION).jne(notIo);

    // IN/OUT: exit qualification bits 2:0 size − 1, bit 3 IN, bits 5:4 string/REP, 31:16 port.
    a.mov(rcx, veField(a, VE_INFO.exitQual));
    a.test(ecx, 0x30).jnz(unhandled);
    a.mov(esi, ecx).and(esi, 7).inc(esi);
    a.mov(qword(rbp, SIZE_SLOT), rsi);
    a.mov(edx, ecx).shr(edx, 3).and(edx, 1).xor(edx, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    a.mov(qword(rbp, WRITE_SLOT), rdx);
    a.mov(edi, ecx).shr(edi, 16);
    sizeMask(a);
    a.and(rax, qword(rbx, EX_REGS.rax));
    a.mov(qword(rbp, DATA_SLOT), rax);
    a.bind(ioCall);
    a.mov(rsi, qword(rbp, SIZE_SLOT));
    a.mov(rdx, qword(rbp, WRITE_SLOT));
    a.lea(rcx, qword(rbp, DATA_SLOT));
    a.call(a.label("tdg_vp_vmcall_instruction_io"));
    a.test(rax, rax).jnz(fatalStatus);
    a.cmp(qword(rbp, WRITE_SLOT), 0).jne(skip);
    // IN: AL/AX merge into RAX; a 4-byte IN writes EAX, which zero-extends into RAX.
    sizeMask(a);
    a.cmp(qword(rbp, SIZE_SLOT), 4).jne(inMerge);
    a.mov(eax, dword(rbp, DATA_SLOT));
    a.mov(qword(rbx, EX_REGS.rax), rax);
    a.jmp(skip);
    a.bind(inMerge);
    a.mov(rdx, qword(rbp, DATA_SLOT));
    a.and(rdx, rax);
    a.not(rax);
    a.and(rax, qword(rbx, EX_REGS.rax));
    a.or(rax, rdx);
    a.mov(qword(rbx, EX_REGS.rax), rax);
    a.bind(skip);
    a.mov(eax, dword(rip, plus(a.label("guest_ve_info"), VE_INFO.instrLen)));
    a.add(qword(rbx, EX_REGS.rip), rax);
    a.bind(handlerReturn);
    a.add(rsp, 40).pop(rbx).pop(rbp);
    a.ret();

    // MMIO: guest_ve_emulate_mmio returns 0, a TDVMCALL status, or MMIO_NOT_EMULATED.
    a.bind(notIo);
    a.cmp(veField(a, VE_INFO.exitReason), EXIT_REASON_EPT_VIOLATION).jne(notMmio);
    a.mov(rdi, rbx);
    a.call(a.label("guest_ve_emulate_mmio"));
    a.test(rax, rax).jz(handlerReturn);
    a.cmp(rax, MMIO_NOT_EMULATED).jne(fatalStatus);
    a.jmp(unhandled);

    // CPUID, RDMSR, WRMSR, HLT: emulated, then skipped by ve.instr_len like IN/OUT.
    a.bind(notMmio);
    a.mov(rdi, rbx);
    a.mov(rsi, veField(a, VE_INFO.exitReason));
    a.call(a.label("guest_ve_emulate_instruction"));
    a.test(rax, rax).jz(skip);
    a.cmp(rax, INSTRUCTION_NOT_EMULATED).jne(fatalStatus);

    // Anything else: ReportFatalError(code with the exit reason, data = faulting RIP).
    a.bind(unhandled);
    a.mov(rdi, veField(a, VE_INFO.exitReason));
    a.and(edi, 0xffff);
    a.shl(rdi, 32);
    a.mov(rax, TDX_VE_UNHANDLED_ERROR);
    a.or(rdi, rax);
    a.mov(rsi, qword(rbx, EX_REGS.rip));
    a.call(a.label("tdx_test_fatal_with_data"));
    a.jmp(handlerReturn);
    // TDG.VP.VEINFO.GET or the IO TDVMCALL failed: report its status with the RIP.
    a.bind(fatalStatus);
    a.mov(rdi, rax);
    a.mov(rsi, qword(rbx, EX_REGS.rip));
    a.call(a.label("tdx_test_fatal_with_data"));
    a.jmp(handlerReturn);
  },
};

export const VE_ROUTINES: readonly GuestRoutine[] = [
  guestVeEntry,
  guestVeDefaultHandler,
  guestVeEmulateMmio,
  guestVeEmulateInstruction,
];
