// The typed API's per-mnemonic methods (a.mov, a.add, …), attached to Assembler.prototype
// from the instruction table, plus GNU as aliases (jz, cmovnz, sal…).
import { MNEMONICS } from "../isa/forms.js";
import { ALIASES, Assembler } from "./assembler.js";
import type { Operand } from "./operands.js";

/** Method names: every table mnemonic and alias, lower case (`int` is kept; `int3` too). */
export function mnemonicMethodNames(): string[] {
  return [...new Set([...MNEMONICS, ...ALIASES.keys()].map((m) => m.toLowerCase()))].sort();
}

let installed = false;
export function installMnemonicMethods(): void {
  if (installed) return;
  installed = true;
  const proto = Assembler.prototype as unknown as Record<string, unknown>;
  for (const name of mnemonicMethodNames()) {
    if (name in proto) continue;
    proto[name] = function (this: Assembler, ...ops: Operand[]) {
      return this.insn(name, ...ops);
    };
  }
}
