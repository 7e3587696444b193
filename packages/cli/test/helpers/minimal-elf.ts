// A smallest-possible statically linked x86-64 ET_EXEC: the headers, then three bytes of code in
// the same PT_LOAD, so the CLI tests need no compiler.
import { EHDR_SIZE, PHDR_SIZE, writeElf64ExecHeaders } from "./elf64-exec.js";

export const MINIMAL_ELF_BASE = 0x40_0000;
/** `hlt` then `jmp $-1` (spin on hlt). */
const CODE = [0xf4, 0xeb, 0xfd];
const PF_RX = 5;

export interface MinimalElfOptions {
  readonly machine?: number;
  readonly entryOffset?: number;
  readonly flags?: number;
}

export function minimalElf(options: MinimalElfOptions = {}): Uint8Array {
  const codeOffset = EHDR_SIZE + PHDR_SIZE;
  const bytes = new Uint8Array(codeOffset + CODE.length);
  writeElf64ExecHeaders(bytes, {
    machine: options.machine,
    entry: MINIMAL_ELF_BASE + (options.entryOffset ?? codeOffset),
    load: {
      flags: options.flags ?? PF_RX,
      offset: 0,
      vaddr: MINIMAL_ELF_BASE,
      size: bytes.length,
      align: 0x1000,
    },
  });
  bytes.set(CODE, codeOffset);
  return bytes;
}
