// Oracle: our assembler's bytes for a corpus of Intel-syntax lines equal GNU as's
// (`as -msyntax=intel -mnaked-reg`), line by line (each line in its own section), and a
// program with labels, forward references, relaxed jumps, alignment and data matches as a whole.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { assembleText } from "../src/asm/index.js";
import { gasSections, hex } from "./helpers/gas.js";

const corpus = (name: string) =>
  readFileSync(new URL(`corpus/${name}`, import.meta.url), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

function compareLines(lines: string[], mode: 16 | 32 | 64) {
  const src = lines.map((l, i) => `.section .t${i},"ax"\n${l}`).join("\n");
  const gas = gasSections(src, mode);
  const diffs: string[] = [];
  lines.forEach((l, i) => {
    const want = hex(gas.get(`.t${i}`) ?? []);
    let got: string;
    try {
      got = hex(assembleText(l, { mode }).bytes);
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    if (got !== want) diffs.push(`${l}: gas ${want} ours ${got}`);
  });
  return diffs;
}

describe("assembler bytes equal GNU as", () => {
  it("64-bit corpus, line by line", () => {
    const lines = corpus("intel-lines.s");
    expect(lines.length).toBeGreaterThan(100);
    expect(compareLines(lines, 64)).toEqual([]);
  });

  it("32-bit corpus, line by line", () => {
    const lines = corpus("intel-lines32.s");
    expect(compareLines(lines, 32)).toEqual([]);
  });

  it("16-bit corpus, line by line", () => {
    expect(compareLines(corpus("intel-lines16.s"), 16)).toEqual([]);
  });

  it("the bench's multiboot → long-mode stub (32-bit + 64-bit code, local labels, far jump)", () => {
    // an ELF32 object keeps absolute relocations' addends in place (REL), so with origin 0
    // gas's bytes equal ours including every label address
    const src = readFileSync(new URL("corpus/boot-stub.s", import.meta.url), "utf8");
    const gas = gasSections(src, 32).get(".text")!;
    const ours = assembleText(src, { mode: 32 });
    expect(hex(ours.bytes)).toBe(hex(gas));
    expect(ours.relocations.length).toBeGreaterThan(8);
  });

  it("a program with labels, forward references, relaxation, alignment and data", () => {
    const src = readFileSync(new URL("corpus/program.s", import.meta.url), "utf8");
    const gas = gasSections(src, 64).get(".text")!;
    expect(hex(assembleText(src).bytes)).toBe(hex(gas));
  });
});
