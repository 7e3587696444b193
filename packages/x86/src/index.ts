// @tdxsim/x86: the instruction table, decoder and disassembler (the assembler is @tdxsim/x86/asm).
export * from "./decoder/index.js";
export * from "./disasm/index.js";
export * from "./isa/forms.js";
export * from "./isa/operand-kinds.js";
export { TABLE_ROWS } from "./isa/table.js";
