import {
  type Assembler,
  al,
  byte,
  cl,
  eax,
  ecx,
  edx,
  esi,
  plus,
  qword,
  r12,
  r13,
  r13d,
  r14,
  r14d,
  r15,
  r15d,
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
import { VE_INFO } from "../library-abi.js";
import { EX_REGS } from "./ex-regs.js";
import { type GuestRoutine, localLabel } from "./routines.js";

// guest_ve_emulate_mmio(struct ex_regs *regs): the MMIO half of the #VE handler, for the plain
// MOV forms a test uses to touch an MMIO GPA: 88/89 (store r8/r to m), 8A/8B (load m into
// r8/r) and MOVZX 0F B6/B7 (the builder's 1- and 2-byte loads), with an optional 66 prefix
// and REX, any ModRM memory form. The access goes to the host
// with TDG.VP.VMCALL<#VE.RequestMMIO> on ve_info.gpa; a load's result is written to the
// destination register as MOV would (a 4-byte load zero-extends); RIP moves past the
// instruction, whose length is decoded here because VE_INFO's instruction length is not valid
// for EPT violations (tdx-abi §3.1). Returns 0, the failing TDVMCALL status (RIP unchanged),
// or MMIO_NOT_EMULATED for any other instruction.

export const MMIO_NOT_EMULATED = -1;

const REGS_RIP = EX_REGS.rip;
/** RSP (register 4) lives in the interrupt frame, not with the pushed GPRs. */
const REGS_RSP = EX_REGS.rsp;
const SCRATCH = -56;

/** RAX ← (1 << (R15D × 8)) − 1 for an access size of 1, 2 or 4 bytes. */
function maskForSize(a: Assembler): void {
  a.mov(ecx, r15d).shl(ecx, 3);
  a.mov(eax, 1).shl(rax, cl).dec(rax);
}

export const guestVeEmulateMmio: GuestRoutine = {
  name: "guest_ve_emulate_mmio",
  params: 1,
  returns: true,
  emit(a: Assembler) {
    const label = (hint: string) => localLabel(a, `mmio_${hint}`);
    const no66 = label("no66");
    const noRex = label("no_rex");
    const notMovzx = label("not_movzx");
    const isStore = label("is_store");
    const byteAccess = label("byte_access");
    const haveSize = label("have_size");
    const noSib = label("no_sib");
    const disp8 = label("disp8");
    const disp32 = label("disp32");
    const lengthDone = label("length_done");
    const regBelowRsp = label("reg_below_rsp");
    const regIsRsp = label("reg_is_rsp");
    const regDone = label("reg_done");
    const load = label("load");
    const storeValue = label("store_value");
    const loadMerge = label("load_merge");
    const loadWide = label("load_wide");
    const loadZeroExtend = label("load_zero_extend");
    const success = label("success");
    const notEmulated = label("not_emulated");
    const epilogue = label("epilogue");

    // RBX regs, R12 cursor over the instruction, R13 flags (bit 0: 66, bit 1: load, bit 2: MOVZX),
    // R14 the REX byte, later the register's ex_regs address, R15 the access size.
    a.push(rbp).mov(rbp, rsp);
    a.push(rbx).push(r12).push(r13).push(r14).push(r15).sub(rsp, 24);
    a.mov(rbx, rdi);
    a.mov(r12, qword(rbx, REGS_RIP));
    a.xor(r13d, r13d).xor(r14d, r14d);
    a.movzx(eax, byte(r12, 0));
    a.cmp(al, 0x66).jne(no66);
    a.or(r13d, 1).inc(r12).movzx(eax, byte(r12, 0));
    a.bind(no66);
    a.mov(ecx, eax).and(ecx, 0xf0).cmp(ecx, 0x40).jne(noRex);
    a.mov(r14d, eax).inc(r12).movzx(eax, byte(r12, 0));
    a.bind(noRex);

    // MOVZX r, m8 / m16 (0F B6 / 0F B7): a load that zero-extends (R13 bit 2); R12 then points
    // at the second opcode byte so that the ModRM is at [R12+1] as for the one-byte opcodes.
    a.cmp(al, 0x0f).jne(notMovzx);
    a.test(r13d, 1).jnz(notEmulated); // MOVZX r16: not emulated
    a.movzx(eax, byte(r12, 1));
    a.mov(ecx, eax).and(ecx, 0xfe).cmp(ecx, 0xb6).jne(notEmulated);
    a.inc(r12);
    a.or(r13d, 2 | 4);
    a.mov(r15d, 1);
    a.test(al, 1).jz(haveSize);
    a.mov(r15d, 2);
    a.jmp(haveSize);
    a.bind(notMovzx);
    // Opcode 88–8B: bit 1 = load (8A/8B), bit 0 = operand-sized (89/8B) rather than a byte.
    a.mov(ecx, eax).and(ecx, 0xfc).cmp(ecx, 0x88).jne(notEmulated);
    a.test(al, 2).jz(isStore);
    a.or(r13d, 2);
    a.bind(isStore);
    a.test(al, 1).jz(byteAccess);
    a.mov(r15d, 8);
    a.test(r14d, 8).jnz(haveSize); // REX.W
    a.mov(r15d, 2);
    a.test(r13d, 1).jnz(haveSize); // 66
    a.mov(r15d, 4);
    a.jmp(haveSize);
    a.bind(byteAccess);
    a.mov(r15d, 1);
    // Byte registers 4–7 without REX are AH, CH, DH, BH: not emulated.
    a.test(r14d, r14d).jnz(haveSize);
    a.movzx(eax, byte(r12, 1)).shr(eax, 3).and(eax, 7).cmp(eax, 4).jae(notEmulated);
    a.bind(haveSize);

    // ModRM (EAX), mod (EDX), rm (ESI); ECX = opcode + ModRM + SIB + displacement bytes.
    a.movzx(eax, byte(r12, 1));
    a.mov(edx, eax).shr(edx, 6).cmp(edx, 3).je(notEmulated); // a register operand is no MMIO
    a.mov(esi, eax).and(esi, 7);
    a.mov(ecx, 2);
    a.cmp(esi, 4).jne(noSib);
    a.inc(ecx);
    a.movzx(esi, byte(r12, 2)).and(esi, 7); // SIB base: 5 with mod 0 means disp32, no base
    a.bind(noSib);
    a.cmp(edx, 1).je(disp8);
    a.cmp(edx, 2).je(disp32);
    a.cmp(esi, 5).jne(lengthDone); // mod 0: rm 5 (RIP-relative) or SIB base 5 carry a disp32
    a.bind(disp32);
    a.add(ecx, 3);
    a.bind(disp8);
    a.inc(ecx);
    a.bind(lengthDone);
    a.add(r12, rcx); // R12 = the next instruction

    // Register number REX.R:ModRM.reg → its ex_regs slot (rax, rcx, rdx, rbx, [rsp], rbp, rsi, …).
    a.mov(ecx, r14d).shr(ecx, 2).and(ecx, 1).shl(ecx, 3);
    a.shr(eax, 3).and(eax, 7).or(eax, ecx);
    a.cmp(eax, 4).jb(regBelowRsp).je(regIsRsp);
    a.dec(eax);
    a.bind(regBelowRsp);
    a.lea(r14, qword({ base: rbx, index: rax, scale: 8 }));
    a.jmp(regDone);
    a.bind(regIsRsp);
    a.lea(r14, qword(rbx, REGS_RSP));
    a.bind(regDone);

    a.mov(rdi, qword(rip, plus(a.label("guest_ve_info"), VE_INFO.gpa)));
    a.mov(rsi, r15);
    a.test(r13d, 2).jnz(load);

    // Store: mmio_write(gpa, size, register & mask).
    a.mov(rdx, qword(r14, 0));
    a.cmp(r15d, 8).je(storeValue);
    maskForSize(a);
    a.and(rdx, rax);
    a.bind(storeValue);
    a.call(a.label("tdg_vp_vmcall_ve_request_mmio_write"));
    a.test(rax, rax).jnz(epilogue);
    a.jmp(success);

    // Load: mmio_read(gpa, size, &scratch), then write the register as MOV does.
    a.bind(load);
    a.lea(rdx, qword(rbp, SCRATCH));
    a.call(a.label("tdg_vp_vmcall_ve_request_mmio_read"));
    a.test(rax, rax).jnz(epilogue);
    a.mov(rdx, qword(rbp, SCRATCH));
    a.test(r13d, 4).jnz(loadZeroExtend);
    a.cmp(r15d, 4).jb(loadMerge).ja(loadWide);
    a.mov(edx, edx); // a 32-bit destination zero-extends
    a.bind(loadWide);
    a.mov(qword(r14, 0), rdx);
    a.jmp(success);
    a.bind(loadZeroExtend);
    maskForSize(a);
    a.and(rdx, rax);
    a.mov(qword(r14, 0), rdx);
    a.jmp(success);
    a.bind(loadMerge);
    maskForSize(a);
    a.and(rdx, rax);
    a.not(rax).and(rax, qword(r14, 0)).or(rax, rdx);
    a.mov(qword(r14, 0), rax);

    a.bind(success);
    a.mov(qword(rbx, REGS_RIP), r12);
    a.xor(eax, eax);
    a.jmp(epilogue);
    a.bind(notEmulated);
    a.mov(rax, MMIO_NOT_EMULATED);
    a.bind(epilogue);
    a.add(rsp, 24).pop(r15).pop(r14).pop(r13).pop(r12).pop(rbx).pop(rbp);
    a.ret();
  },
};
