import { GPA_LIMIT } from "@tdxsim/memory";
import { hex } from "../util/hex.js";
import { PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_TLS, segmentTypeName } from "./constants.js";
import { ElfError } from "./elf-error.js";
import type { ProgramHeader } from "./headers.js";

function isPowerOfTwo(value: number): boolean {
  return value > 0 && 2 ** Math.round(Math.log2(value)) === value;
}

/**
 * Checks every program header a static guest depends on and returns the PT_LOAD segments
 * that occupy memory, sorted by address. Segments that need a runtime this loader does not
 * provide (an interpreter, thread-local storage) are refused, not ignored.
 */
export function validateSegments(headers: readonly ProgramHeader[], fileLength: number): ProgramHeader[] {
  const loads: ProgramHeader[] = [];
  for (const ph of headers) {
    const field = (name: string) => `phdr[${ph.index}].${name}`;
    if (ph.type === PT_INTERP) {
      throw new ElfError(field("p_type"), "PT_INTERP: the file needs a dynamic loader; link it statically");
    }
    if (ph.type === PT_TLS) {
      throw new ElfError(
        field("p_type"),
        "PT_TLS: thread-local storage is not supported in a TD guest image",
      );
    }
    if (ph.type !== PT_LOAD && ph.type !== PT_DYNAMIC) continue;
    if (ph.offset + ph.filesz > fileLength) {
      throw new ElfError(
        field("p_offset"),
        `${segmentTypeName(ph.type)} file range [${hex(ph.offset)}, ${hex(ph.offset + ph.filesz)}) lies outside the file (size ${hex(fileLength)})`,
      );
    }
    if (ph.type !== PT_LOAD) continue;
    if (ph.filesz > ph.memsz) {
      throw new ElfError(field("p_filesz"), `p_filesz ${hex(ph.filesz)} exceeds p_memsz ${hex(ph.memsz)}`);
    }
    if (ph.align > 1) {
      if (!isPowerOfTwo(ph.align))
        throw new ElfError(field("p_align"), `${hex(ph.align)} is not a power of two`);
      if (ph.vaddr % ph.align !== ph.offset % ph.align) {
        throw new ElfError(
          field("p_vaddr"),
          `p_vaddr ${hex(ph.vaddr)} and p_offset ${hex(ph.offset)} are not congruent modulo p_align ${hex(ph.align)}`,
        );
      }
    }
    if (ph.vaddr + ph.memsz > GPA_LIMIT) {
      throw new ElfError(field("p_memsz"), `segment end ${hex(ph.vaddr + ph.memsz)} is not below 2^52`);
    }
    if (ph.memsz > 0) loads.push(ph);
  }
  if (loads.length === 0) throw new ElfError("e_phnum", "the file has no PT_LOAD segment with p_memsz > 0");

  loads.sort((a, b) => a.vaddr - b.vaddr);
  for (let i = 1; i < loads.length; i++) {
    const prev = loads[i - 1];
    const next = loads[i];
    if (next.vaddr < prev.vaddr + prev.memsz) {
      throw new ElfError(
        `phdr[${next.index}].p_vaddr`,
        `segment [${hex(next.vaddr)}, ${hex(next.vaddr + next.memsz)}) overlaps phdr[${prev.index}] [${hex(prev.vaddr)}, ${hex(prev.vaddr + prev.memsz)})`,
      );
    }
  }
  return loads;
}

/** The PT_LOAD containing [vaddr, vaddr + size) (link-time addresses), if any. */
export function segmentContaining(
  loads: readonly ProgramHeader[],
  vaddr: number,
  size: number,
): ProgramHeader | undefined {
  return loads.find((ph) => vaddr >= ph.vaddr && vaddr + size <= ph.vaddr + ph.memsz);
}
