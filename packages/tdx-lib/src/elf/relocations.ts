import { hex } from "../util/hex.js";
import type { ByteReader } from "./byte-reader.js";
import {
  DT_JMPREL,
  DT_NEEDED,
  DT_NULL,
  DT_PLTRELSZ,
  DT_REL,
  DT_RELA,
  DT_RELAENT,
  DT_RELASZ,
  DT_RELR,
  DT_RELRENT,
  DT_RELRSZ,
  DT_RELSZ,
  ELF64_DYN_SIZE,
  ELF64_RELA_SIZE,
  PT_DYNAMIC,
  R_X86_64_NONE,
  R_X86_64_RELATIVE,
  X86_64_RELOCATION_NAMES,
} from "./constants.js";
import { ElfError } from "./elf-error.js";
import type { ProgramHeader } from "./headers.js";
import type { PageImage } from "./page-image.js";
import { segmentContaining } from "./segments.js";

/** A table the dynamic section points at: link-time address and size in bytes. */
interface DynamicTable {
  readonly vaddr: number;
  readonly size: number;
}

interface DynamicInfo {
  readonly rela: DynamicTable[];
  readonly relr?: DynamicTable;
}

/** The dynamic tags this loader reads; the d_val of any other tag may be anything. */
const RELOCATION_TAGS = new Set([
  DT_RELA,
  DT_RELASZ,
  DT_RELAENT,
  DT_REL,
  DT_RELSZ,
  DT_JMPREL,
  DT_PLTRELSZ,
  DT_RELR,
  DT_RELRSZ,
  DT_RELRENT,
]);

/** Reads the PT_DYNAMIC entries a static PIE uses; anything needing a dynamic linker is refused. */
function readDynamic(reader: ByteReader, dynamic: ProgramHeader): DynamicInfo {
  const tags = new Map<number, number>();
  const count = Math.floor(dynamic.filesz / ELF64_DYN_SIZE);
  for (let i = 0; i < count; i++) {
    const at = dynamic.offset + i * ELF64_DYN_SIZE;
    const tag = reader.i64(at, `dynamic[${i}].d_tag`);
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) {
      throw new ElfError(
        `dynamic[${i}].d_tag`,
        "DT_NEEDED: the file depends on a shared library; link it statically",
      );
    }
    if (RELOCATION_TAGS.has(tag)) tags.set(tag, reader.u64(at + 8, `dynamic[${i}].d_val`));
  }
  if (tags.has(DT_REL) && (tags.get(DT_RELSZ) ?? 0) > 0) {
    throw new ElfError(
      "dynamic.DT_REL",
      "REL relocations (without addend) are not used on x86-64 and not supported",
    );
  }
  const relaent = tags.get(DT_RELAENT) ?? ELF64_RELA_SIZE;
  if (relaent !== ELF64_RELA_SIZE)
    throw new ElfError("dynamic.DT_RELAENT", `${relaent} is not ${ELF64_RELA_SIZE}`);
  const rela: DynamicTable[] = [];
  const relaSize = tags.get(DT_RELASZ) ?? 0;
  if (relaSize > 0) {
    if (!tags.has(DT_RELA))
      throw new ElfError("dynamic.DT_RELASZ", "DT_RELASZ is set but DT_RELA is missing");
    rela.push({ vaddr: tags.get(DT_RELA)!, size: relaSize });
  }
  const pltSize = tags.get(DT_PLTRELSZ) ?? 0;
  if (pltSize > 0) {
    if (!tags.has(DT_JMPREL))
      throw new ElfError("dynamic.DT_PLTRELSZ", "DT_PLTRELSZ is set but DT_JMPREL is missing");
    rela.push({ vaddr: tags.get(DT_JMPREL)!, size: pltSize });
  }
  for (const table of rela) {
    if (table.size % ELF64_RELA_SIZE !== 0) {
      throw new ElfError("dynamic.DT_RELASZ", `${hex(table.size)} is not a multiple of ${ELF64_RELA_SIZE}`);
    }
  }
  const relrSize = tags.get(DT_RELRSZ) ?? 0;
  if (relrSize === 0) return { rela };
  const relrent = tags.get(DT_RELRENT) ?? 8;
  if (relrent !== 8) throw new ElfError("dynamic.DT_RELRENT", `${relrent} is not 8`);
  if (!tags.has(DT_RELR)) throw new ElfError("dynamic.DT_RELRSZ", "DT_RELRSZ is set but DT_RELR is missing");
  if (relrSize % 8 !== 0) throw new ElfError("dynamic.DT_RELRSZ", `${hex(relrSize)} is not a multiple of 8`);
  return { rela, relr: { vaddr: tags.get(DT_RELR)!, size: relrSize } };
}

