// Reassembles objdump's Intel-syntax listing of a binary line by line with our text assembler,
// each instruction at its own address, and compares the bytes with the original ones.
import { assembleText } from "../../src/asm/index.js";
import { normalize, objdumpLines } from "./objdump.js";

export interface ReassembleResult {
  total: number;
  identical: number;
  errors: string[];
  /** mnemonic → count of instructions whose bytes differ (a different but valid encoding) */
  differing: Map<string, number>;
}

export function reassembleObjdump(file: string): ReassembleResult {
  const res: ReassembleResult = { total: 0, identical: 0, errors: [], differing: new Map() };
  for (const l of objdumpLines(file, 64)) {
    let t = normalize(l.text).replace(/\s+#.*$/, "");
    if (t.startsWith("(bad)") || /^[vk][a-z]/.test(t) || /^f[a-z]/.test(t)) continue; // VEX/EVEX, x87
    // objdump prints branch targets as bare hex addresses
    t = t.replace(/^((?:bnd )?(?:j\w*|call|loop\w*|xbegin) )([0-9a-f]+)$/, "$10x$2");
    res.total++;
    let bytes: string;
    try {
      bytes = Buffer.from(assembleText(t, { origin: l.offset }).bytes)
        .toString("hex")
        .replace(/(..)(?!$)/g, "$1 ");
    } catch (e) {
      res.errors.push(`${t}: ${(e as Error).message}`);
      continue;
    }
    if (bytes === l.bytes) res.identical++;
    else {
      const m = t.split(" ")[0];
      res.differing.set(m, (res.differing.get(m) ?? 0) + 1);
    }
  }
  return res;
}
