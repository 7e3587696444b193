import {
  type Assembler,
  ecx,
  edi,
  edx,
  esi,
  qword,
  r8,
  r8d,
  r9,
  r9d,
  r10,
  r11,
  r12,
  rax,
  rbp,
  rcx,
  rdi,
  rdx,
  rsi,
  rsp,
  sil,
} from "@tdxsim/x86/asm";
import { TDX_MODULE_OUTPUT, VE_INFO } from "../library-abi.js";
import {
  TDG_MEM_PAGE_ACCEPT,
  TDG_MR_REPORT,
  TDG_MR_RTMR_EXTEND,
  TDG_VP_INFO,
  TDG_VP_VEINFO_GET,
} from "../tdcall-leaves.js";
import { type GuestRoutine, localLabel, storeIfPointerSet } from "./routines.js";

// __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out):
// TDCALL leaf `fn` with RCX/RDX/R8/R9 as given; RAX (the completion status) is returned and,
// when `out` is non-NULL, RCX, RDX, R8–R11 are stored there whatever the status.

const OUTPUT_REGS = [
  [rcx, TDX_MODULE_OUTPUT.rcx],
  [rdx, TDX_MODULE_OUTPUT.rdx],
  [r8, TDX_MODULE_OUTPUT.r8],
  [r9, TDX_MODULE_OUTPUT.r9],
  [r10, TDX_MODULE_OUTPUT.r10],
  [r11, TDX_MODULE_OUTPUT.r11],
] as const;

export const tdxModuleCall: GuestRoutine = {
  name: "__tdx_module_call",
  params: 6,
  returns: true,
  emit(a: Assembler) {
    const done = localLabel(a, "module_call_done");
    a.push(rbp).mov(rbp, rsp).push(r12);
    // Shift the SysV arguments into the TDCALL registers (each source read before overwritten).
    a.mov(r12, r9);
    a.mov(rax, rdi);
    a.mov(r9, r8);
    a.mov(r8, rcx);
    a.mov(rcx, rsi);
    a.tdcall();
    a.test(r12, r12).jz(done);
    for (const [reg, offset] of OUTPUT_REGS) a.mov(qword(r12, offset), reg);
    a.bind(done);
    a.pop(r12).pop(rbp);
    a.ret();
  },
};

/** Tail call of __tdx_module_call with RDI = leaf; the caller has set RSI/RDX/RCX/R8/R9. */
function tailCallModule(a: Assembler, leaf: number): void {
  a.mov(edi, leaf);
  a.jmp(a.label("__tdx_module_call"));
}

/** tdg_mem_page_accept(gpa, u8 level): RCX = gpa | level, no outputs. */
export const tdgMemPageAccept: GuestRoutine = {
  name: "tdg_mem_page_accept",
  params: 2,
  returns: true,
  emit(a) {
    a.movzx(esi, sil);
    a.or(rsi, rdi);
    a.xor(edx, edx).xor(ecx, ecx).xor(r8d, r8d).xor(r9d, r9d);
    tailCallModule(a, TDG_MEM_PAGE_ACCEPT);
  },
};

/** tdg_mr_report(report_gpa, reportdata_gpa, subtype): RCX, RDX, R8 (TDREPORT 1024-aligned). */
export const tdgMrReport: GuestRoutine = {
  name: "tdg_mr_report",
  params: 3,
  returns: true,
  emit(a) {
    a.mov(rcx, rdx).mov(rdx, rsi).mov(rsi, rdi);
    a.xor(r8d, r8d).xor(r9d, r9d);
    tailCallModule(a, TDG_MR_REPORT);
  },
};

/** tdg_mr_rtmr_extend(data_gpa, index): RCX = GPA of 48 bytes (64-aligned), RDX = RTMR index. */
export const tdgMrRtmrExtend: GuestRoutine = {
  name: "tdg_mr_rtmr_extend",
  params: 2,
  returns: true,
  emit(a) {
    a.mov(rdx, rsi).mov(rsi, rdi);
    a.xor(ecx, ecx).xor(r8d, r8d).xor(r9d, r9d);
    tailCallModule(a, TDG_MR_RTMR_EXTEND);
  },
};

// Frame of the two wrappers that collect outputs: a zeroed tdx_module_output at [rbp−48].
const OUT = -TDX_MODULE_OUTPUT.size;
const OUT_FRAME = TDX_MODULE_OUTPUT.size + 48;
const outField = (name: keyof typeof TDX_MODULE_OUTPUT) => OUT + TDX_MODULE_OUTPUT[name];

function callModuleWithOutput(a: Assembler, leaf: number): void {
  for (const [, offset] of OUTPUT_REGS) a.mov(qword(rbp, OUT + offset), 0);
  a.mov(edi, leaf);
  a.xor(esi, esi).xor(edx, edx).xor(ecx, ecx).xor(r8d, r8d);
  a.lea(r9, qword(rbp, OUT));
  a.call(a.label("__tdx_module_call"));
}

/**
 * tdg_vp_info(u64 *rcx, *rdx, *r8, *r9, *r10, *r11): TDG.VP.INFO, each output stored through
 * its pointer when non-NULL (GPAW, ATTRIBUTES, NUM/MAX_VCPUS, VCPU_INDEX, SYS_RD, 0).
 */
export const tdgVpInfo: GuestRoutine = {
  name: "tdg_vp_info",
  params: 6,
  returns: true,
  emit(a) {
    const args = [rdi, rsi, rdx, rcx, r8, r9] as const;
    const names = ["rcx", "rdx", "r8", "r9", "r10", "r11"] as const;
    a.push(rbp).mov(rbp, rsp).sub(rsp, OUT_FRAME);
    args.forEach((reg, i) => {
      a.mov(qword(rbp, OUT - 8 * (i + 1)), reg);
    });
    callModuleWithOutput(a, TDG_VP_INFO);
    names.forEach((name, i) => {
      storeIfPointerSet(a, `vp_info_skip_${name}`, qword(rbp, OUT - 8 * (i + 1)), qword(rbp, outField(name)));
    });
    a.leave().ret();
  },
};

/**
 * tdg_vp_veinfo_get(struct ve_info *ve): TDG.VP.VEINFO.GET; ve is filled whatever the status:
 * RCX → exit_reason, RDX → exit_qual, R8 → gla, R9 → gpa, R10 → instr_len | instr_info << 32.
 */
export const tdgVpVeinfoGet: GuestRoutine = {
  name: "tdg_vp_veinfo_get",
  params: 1,
  returns: true,
  emit(a) {
    a.push(rbp).mov(rbp, rsp).sub(rsp, OUT_FRAME);
    a.mov(qword(rbp, OUT - 8), rdi);
    callModuleWithOutput(a, TDG_VP_VEINFO_GET);
    a.mov(rcx, qword(rbp, OUT - 8));
    const copies = [
      ["rcx", VE_INFO.exitReason],
      ["rdx", VE_INFO.exitQual],
      ["r8", VE_INFO.gla],
      ["r9", VE_INFO.gpa],
      // instr_len (u32) and instr_info (u32) are R10's low and high halves, stored as one u64.
      ["r10", VE_INFO.instrLen],
    ] as const;
    for (const [name, offset] of copies) {
      a.mov(rdx, qword(rbp, outField(name)));
      a.mov(qword(rcx, offset), rdx);
    }
    a.leave().ret();
  },
};

export const MODULE_CALL_ROUTINES: readonly GuestRoutine[] = [
  tdxModuleCall,
  tdgVpInfo,
  tdgMemPageAccept,
  tdgVpVeinfoGet,
  tdgMrReport,
  tdgMrRtmrExtend,
];
