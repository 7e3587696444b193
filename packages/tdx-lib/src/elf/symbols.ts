import type { ByteReader } from "./byte-reader.js";
import {
  ELF64_SYM_SIZE,
  SHN_ABS,
  SHN_UNDEF,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STB_WEAK,
} from "./constants.js";
import { ElfError } from "./elf-error.js";
import type { SectionHeader } from "./headers.js";

export interface ElfSymbol {
  readonly name: string;
  /** Run-time address (the load base is added for a PIE, except to SHN_ABS symbols). */
  readonly address: number;
  readonly size: number;
  /** STT_* (1 object, 2 function, ...). */
  readonly type: number;
  /** STB_* (0 local, 1 global, 2 weak). */
  readonly bind: number;
}

/**
 * The defined symbols of the .symtab section by name. A global or weak definition wins
 * over a local one of the same name. Returns an empty map for a stripped file. Symbols
 * whose value is not below 2^53 are left out and their names added to `unrepresentable`.
 */
export function readSymbols(
  reader: ByteReader,
  sections: readonly SectionHeader[],
  loadBase: number,
  unrepresentable: Set<string> = new Set(),
): Map<string, ElfSymbol> {
  const symbols = new Map<string, ElfSymbol>();
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  if (!symtab) return symbols;
  const field = `shdr[${symtab.index}]`;
  if (symtab.entsize !== ELF64_SYM_SIZE) {
    throw new ElfError(`${field}.sh_entsize`, `symbol entry size ${symtab.entsize} is not ${ELF64_SYM_SIZE}`);
  }
  reader.requireRange(symtab.offset, symtab.size, `${field}.sh_offset`);
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT_STRTAB) {
    throw new ElfError(`${field}.sh_link`, `section ${symtab.link} is not a string table`);
  }
  reader.requireRange(strtab.offset, strtab.size, `shdr[${strtab.index}].sh_offset`);
  const strEnd = strtab.offset + strtab.size;

  for (let i = 1; i < symtab.size / ELF64_SYM_SIZE; i++) {
    const at = symtab.offset + i * ELF64_SYM_SIZE;
    const shndx = reader.u16(at + 6, `symtab[${i}].st_shndx`);
    if (shndx === SHN_UNDEF) continue;
    const nameOffset = reader.u32(at, `symtab[${i}].st_name`);
    if (nameOffset === 0) continue;
    if (nameOffset >= strtab.size) {
      throw new ElfError(`symtab[${i}].st_name`, `offset ${nameOffset} is outside the string table`);
    }
    const name = reader.cString(strtab.offset + nameOffset, strEnd, `symtab[${i}].st_name`);
    const info = reader.u8(at + 4, `symtab[${i}].st_info`);
    const bind = info >> 4;
    const existing = symbols.get(name);
    if (existing && (existing.bind === STB_GLOBAL || existing.bind === STB_WEAK)) continue;
    if (reader.u32(at + 12, `symtab[${i}].st_value`) >= 0x20_0000) {
      // An absolute value beyond 2^53 (a linker-script constant): not an address in the image.
      unrepresentable.add(name);
      continue;
    }
    const value = reader.u64(at + 8, `symtab[${i}].st_value (${name})`);
    symbols.set(name, {
      name,
      address: shndx === SHN_ABS ? value : value + loadBase,
      size: reader.u64(at + 16, `symtab[${i}].st_size`),
      type: info & 0xf,
      bind,
    });
  }
  return symbols;
}
