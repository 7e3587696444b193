// Runs GNU as (Intel syntax, naked registers) on source text and returns the object's sections.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { elfSections } from "./elf.js";

export function gasSections(source: string, mode: 16 | 32 | 64 = 64): Map<string, Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-gas-"));
  try {
    const obj = join(dir, "out.o");
    gasObject(source, mode, obj);
    return elfSections(obj);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles source with GNU as into `obj` (ELF64 for 64-bit code, ELF32 otherwise). */
export function gasObject(source: string, mode: 16 | 32 | 64, obj: string): void {
  const src = `${obj}.s`;
  writeFileSync(src, `.intel_syntax noprefix\n.code${mode}\n${source}\n`);
  execFileSync("as", [mode === 64 ? "--64" : "--32", "-msyntax=intel", "-mnaked-reg", "-o", obj, src], {
    stdio: "pipe",
  });
}

export const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
