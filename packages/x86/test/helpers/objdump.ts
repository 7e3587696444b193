// Runs `objdump -d -M intel -w` on an object file and compares its instructions with ours.
import { execFileSync } from "node:child_process";
import { disassemble } from "../../src/disasm/index.js";
import { elfSections } from "./elf.js";

export interface ObjdumpLine {
  section: string;
  offset: number;
  bytes: string;
  text: string;
}

export function objdumpLines(objPath: string, mode: 16 | 32 | 64 = 64): ObjdumpLine[] {
  const args = [
    "-d",
    "-M",
    mode === 64 ? "intel" : mode === 32 ? "intel,i386" : "intel,i8086",
    "-w",
    objPath,
  ];
  const out = execFileSync("objdump", args, { encoding: "utf8" });
  const lines: ObjdumpLine[] = [];
  let section = "";
  for (const l of out.split("\n")) {
    const s = /^Disassembly of section (\S+):/.exec(l);
    if (s) section = s[1];
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(l);
    if (m) lines.push({ section, offset: Number.parseInt(m[1], 16), bytes: m[2].trim(), text: m[3] });
  }
  return lines;
}

/** objdump text without symbol annotations ("<work+0x12>") and with single spaces; a branch
 * target without a symbol is printed "0x3d" by objdump, "3d" (as with a symbol) by us. */
export const normalize = (t: string) =>
  t
    .replace(/\s*<[^>]*>/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^((?:j|loop|call)\w*) 0x([0-9a-f]+)$/, "$1 $2");

/** Every objdump instruction vs ours at the same offset: returns the differing lines. */
export function compareWithObjdump(
  objPath: string,
  mode: 16 | 32 | 64 = 64,
): { count: number; diffs: string[] } {
  const sections = elfSections(objPath);
  const diffs: string[] = [];
  const lines = objdumpLines(objPath, mode);
  for (const l of lines) {
    const code = sections.get(l.section)!;
    const [ours] = disassemble(code.subarray(l.offset), { mode, address: l.offset, limit: 1 });
    const ourBytes = Array.from(ours.bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
    if (ourBytes !== l.bytes || normalize(ours.text) !== normalize(l.text)) {
      diffs.push(
        `${l.section}+${l.offset.toString(16)} [${l.bytes}] objdump: ${normalize(l.text)} | ours: ${normalize(ours.text)}`,
      );
    }
  }
  return { count: lines.length, diffs };
}
