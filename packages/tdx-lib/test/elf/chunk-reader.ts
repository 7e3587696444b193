import type { LoadedElf } from "../../src/index.js";

/** Reads `size` bytes at a run-time address out of the loader's chunks (test-side view of guest memory). */
export function readImage(elf: LoadedElf, address: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const at = address + i;
    const chunk = elf.chunks.find((c) => at >= c.gpa && at < c.gpa + c.bytes.length);
    if (!chunk) throw new Error(`0x${at.toString(16)} is not in any chunk`);
    out[i] = chunk.bytes[at - chunk.gpa];
  }
  return out;
}

export function readU64(elf: LoadedElf, address: number): bigint {
  const bytes = readImage(elf, address, 8);
  return new DataView(bytes.buffer).getBigUint64(0, true);
}
