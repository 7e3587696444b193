// Wraps code assembled at a fixed address (a tdx-lib GuestImage) into a static ET_EXEC with one
// RWX PT_LOAD at that address, so `tdxsim run` tests can use builder guests without a compiler.

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const PAGE = 0x1000;

export function elfFromImage(image: Uint8Array, vaddr: number, entry: number): Uint8Array {
  const bytes = new Uint8Array(PAGE + image.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]); // \x7fELF, ELFCLASS64, little-endian, EV_CURRENT, SysV
  view.setUint16(16, 2, true); // e_type ET_EXEC
  view.setUint16(18, 62, true); // e_machine EM_X86_64
  view.setUint32(20, 1, true); // e_version
  view.setBigUint64(24, BigInt(entry), true); // e_entry
  view.setBigUint64(32, BigInt(EHDR_SIZE), true); // e_phoff
  view.setUint16(52, EHDR_SIZE, true); // e_ehsize
  view.setUint16(54, PHDR_SIZE, true); // e_phentsize
  view.setUint16(56, 1, true); // e_phnum
  view.setUint16(58, 64, true); // e_shentsize
  const ph = EHDR_SIZE;
  view.setUint32(ph, 1, true); // PT_LOAD
  view.setUint32(ph + 4, 7, true); // PF_R | PF_W | PF_X
  view.setBigUint64(ph + 8, BigInt(PAGE), true); // p_offset
  view.setBigUint64(ph + 16, BigInt(vaddr), true); // p_vaddr
  view.setBigUint64(ph + 24, BigInt(vaddr), true); // p_paddr
  view.setBigUint64(ph + 32, BigInt(image.length), true); // p_filesz
  view.setBigUint64(ph + 40, BigInt(image.length), true); // p_memsz
  view.setBigUint64(ph + 48, BigInt(PAGE), true); // p_align
  bytes.set(image, PAGE);
  return bytes;
}
