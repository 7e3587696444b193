// A smallest-possible statically linked x86-64 ET_EXEC, written field by field (ELF64 layout:
// 64-byte header, 56-byte program headers), so the CLI tests need no compiler.

export const MINIMAL_ELF_BASE = 0x40_0000;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** `hlt` then `jmp $-1` (spin on hlt). */
const CODE = [0xf4, 0xeb, 0xfd];

export interface MinimalElfOptions {
  readonly machine?: number;
  readonly entryOffset?: number;
  readonly flags?: number;
}

export function minimalElf(options: MinimalElfOptions = {}): Uint8Array {
  const codeOffset = EHDR_SIZE + PHDR_SIZE;
  const bytes = new Uint8Array(codeOffset + CODE.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // \x7fELF, ELFCLASS64, little-endian, EV_CURRENT, SysV
  view.setUint16(16, 2, true); // e_type ET_EXEC
  view.setUint16(18, options.machine ?? 62, true); // e_machine EM_X86_64
  view.setUint32(20, 1, true); // e_version
  view.setBigUint64(24, BigInt(MINIMAL_ELF_BASE + (options.entryOffset ?? codeOffset)), true); // e_entry
  view.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  view.setUint16(52, EHDR_SIZE, true); // e_ehsize
  view.setUint16(54, PHDR_SIZE, true); // e_phentsize
  view.setUint16(56, 1, true); // e_phnum
  view.setUint16(58, 64, true); // e_shentsize
  const ph = EHDR_SIZE;
  view.setUint32(ph, 1, true); // PT_LOAD
  view.setUint32(ph + 4, options.flags ?? 5, true); // PF_R | PF_X
  view.setBigUint64(ph + 8, 0n, true); // p_offset
  view.setBigUint64(ph + 16, BigInt(MINIMAL_ELF_BASE), true); // p_vaddr
  view.setBigUint64(ph + 24, BigInt(MINIMAL_ELF_BASE), true); // p_paddr
  view.setBigUint64(ph + 32, BigInt(bytes.length), true); // p_filesz
  view.setBigUint64(ph + 40, BigInt(bytes.length), true); // p_memsz
  view.setBigUint64(ph + 48, 0x1000n, true); // p_align
  bytes.set(CODE, codeOffset);
  return bytes;
}
