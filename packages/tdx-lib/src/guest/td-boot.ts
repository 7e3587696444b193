import {
  Assembler,
  cr0,
  cr3,
  cr4,
  cx,
  ds,
  eax,
  ebx,
  ecx,
  edi,
  es,
  esi,
  esp,
  mem,
  ptr,
  ss,
} from "@tdxsim/x86/asm";
import { FOUR_GIGABYTES_GPA, RESET_VECTOR_SIZE, TD_BOOT_PARAMETERS_GPA } from "../boot/boot-gpas.js";
import {
  SIZEOF_TD_PER_VCPU_PARAMETERS,
  TD_BOOT_PARAMETERS_CR0,
  TD_BOOT_PARAMETERS_CR3,
  TD_BOOT_PARAMETERS_CR4,
  TD_BOOT_PARAMETERS_GDT,
  TD_BOOT_PARAMETERS_IDT,
  TD_BOOT_PARAMETERS_PER_VCPU,
  TD_PER_VCPU_PARAMETERS_ESP_GVA,
  TD_PER_VCPU_PARAMETERS_LJMP_TARGET,
} from "../boot/boot-parameters.js";
import { DEFAULT_DATA_SELECTOR } from "../boot/descriptor-tables.js";

// td_boot.S as real machine code: 32-bit protected-mode code (the TDX module's initial vCPU
// state: CR0 = PE|NE, flat 4 GiB segments, ESI = vCPU index) that reads this vCPU's record of
// td_boot_parameters, turns on 4-level paging and far-jumps to the 64-bit guest entry point.
//
// Choices against the brief, both from the series' td_boot.S and the TDX module:
// - EFER is not written. The module starts every TD vCPU with EFER = SCE|LME|NXE (tdx-abi §4),
//   so setting CR0.PG with CR4.PAE enters IA-32e mode by itself; a TD cannot change EFER.LME.
// - The guest entry is reached by the far jump (there is no return address): the per-vCPU ESP
//   is initial_stack_addr, which the planner sets to the stack top − 8 (SysV entry alignment).
// The data segments are loaded (DS/ES/SS ← DEFAULT_DATA_SELECTOR) after paging is on, in
// compatibility mode: the GDT base is a GVA, so descriptors can only be read through paging.

export interface TdBootCode {
  /** td_boot .. td_boot_code_end, to place with placeTdBootCode so it ends at 4 GiB. */
  readonly bytes: Uint8Array;
  /** Offset of reset_vector in `bytes` (bytes.length − 16). */
  readonly resetVectorOffset: number;
  /** GPA of td_boot once placed (4 GiB − size). */
  readonly gpa: number;
  /** td_boot, reset_vector, td_boot_code_end and the inner step labels, as GPAs. */
  readonly symbols: ReadonlyMap<string, bigint>;
}

function emitTdBoot(a: Assembler): void {
  a.bind("td_boot");
  a.cli();
  // EBX = &td_boot_parameters; EAX = &per_vcpu[ESI] (EDI is scratch for the multiply).
  a.mov(ebx, TD_BOOT_PARAMETERS_GPA);
  a.mov(eax, esi);
  a.imul(eax, eax, SIZEOF_TD_PER_VCPU_PARAMETERS);
  a.lea(edi, ptr({ base: ebx, disp: TD_BOOT_PARAMETERS_PER_VCPU }));
  a.add(eax, edi);
  a.mov(esp, ptr(eax, TD_PER_VCPU_PARAMETERS_ESP_GVA));
  a.lgdt(ptr(ebx, TD_BOOT_PARAMETERS_GDT));
  a.lidt(ptr(ebx, TD_BOOT_PARAMETERS_IDT));
  // CR4 (PAE) and CR3 before CR0.PG; with EFER.LME already set this enters IA-32e mode.
  a.mov(edi, ptr(ebx, TD_BOOT_PARAMETERS_CR4));
  a.mov(cr4, edi);
  a.mov(edi, ptr(ebx, TD_BOOT_PARAMETERS_CR3));
  a.mov(cr3, edi);
  a.mov(edi, ptr(ebx, TD_BOOT_PARAMETERS_CR0));
  a.mov(cr0, edi);
  a.mov(ecx, DEFAULT_DATA_SELECTOR);
  a.mov(ds, cx);
  a.mov(es, cx);
  a.mov(ss, cx);
  // ljmp *[EAX+4]: m16:32 = (eip_gva, code64_sel) — CS becomes the 64-bit code segment.
  a.jmp(mem(FAR_POINTER_32_SIZE, eax, TD_PER_VCPU_PARAMETERS_LJMP_TARGET));
  // reset_vector: a short JMP back to td_boot, INT3-padded to exactly 16 bytes.
  a.bind("reset_vector");
  a.jmp(a.label("td_boot"));
  a.db(...new Array(RESET_VECTOR_SIZE - SHORT_JMP_SIZE).fill(INT3));
  a.bind("td_boot_code_end");
}

/** m16:32 (FWORD PTR): 32-bit offset then 16-bit selector, the ljmp_target layout. */
const FAR_POINTER_32_SIZE = 6;
const SHORT_JMP_SIZE = 2;
const INT3 = 0xcc;

/**
 * Assembles td_boot. The reset-vector stub (JMP rel8 to td_boot + INT3 padding) is exactly the
 * last 16 bytes, so the code is placed at 4 GiB − size and the JMP sits at 0xFFFFFFF0.
 */
export function assembleTdBoot(): TdBootCode {
  // td_boot is the same for every TD: assemble it once per process, hand out copies
  tdBootCode ??= assembleTdBootOnce();
  const { bytes, resetVectorOffset, gpa, symbols } = tdBootCode;
  return { bytes: bytes.slice(), resetVectorOffset, gpa, symbols: new Map(symbols) };
}

let tdBootCode: TdBootCode | undefined;

function assembleTdBootOnce(): TdBootCode {
  // Assemble once to learn the size, then again at the final address for readable symbols.
  const size = assembleAt(0).bytes.length;
  const gpa = FOUR_GIGABYTES_GPA - size;
  const result = assembleAt(gpa);
  const resetVector = Number(result.labels.get("reset_vector")) - gpa;
  if (size - resetVector !== RESET_VECTOR_SIZE) {
    // The JMP back to td_boot must stay a rel8 for the stub to be 16 bytes.
    throw new Error(`td_boot: reset_vector is ${size - resetVector} bytes, not ${RESET_VECTOR_SIZE}`);
  }
  return { bytes: result.bytes, resetVectorOffset: resetVector, gpa, symbols: result.labels };
}

function assembleAt(origin: number) {
  const a = new Assembler({ mode: 32, origin });
  emitTdBoot(a);
  return a.assemble();
}