/** File offset of a table given by its link-time address (it must lie in a segment's file bytes). */
function tableFileOffset(loads: readonly ProgramHeader[], table: DynamicTable, field: string): number {
  const ph = loads.find((p) => table.vaddr >= p.vaddr && table.vaddr + table.size <= p.vaddr + p.filesz);
  if (!ph) {
    throw new ElfError(
      field,
      `table [${hex(table.vaddr)}, ${hex(table.vaddr + table.size)}) is not inside any PT_LOAD's file bytes`,
    );
  }
  return ph.offset + (table.vaddr - ph.vaddr);
}

function encodeU64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, value % 2 ** 32, true);
  view.setUint32(4, Math.floor(value / 2 ** 32), true);
  return out;
}

function decodeU64(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
}

/** Checks a relocation target lies in a loaded segment and returns the relocated address. */
function target(loads: readonly ProgramHeader[], offset: number, loadBase: number, field: string): number {
  if (!segmentContaining(loads, offset, 8)) {
    throw new ElfError(field, `relocation target ${hex(offset)} is not inside a PT_LOAD segment`);
  }
  return offset + loadBase;
}

/**
 * Applies the static PIE's R_X86_64_RELATIVE (and DT_RELR) relocations for `loadBase` to the
 * page image. Returns how many words were relocated. Any other type is refused: a static
 * image has nothing to bind symbols against.
 */
export function applyRelocations(
  reader: ByteReader,
  headers: readonly ProgramHeader[],
  loads: readonly ProgramHeader[],
  image: PageImage,
  loadBase: number,
  isExec: boolean,
): number {
  const dynamic = headers.find((ph) => ph.type === PT_DYNAMIC);
  if (!dynamic) return 0;
  const info = readDynamic(reader, dynamic);
  if (isExec && (info.rela.length > 0 || info.relr)) {
    throw new ElfError(
      "e_type",
      "ET_EXEC with dynamic relocations cannot be loaded: it is not statically linked",
    );
  }
  let applied = 0;
  for (const table of info.rela) {
    const base = tableFileOffset(loads, table, "dynamic.DT_RELA");
    for (let i = 0; i < table.size / ELF64_RELA_SIZE; i++) {
      const at = base + i * ELF64_RELA_SIZE;
      const field = (name: string) => `rela[${i}].${name}`;
      const offset = reader.u64(at, field("r_offset"));
      const type = reader.u32(at + 8, field("r_info"));
      const sym = reader.u32(at + 12, field("r_info"));
      if (type === R_X86_64_NONE) continue;
      if (type !== R_X86_64_RELATIVE) {
        const name = X86_64_RELOCATION_NAMES[type] ?? `type ${type}`;
        throw new ElfError(
          field("r_info"),
          `${name} is not supported; a static PIE may only use R_X86_64_RELATIVE`,
        );
      }
      if (sym !== 0)
        throw new ElfError(field("r_info"), `R_X86_64_RELATIVE names symbol ${sym}; it must be 0`);
      const addend = reader.i64(at + 16, field("r_addend"));
      image.write(target(loads, offset, loadBase, field("r_offset")), encodeU64(loadBase + addend));
      applied++;
    }
  }
  if (info.relr) applied += applyRelr(reader, loads, image, loadBase, info.relr);
  return applied;
}

/** DT_RELR: packed relative relocations, each word adds the load base in place. */
function applyRelr(
  reader: ByteReader,
  loads: readonly ProgramHeader[],
  image: PageImage,
  loadBase: number,
  table: DynamicTable,
): number {
  const base = tableFileOffset(loads, table, "dynamic.DT_RELR");
  let applied = 0;
  let where = -1;
  const relocate = (offset: number, i: number) => {
    const address = target(loads, offset, loadBase, `relr[${i}]`);
    image.write(address, encodeU64(decodeU64(image.read(address, 8)) + loadBase));
    applied++;
  };
  for (let i = 0; i < table.size / 8; i++) {
    const at = base + i * 8;
    const lo = reader.u32(at, `relr[${i}]`);
    if ((lo & 1) === 0) {
      where = reader.u64(at, `relr[${i}]`);
      relocate(where, i);
      where += 8;
      continue;
    }
    if (where < 0) throw new ElfError(`relr[${i}]`, "a bitmap entry comes before any address entry");
    const hi = reader.u32(at + 4, `relr[${i}]`);
    for (let bit = 1; bit < 64; bit++) {
      const set = bit < 32 ? (lo >>> bit) & 1 : (hi >>> (bit - 32)) & 1;
      if (set) relocate(where + (bit - 1) * 8, i);
    }
    where += 63 * 8;
  }
  return applied;
}
