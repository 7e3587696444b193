// Oracle: our disassembly of gcc -O2 output for the bench guest (work.c, kmain.c), compiled at
// test time, matches `objdump -d -M intel` instruction for instruction (symbol annotations
// "<sym+off>" and spacing are normalised away; see README for the formatting differences).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { gasObject } from "./helpers/gas.js";
import { compareWithObjdump } from "./helpers/objdump.js";

const BENCH = "/work/shared/bench";
const dir = mkdtempSync(join(tmpdir(), "tdxsim-objdump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(file: string, flags: string[]): string {
  const out = join(dir, `${file}-${flags.join("").replace(/[^a-z0-9]/gi, "")}.o`);
  execFileSync("gcc", [...flags, "-c", join(BENCH, file), "-o", out], { stdio: "pipe" });
  return out;
}

const FREESTANDING = ["-O2", "-ffreestanding", "-fno-pic", "-fno-stack-protector", "-mno-red-zone"];

describe("disassembly matches objdump -d -M intel", () => {
  for (const file of ["work.c", "kmain.c"]) {
    it(`${file}, gcc -O2 freestanding (the bench build)`, () => {
      const r = compareWithObjdump(compile(file, FREESTANDING));
      expect(r.count).toBeGreaterThan(5);
      expect(r.diffs).toEqual([]);
    });
    it(`${file}, gcc -O2 (PIE, hosted)`, () => {
      const r = compareWithObjdump(compile(file, ["-O2"]));
      expect(r.diffs).toEqual([]);
    });
    it(`${file}, gcc -O2 -m32`, () => {
      const r = compareWithObjdump(compile(file, ["-O2", "-m32", "-ffreestanding", "-fno-pic"]), 32);
      expect(r.diffs).toEqual([]);
    });
  }
});

describe("disassembly of the assembler corpus matches objdump", () => {
  for (const [file, mode] of [
    ["intel-lines.s", 64],
    ["intel-lines32.s", 32],
    ["intel-lines16.s", 16],
  ] as const) {
    it(`${file} (assembled by GNU as)`, () => {
      const obj = join(dir, `${file}.o`);
      gasObject(readFileSync(new URL(`corpus/${file}`, import.meta.url), "utf8"), mode, obj);
      const r = compareWithObjdump(obj, mode);
      expect(r.count).toBeGreaterThan(30);
      expect(r.diffs).toEqual([]);
    });
  }
});
