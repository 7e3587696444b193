import { hex } from "../util/hex.js";
import type { ByteReader } from "./byte-reader.js";
import {
  EI_CLASS,
  EI_DATA,
  EI_VERSION,
  ELF_MAGIC,
  ELF64_EHDR_SIZE,
  ELF64_PHDR_SIZE,
  ELF64_SHDR_SIZE,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  EM_386,
  EM_X86_64,
  ET_CORE,
  ET_DYN,
  ET_EXEC,
  ET_REL,
  EV_CURRENT,
} from "./constants.js";
import { ElfError } from "./elf-error.js";

export interface ElfHeader {
  /** ET_EXEC (2) or ET_DYN (3). */
  readonly type: number;
  readonly entry: number;
  readonly phoff: number;
  readonly shoff: number;
  readonly phnum: number;
  readonly shnum: number;
  readonly shstrndx: number;
}

export interface ProgramHeader {
  readonly index: number;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
}

export interface SectionHeader {
  readonly index: number;
  readonly nameOffset: number;
  readonly type: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly entsize: number;
}

export function parseElfHeader(reader: ByteReader): ElfHeader {
  if (reader.length < ELF64_EHDR_SIZE) {
    throw new ElfError(
      "e_ident",
      `truncated ELF header: an ELF64 header needs ${ELF64_EHDR_SIZE} bytes, the file has ${reader.length}`,
    );
  }
  for (let i = 0; i < ELF_MAGIC.length; i++) {
    if (reader.bytes[i] !== ELF_MAGIC[i]) {
      throw new ElfError("e_ident[EI_MAG]", "bad magic: the file does not start with 7f 45 4c 46 (\\x7fELF)");
    }
  }
  const elfClass = reader.bytes[EI_CLASS];
  if (elfClass !== ELFCLASS64) {
    const what = elfClass === ELFCLASS32 ? "ELFCLASS32 (a 32-bit file)" : `unknown class ${elfClass}`;
    throw new ElfError("e_ident[EI_CLASS]", `${what}; only ELFCLASS64 is supported`);
  }
  const data = reader.bytes[EI_DATA];
  if (data !== ELFDATA2LSB) {
    throw new ElfError("e_ident[EI_DATA]", `encoding ${data} is not ELFDATA2LSB (little-endian)`);
  }
  if (reader.bytes[EI_VERSION] !== EV_CURRENT) {
    throw new ElfError("e_ident[EI_VERSION]", `version ${reader.bytes[EI_VERSION]} is not EV_CURRENT (1)`);
  }
  const type = reader.u16(16, "e_type");
  if (type !== ET_EXEC && type !== ET_DYN) {
    const names: Record<number, string> = {
      [ET_REL]: "ET_REL (an object file: link it first)",
      [ET_CORE]: "ET_CORE (a core dump)",
    };
    throw new ElfError(
      "e_type",
      `${names[type] ?? type} is not loadable; expected ET_EXEC or ET_DYN (static PIE)`,
    );
  }
  const machine = reader.u16(18, "e_machine");
  if (machine !== EM_X86_64) {
    const what = machine === EM_386 ? "EM_386 (3)" : String(machine);
    throw new ElfError("e_machine", `machine ${what} is not EM_X86_64 (62)`);
  }
  const version = reader.u32(20, "e_version");
  if (version !== EV_CURRENT) throw new ElfError("e_version", `version ${version} is not EV_CURRENT (1)`);

  const ehsize = reader.u16(52, "e_ehsize");
  if (ehsize !== ELF64_EHDR_SIZE) throw new ElfError("e_ehsize", `${ehsize} is not ${ELF64_EHDR_SIZE}`);
  const phentsize = reader.u16(54, "e_phentsize");
  const phnum = reader.u16(56, "e_phnum");
  const shentsize = reader.u16(58, "e_shentsize");
  const shnum = reader.u16(60, "e_shnum");
  const shstrndx = reader.u16(62, "e_shstrndx");
  const phoff = reader.u64(32, "e_phoff");
  const shoff = reader.u64(40, "e_shoff");

  if (phnum === 0 || phoff === 0) throw new ElfError("e_phnum", "the file has no program headers");
  if (phentsize !== ELF64_PHDR_SIZE) {
    throw new ElfError("e_phentsize", `${phentsize} is not the ELF64 program header size ${ELF64_PHDR_SIZE}`);
  }
  if (phoff + phnum * ELF64_PHDR_SIZE > reader.length) {
    throw new ElfError(
      "e_phoff",
      `program header table [${hex(phoff)}, ${hex(phoff + phnum * ELF64_PHDR_SIZE)}) is truncated (file size ${hex(reader.length)})`,
    );
  }
  if (shnum !== 0) {
    if (shentsize !== ELF64_SHDR_SIZE) {
      throw new ElfError(
        "e_shentsize",
        `${shentsize} is not the ELF64 section header size ${ELF64_SHDR_SIZE}`,
      );
    }
    if (shoff + shnum * ELF64_SHDR_SIZE > reader.length) {
      throw new ElfError(
        "e_shoff",
        `section header table [${hex(shoff)}, ${hex(shoff + shnum * ELF64_SHDR_SIZE)}) is truncated (file size ${hex(reader.length)})`,
      );
    }
    if (shstrndx >= shnum) throw new ElfError("e_shstrndx", `${shstrndx} is not below e_shnum ${shnum}`);
  }
  const entry = reader.u64(24, "e_entry");
  return { type, entry, phoff, shoff, phnum, shnum, shstrndx };
}

export function parseProgramHeaders(reader: ByteReader, header: ElfHeader): ProgramHeader[] {
  const headers: ProgramHeader[] = [];
  for (let index = 0; index < header.phnum; index++) {
    const base = header.phoff + index * ELF64_PHDR_SIZE;
    const field = (name: string) => `phdr[${index}].${name}`;
    headers.push({
      index,
      type: reader.u32(base, field("p_type")),
      flags: reader.u32(base + 4, field("p_flags")),
      offset: reader.u64(base + 8, field("p_offset")),
      vaddr: reader.u64(base + 16, field("p_vaddr")),
      filesz: reader.u64(base + 32, field("p_filesz")),
      memsz: reader.u64(base + 40, field("p_memsz")),
      align: reader.u64(base + 48, field("p_align")),
    });
  }
  return headers;
}

export function parseSectionHeaders(reader: ByteReader, header: ElfHeader): SectionHeader[] {
  const headers: SectionHeader[] = [];
  for (let index = 0; index < header.shnum; index++) {
    const base = header.shoff + index * ELF64_SHDR_SIZE;
    const field = (name: string) => `shdr[${index}].${name}`;
    headers.push({
      index,
      nameOffset: reader.u32(base, field("sh_name")),
      type: reader.u32(base + 4, field("sh_type")),
      addr: reader.u64(base + 16, field("sh_addr")),
      offset: reader.u64(base + 24, field("sh_offset")),
      size: reader.u64(base + 32, field("sh_size")),
      link: reader.u32(base + 40, field("sh_link")),
      entsize: reader.u64(base + 56, field("sh_entsize")),
    });
  }
  return headers;
}
