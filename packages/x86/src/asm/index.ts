// @tdxsim/x86/asm: the assembler (typed API and Intel-syntax text), driven by the instruction table.
import { installMnemonicMethods } from "./methods.js";
import type { MnemonicName } from "./mnemonic-names.js";
import type { Operand } from "./operands.js";

installMnemonicMethods();

declare module "./assembler.js" {
  /** One method per table mnemonic: `a.mov(rax, 0x10)`, `a.jne(loop)`, `a.lock().xadd(qword(rdi), rax)`. */
  interface Assembler extends Record<MnemonicName, (...operands: Operand[]) => Assembler> {}
}

export { AsmError, type AssembleResult, Assembler, type AssemblerOptions } from "./assembler.js";
export type { Relocation } from "./encode.js";
export type { MnemonicName } from "./mnemonic-names.js";
export * from "./operands.js";
export { assembleText } from "./parse.js";
