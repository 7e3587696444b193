import { describe, expect, it } from "vitest";
import { ElfError, loadElf } from "../../src/index.js";
import { ElfPatcher } from "./corrupt.js";
import { gccAvailable, useCompiledGuests } from "./gcc-guest.js";

const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_TLS = 7;
const PT_GNU_RELRO = 0x6474e552;
const DT_RELACOUNT = 0x6ffffff9;

/** Asserts loadElf refuses `bytes` with an ElfError on `field` whose message matches `message`. */
function expectRefused(bytes: Uint8Array, field: string, message: RegExp): void {
  let error: unknown;
  try {
    loadElf(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, "loadElf should have thrown").toBeInstanceOf(ElfError);
  expect((error as ElfError).field).toBe(field);
  expect((error as ElfError).message).toMatch(message);
}

describe.skipIf(!gccAvailable())("loadElf refuses malformed files, naming the field", () => {
  const compiled = useCompiledGuests();

  const exec = () => new ElfPatcher(compiled.guests.exec.bytes);
  const pie = () => new ElfPatcher(compiled.guests.pie.bytes);

  it("truncated ELF header", () => {
    expectRefused(compiled.guests.exec.bytes.slice(0, 40), "e_ident", /needs 64 bytes, the file has 40/);
    expectRefused(new Uint8Array(0), "e_ident", /the file has 0/);
  });

  it("bad magic, class, data encoding, version", () => {
    expectRefused(exec().u8(1, 0x46).bytes, "e_ident[EI_MAG]", /bad magic/);
    expectRefused(exec().u8(4, 1).bytes, "e_ident[EI_CLASS]", /ELFCLASS32.*only ELFCLASS64/);
    expectRefused(exec().u8(4, 9).bytes, "e_ident[EI_CLASS]", /unknown class 9/);
    expectRefused(exec().u8(5, 2).bytes, "e_ident[EI_DATA]", /not ELFDATA2LSB/);
    expectRefused(exec().u8(6, 0).bytes, "e_ident[EI_VERSION]", /not EV_CURRENT/);
    expectRefused(exec().u32(20, 2).bytes, "e_version", /not EV_CURRENT/);
  });

  it("wrong file type and machine", () => {
    expectRefused(exec().u16(16, 1).bytes, "e_type", /ET_REL \(an object file: link it first\)/);
    expectRefused(exec().u16(16, 4).bytes, "e_type", /ET_CORE/);
    expectRefused(exec().u16(18, 3).bytes, "e_machine", /EM_386 \(3\) is not EM_X86_64 \(62\)/);
    expectRefused(exec().u16(18, 183).bytes, "e_machine", /machine 183/);
  });

  it("header sizes and tables outside the file", () => {
    expectRefused(exec().u16(52, 52).bytes, "e_ehsize", /52 is not 64/);
    expectRefused(exec().u16(54, 32).bytes, "e_phentsize", /32 is not the ELF64 program header size 56/);
    expectRefused(exec().u16(56, 0).bytes, "e_phnum", /no program headers/);
    const p = exec();
    expectRefused(
      compiled.guests.exec.bytes.slice(0, p.phoff + 56),
      "e_phoff",
      /program header table .* is truncated/,
    );
    expectRefused(exec().u64(32, 0xffff_ff00).bytes, "e_phoff", /is truncated/);
    expectRefused(exec().u16(58, 40).bytes, "e_shentsize", /40 is not the ELF64 section header size 64/);
    expectRefused(exec().u64(40, 0x7fff_0000).bytes, "e_shoff", /section header table .* is truncated/);
    expectRefused(exec().u16(62, 500).bytes, "e_shstrndx", /500 is not below e_shnum/);
    expectRefused(exec().u64(24, 0xffff_ffff_ffff_f000n).bytes, "e_entry", /is not below 2\^53/);
  });

  it("segments outside the file or with impossible sizes", () => {
    const p = exec();
    const load = p.phdr(p.phdrIndex(PT_LOAD, 1));
    const index = p.phdrIndex(PT_LOAD, 1);
    expectRefused(exec().u64(load + 8, 0x10_0000).bytes, `phdr[${index}].p_offset`, /lies outside the file/);
    expectRefused(exec().u64(load + 32, 0x10_0000).bytes, `phdr[${index}].p_offset`, /lies outside the file/);
    const data = p.phdr(p.phdrIndex(PT_LOAD, 3));
    const dataIndex = p.phdrIndex(PT_LOAD, 3);
    const filesz = p.readU64(data + 32);
    expectRefused(exec().u64(data + 40, filesz - 1).bytes, `phdr[${dataIndex}].p_filesz`, /exceeds p_memsz/);
    expectRefused(exec().u64(data + 40, 2 ** 52).bytes, `phdr[${dataIndex}].p_memsz`, /not below 2\^52/);
  });

  it("unaligned segments", () => {
    const p = exec();
    const index = p.phdrIndex(PT_LOAD, 1);
    const load = p.phdr(index);
    const vaddr = p.readU64(load + 16);
    expectRefused(
      exec().u64(load + 16, vaddr + 8).bytes,
      `phdr[${index}].p_vaddr`,
      /not congruent modulo p_align 0x1000/,
    );
    expectRefused(
      exec().u64(load + 48, 0x1800).bytes,
      `phdr[${index}].p_align`,
      /0x1800 is not a power of two/,
    );
  });

  it("overlapping segments", () => {
    const p = exec();
    const text = p.phdrIndex(PT_LOAD, 1);
    const rodata = p.phdrIndex(PT_LOAD, 2);
    // Move .rodata's segment onto the code page (offset kept congruent).
    const moved = exec().u64(p.phdr(rodata) + 16, p.readU64(p.phdr(text) + 16));
    expectRefused(moved.bytes, `phdr[${rodata}].p_vaddr`, new RegExp(`overlaps phdr\\[${text}\\]`));
  });

  it("an entry point outside executable code", () => {
    const p = exec();
    const data = p.phdr(p.phdrIndex(PT_LOAD, 3));
    expectRefused(exec().u64(24, p.readU64(data + 16)).bytes, "e_entry", /not inside an executable PT_LOAD/);
    expectRefused(exec().u64(24, 0x10).bytes, "e_entry", /0x10 is not inside an executable PT_LOAD/);
  });

  it("segments that need a runtime: PT_INTERP, PT_TLS", () => {
    const p = pie();
    const relro = p.phdrIndex(PT_GNU_RELRO);
    expectRefused(
      pie().u32(p.phdr(relro), PT_INTERP).bytes,
      `phdr[${relro}].p_type`,
      /needs a dynamic loader/,
    );
    expectRefused(pie().u32(p.phdr(relro), PT_TLS).bytes, `phdr[${relro}].p_type`, /thread-local storage/);
  });

  it("no loadable segment", () => {
    const p = exec();
    const patched = exec();
    for (let i = 0; i < p.phnum; i++)
      if (p.readU32(p.phdr(i)) === PT_LOAD) patched.u32(p.phdr(i), 0x6000_0000);
    expectRefused(patched.bytes, "e_phnum", /no PT_LOAD segment/);
  });

  it("unsupported relocation types and dynamic entries", () => {
    const p = pie();
    const rela = p.firstRela();
    expectRefused(pie().u32(rela + 8, 1).bytes, "rela[0].r_info", /R_X86_64_64 is not supported/);
    expectRefused(pie().u32(rela + 8, 7).bytes, "rela[0].r_info", /R_X86_64_JUMP_SLOT is not supported/);
    expectRefused(pie().u32(rela + 8, 250).bytes, "rela[0].r_info", /type 250 is not supported/);
    expectRefused(pie().u32(rela + 12, 3).bytes, "rela[0].r_info", /names symbol 3; it must be 0/);
    expectRefused(pie().u64(rela, 0x7000_0000).bytes, "rela[0].r_offset", /not inside a PT_LOAD segment/);
    const relacount = p.dynamicEntry(DT_RELACOUNT);
    const relacountIndex = (relacount - p.readU64(p.phdr(p.phdrIndex(2)) + 8)) / 16;
    expectRefused(
      pie().u64(relacount, 1).bytes,
      `dynamic[${relacountIndex}].d_tag`,
      /DT_NEEDED: .*shared library/,
    );
    expectRefused(pie().u64(p.dynamicEntry(9) + 8, 16).bytes, "dynamic.DT_RELAENT", /16 is not 24/);
    expectRefused(pie().u64(p.dynamicEntry(8) + 8, 50).bytes, "dynamic.DT_RELASZ", /not a multiple of 24/);
    expectRefused(
      pie().u64(p.dynamicEntry(7) + 8, 0x90_0000).bytes,
      "dynamic.DT_RELA",
      /not inside any PT_LOAD/,
    );
    // DT_REL with a size: REL (no addend) does not exist on x86-64.
    expectRefused(
      pie().u64(relacount, 17).u64(p.dynamicEntry(8), 18).bytes,
      "dynamic.DT_REL",
      /not supported/,
    );
  });

  it("an ET_EXEC carrying dynamic relocations", () => {
    expectRefused(pie().u16(16, 2).bytes, "e_type", /ET_EXEC with dynamic relocations/);
  });

  it("a broken symbol table", () => {
    const p = exec();
    const shoff = p.readU64(40);
    const shnum = new DataView(p.bytes.buffer).getUint16(60, true);
    let symtab = -1;
    for (let i = 0; i < shnum; i++) if (p.readU32(shoff + i * 64 + 4) === 2) symtab = i;
    const sh = shoff + symtab * 64;
    expectRefused(exec().u64(sh + 56, 16).bytes, `shdr[${symtab}].sh_entsize`, /16 is not 24/);
    expectRefused(exec().u32(sh + 40, symtab).bytes, `shdr[${symtab}].sh_link`, /is not a string table/);
    expectRefused(exec().u64(sh + 24, 0x100_0000).bytes, `shdr[${symtab}].sh_offset`, /outside the file/);
    // st_name of the symbol at index 2 pointing past the string table.
    const symOffset = p.readU64(sh + 24) + 2 * 24;
    expectRefused(exec().u32(symOffset, 0xffff).bytes, "symtab[2].st_name", /outside the string table/);
  });
});

describe.skipIf(!gccAvailable())("loadElf bounds the image size", () => {
  const compiled = useCompiledGuests();

  it("refuses a p_memsz that would cover more than maxImageSize", () => {
    const p = new ElfPatcher(compiled.guests.exec.bytes);
    const index = p.phdrIndex(PT_LOAD, 3);
    const huge = new ElfPatcher(compiled.guests.exec.bytes).u64(p.phdr(index) + 40, 2 ** 40).bytes;
    expectRefused(
      huge,
      `phdr[${index}].p_memsz`,
      /cover more than the image size limit 0x10000000 \(maxImageSize\)/,
    );
    expect(() => loadElf(compiled.guests.exec.bytes, { maxImageSize: 0x3000 })).toThrow(
      /image size limit 0x3000/,
    );
    expect(loadElf(compiled.guests.exec.bytes, { maxImageSize: 0x6000 }).chunks.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!gccAvailable())("symbols and load bases at the edges", () => {
  const compiled = useCompiledGuests();

  it("an absolute symbol beyond 2^53 does not break loading; looking it up says why", () => {
    const p = new ElfPatcher(compiled.guests.exec.bytes);
    const shoff = p.readU64(40);
    const shnum = new DataView(p.bytes.buffer).getUint16(60, true);
    let symtab = 0;
    for (let i = 0; i < shnum; i++) if (p.readU32(shoff + i * 64 + 4) === 2) symtab = shoff + i * 64;
    const syms = p.readU64(symtab + 24);
    const strtab = p.readU64(shoff + p.readU32(symtab + 40) * 64 + 24);
    // Find "result_value" and give it a huge value.
    let patched: ElfPatcher | undefined;
    for (let i = 1; i < p.readU64(symtab + 32) / 24; i++) {
      const nameAt = strtab + p.readU32(syms + i * 24);
      const name = new TextDecoder().decode(p.bytes.subarray(nameAt, nameAt + 12));
      if (name === "result_value")
        patched = new ElfPatcher(compiled.guests.exec.bytes).u64(syms + i * 24 + 8, 0xffff_ffff_0000_0000n);
    }
    const elf = loadElf(patched!.bytes);
    expect(() => elf.symbol("result_value")).toThrow(/its value is not below 2\^53/);
    expect(elf.symbol("_start").address).toBe(elf.entry);
  });

  it("a PIE load base that pushes the image past 2^52", () => {
    expect(() => loadElf(compiled.guests.pie.bytes, { loadBase: 2 ** 52 - 0x1000 })).toThrow(
      /loadBase: .* past 2\^52/,
    );
  });
});
