import { GPA_LIMIT, PAGE_SIZE } from "@tdxsim/memory";
import { hex } from "../util/hex.js";
import { ByteReader } from "./byte-reader.js";
import { ET_DYN, ET_EXEC, PF_R, PF_W, PF_X } from "./constants.js";
import { ElfError } from "./elf-error.js";
import { type ProgramHeader, parseElfHeader, parseProgramHeaders, parseSectionHeaders } from "./headers.js";
import { type ElfLoadChunk, PageImage } from "./page-image.js";
import { applyRelocations } from "./relocations.js";
import { segmentContaining, validateSegments } from "./segments.js";
import { type ElfSymbol, readSymbols } from "./symbols.js";

/** Where a static PIE goes when the caller does not choose: the usual x86-64 link address. */
export const DEFAULT_PIE_LOAD_BASE = 0x40_0000;

/** Default bound on the pages an image may cover, so a hostile p_memsz cannot exhaust host memory. */
export const DEFAULT_MAX_IMAGE_SIZE = 256 * 1024 * 1024;

export interface LoadElfOptions {
  /** Load base for an ET_DYN image (page-aligned, aligned to the largest p_align). ET_EXEC takes none. */
  readonly loadBase?: number;
  /** Most bytes of pages the PT_LOAD segments may cover together (default 256 MiB). */
  readonly maxImageSize?: number;
}

export interface LoadedSegment {
  /** Index of the program header. */
  readonly index: number;
  /** Run-time address and sizes. */
  readonly address: number;
  readonly fileSize: number;
  readonly memorySize: number;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly executable: boolean;
}

export interface LoadedElf {
  readonly type: "ET_EXEC" | "ET_DYN";
  /** 0 for ET_EXEC; the chosen base for a PIE. */
  readonly loadBase: number;
  /** Run-time entry point (e_entry + load base). */
  readonly entry: number;
  readonly segments: readonly LoadedSegment[];
  /** Page-granular contents to place at GPA = GVA, in address order, relocations applied. */
  readonly chunks: readonly ElfLoadChunk[];
  /** Page-aligned bounds of everything the image occupies. */
  readonly start: number;
  readonly end: number;
  readonly relocationsApplied: number;
  /** All defined symbols (empty when the file is stripped). */
  readonly symbols: ReadonlyMap<string, ElfSymbol>;
  /** The symbol by name; throws ElfError naming it when absent. */
  symbol(name: string): ElfSymbol;
}

function chooseLoadBase(type: number, loadBase: number | undefined, maxAlign: number): number {
  if (type === ET_EXEC) {
    if (loadBase !== undefined && loadBase !== 0) {
      throw new ElfError("loadBase", `${hex(loadBase)}: an ET_EXEC image loads at its link addresses only`);
    }
    return 0;
  }
  const base = loadBase ?? DEFAULT_PIE_LOAD_BASE;
  const align = Math.max(PAGE_SIZE, maxAlign);
  if (!Number.isSafeInteger(base) || base < 0 || base % align !== 0) {
    throw new ElfError(
      "loadBase",
      `${hex(base)} is not a non-negative multiple of the image alignment ${hex(align)}`,
    );
  }
  return base;
}

function checkImageSize(loads: readonly ProgramHeader[], limit: number): void {
  let total = 0;
  for (const ph of loads) {
    const first = Math.floor(ph.vaddr / PAGE_SIZE);
    const last = Math.floor((ph.vaddr + ph.memsz - 1) / PAGE_SIZE);
    total += (last - first + 1) * PAGE_SIZE;
    if (total > limit) {
      throw new ElfError(
        `phdr[${ph.index}].p_memsz`,
        `the PT_LOAD segments cover more than the image size limit ${hex(limit)} (maxImageSize)`,
      );
    }
  }
}

/**
 * Parses and validates a statically linked x86-64 ELF (ET_EXEC, or ET_DYN static PIE whose
 * R_X86_64_RELATIVE relocations are applied for the load base) and lays it out as pages.
 */
export function loadElf(file: Uint8Array, options: LoadElfOptions = {}): LoadedElf {
  const reader = new ByteReader(file);
  const header = parseElfHeader(reader);
  const programHeaders = parseProgramHeaders(reader, header);
  const loads = validateSegments(programHeaders, reader.length);
  const maxAlign = Math.max(...loads.map((ph) => ph.align));
  const loadBase = chooseLoadBase(header.type, options.loadBase, maxAlign);
  checkImageSize(loads, options.maxImageSize ?? DEFAULT_MAX_IMAGE_SIZE);
  const last = loads[loads.length - 1];
  if (loadBase + last.vaddr + last.memsz > GPA_LIMIT) {
    throw new ElfError("loadBase", `${hex(loadBase)} puts the image end past 2^52`);
  }

  const entrySegment = segmentContaining(loads, header.entry, 1);
  if (!entrySegment || (entrySegment.flags & PF_X) === 0) {
    throw new ElfError("e_entry", `${hex(header.entry)} is not inside an executable PT_LOAD segment`);
  }

  const image = new PageImage();
  for (const ph of loads) {
    image.cover(ph.vaddr + loadBase, ph.memsz, ph.flags);
    image.write(ph.vaddr + loadBase, file.subarray(ph.offset, ph.offset + ph.filesz));
  }
  const relocationsApplied = applyRelocations(
    reader,
    programHeaders,
    loads,
    image,
    loadBase,
    header.type === ET_EXEC,
  );
  const unrepresentable = new Set<string>();
  const symbols = readSymbols(reader, parseSectionHeaders(reader, header), loadBase, unrepresentable);
  const chunks = image.chunks();
  const lastChunk = chunks[chunks.length - 1];

  return {
    type: header.type === ET_DYN ? "ET_DYN" : "ET_EXEC",
    loadBase,
    entry: header.entry + loadBase,
    segments: loads.map((ph) => ({
      index: ph.index,
      address: ph.vaddr + loadBase,
      fileSize: ph.filesz,
      memorySize: ph.memsz,
      readable: (ph.flags & PF_R) !== 0,
      writable: (ph.flags & PF_W) !== 0,
      executable: (ph.flags & PF_X) !== 0,
    })),
    chunks,
    start: chunks[0].gpa,
    end: lastChunk.gpa + lastChunk.bytes.length,
    relocationsApplied,
    symbols,
    symbol(name: string): ElfSymbol {
      const found = symbols.get(name);
      if (found) return found;
      const why = unrepresentable.has(name)
        ? "its value is not below 2^53 (an absolute constant, not an address)"
        : symbols.size === 0
          ? "the file has no symbol table (stripped?)"
          : "no such defined symbol";
      throw new ElfError(`symbol "${name}"`, why);
    },
  };
}
