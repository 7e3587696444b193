// The ELF64 header and the one PT_LOAD program header of a static x86-64 ET_EXEC, written field by
// field (64-byte header at 0, program header right after it), so the CLI tests need no compiler.

export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;

export interface Elf64ExecLayout {
  /** e_machine (default EM_X86_64, 62). */
  readonly machine?: number;
  readonly entry: number;
  /** The PT_LOAD segment: p_flags, p_offset, p_vaddr (= p_paddr), p_filesz (= p_memsz), p_align. */
  readonly load: {
    readonly flags: number;
    readonly offset: number;
    readonly vaddr: number;
    readonly size: number;
    readonly align: number;
  };
}

/** Writes the ELF header and the PT_LOAD header into the start of `bytes`. */
export function writeElf64ExecHeaders(bytes: Uint8Array, layout: Elf64ExecLayout): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // \x7fELF, ELFCLASS64, little-endian, EV_CURRENT, SysV
  view.setUint16(16, 2, true); // e_type ET_EXEC
  view.setUint16(18, layout.machine ?? 62, true); // e_machine EM_X86_64
  view.setUint32(20, 1, true); // e_version
  view.setBigUint64(24, BigInt(layout.entry), true); // e_entry
  view.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  view.setUint16(52, EHDR_SIZE, true); // e_ehsize
  view.setUint16(54, PHDR_SIZE, true); // e_phentsize
  view.setUint16(56, 1, true); // e_phnum
  view.setUint16(58, 64, true); // e_shentsize
  const ph = EHDR_SIZE;
  const { load } = layout;
  view.setUint32(ph, 1, true); // PT_LOAD
  view.setUint32(ph + 4, load.flags, true); // p_flags
  view.setBigUint64(ph + 8, BigInt(load.offset), true); // p_offset
  view.setBigUint64(ph + 16, BigInt(load.vaddr), true); // p_vaddr
  view.setBigUint64(ph + 24, BigInt(load.vaddr), true); // p_paddr
  view.setBigUint64(ph + 32, BigInt(load.size), true); // p_filesz
  view.setBigUint64(ph + 40, BigInt(load.size), true); // p_memsz
  view.setBigUint64(ph + 48, BigInt(load.align), true); // p_align
}
