// @tdxsim/x86: the instruction table, decoder and disassembler (the assembler is @tdxsim/x86/asm).
export * from "./decoder/index.js";
export * from "./disasm/index.js";
export { FORMS, type Form, MNEMONICS, opId, opName } from "./isa/forms.js";
export {
  CLS_CR,
  CLS_DR,
  CLS_GPR,
  CLS_GPR8H,
  CLS_MM,
  CLS_SEG,
  CLS_ST,
  CLS_XMM,
} from "./isa/operand-kinds.js";
