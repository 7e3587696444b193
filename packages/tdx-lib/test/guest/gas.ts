// GNU as as an independent oracle: assembles Intel-syntax text and returns the .text bytes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function gasText(source: string, mode: 32 | 64): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tdx-lib-gas-"));
  try {
    const src = join(dir, "in.s");
    const obj = join(dir, "out.o");
    const bin = join(dir, "out.bin");
    writeFileSync(src, `.intel_syntax noprefix\n.code${mode}\n${source}\n`);
    execFileSync("as", [mode === 64 ? "--64" : "--32", "-msyntax=intel", "-mnaked-reg", "-o", obj, src], {
      stdio: "pipe",
    });
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", obj, bin], { stdio: "pipe" });
    return new Uint8Array(readFileSync(bin));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hexBytes = (b: ArrayLike<number>) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
