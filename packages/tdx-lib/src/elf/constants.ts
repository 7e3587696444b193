// ELF64 constants (System V gABI and the x86-64 psABI). Only what a static x86-64 guest uses.

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"

export const EI_CLASS = 4;
export const EI_DATA = 5;
export const EI_VERSION = 6;
export const EI_OSABI = 7;

export const ELFCLASS32 = 1;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const ELFDATA2MSB = 2;
export const EV_CURRENT = 1;
export const ELFOSABI_NONE = 0;
export const ELFOSABI_GNU = 3;

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const ET_CORE = 4;

export const EM_386 = 3;
export const EM_X86_64 = 62;

export const ELF64_EHDR_SIZE = 64;
export const ELF64_PHDR_SIZE = 56;
export const ELF64_SHDR_SIZE = 64;
export const ELF64_SYM_SIZE = 24;
export const ELF64_RELA_SIZE = 24;
export const ELF64_DYN_SIZE = 16;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_SHLIB = 5;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const SHN_UNDEF = 0;
export const SHN_ABS = 0xfff1;
export const SHN_XINDEX = 0xffff;

export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_DYNSYM = 11;
export const SHT_NOBITS = 8;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;
export const STT_TLS = 6;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const DT_NULL = 0;
export const DT_NEEDED = 1;
export const DT_PLTRELSZ = 2;
export const DT_RELA = 7;
export const DT_RELASZ = 8;
export const DT_RELAENT = 9;
export const DT_REL = 17;
export const DT_RELSZ = 18;
export const DT_JMPREL = 23;
export const DT_TEXTREL = 22;
export const DT_RELRSZ = 35;
export const DT_RELR = 36;
export const DT_RELRENT = 37;

export const R_X86_64_NONE = 0;
export const R_X86_64_64 = 1;
export const R_X86_64_RELATIVE = 8;

/** psABI names of x86-64 relocation types, for error messages. */
export const X86_64_RELOCATION_NAMES: Readonly<Record<number, string>> = {
  0: "R_X86_64_NONE",
  1: "R_X86_64_64",
  2: "R_X86_64_PC32",
  3: "R_X86_64_GOT32",
  4: "R_X86_64_PLT32",
  5: "R_X86_64_COPY",
  6: "R_X86_64_GLOB_DAT",
  7: "R_X86_64_JUMP_SLOT",
  8: "R_X86_64_RELATIVE",
  9: "R_X86_64_GOTPCREL",
  10: "R_X86_64_32",
  11: "R_X86_64_32S",
  16: "R_X86_64_DTPMOD64",
  17: "R_X86_64_DTPOFF64",
  18: "R_X86_64_TPOFF64",
  37: "R_X86_64_IRELATIVE",
};

export function segmentTypeName(type: number): string {
  const names: Record<number, string> = {
    [PT_NULL]: "PT_NULL",
    [PT_LOAD]: "PT_LOAD",
    [PT_DYNAMIC]: "PT_DYNAMIC",
    [PT_INTERP]: "PT_INTERP",
    [PT_NOTE]: "PT_NOTE",
    [PT_SHLIB]: "PT_SHLIB",
    [PT_PHDR]: "PT_PHDR",
    [PT_TLS]: "PT_TLS",
    [PT_GNU_EH_FRAME]: "PT_GNU_EH_FRAME",
    [PT_GNU_STACK]: "PT_GNU_STACK",
    [PT_GNU_RELRO]: "PT_GNU_RELRO",
    [PT_GNU_PROPERTY]: "PT_GNU_PROPERTY",
  };
  return names[type] ?? `0x${type.toString(16)}`;
}
