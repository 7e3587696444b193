// Runs GNU as (Intel syntax, naked registers) on source text and returns the object's sections.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { elfSections } from "./elf.js";

export function gasSections(source: string, mode: 16 | 32 | 64 = 64): Map<string, Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-gas-"));
  try {
    const src = join(dir, "in.s");
    writeFileSync(src, `.intel_syntax noprefix\n.code${mode}\n${source}\n`);
    execFileSync("as", ["--64", "-msyntax=intel", "-mnaked-reg", "-o", join(dir, "out.o"), src], {
      stdio: "pipe",
    });
    return elfSections(join(dir, "out.o"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
