// Small TD guest images for tests and examples: an image for the top of 4 GiB whose reset vector
// (0xFFFFFFF0) jumps to label `start`; `longModeGuest` adds 32-bit code that builds page tables and
// an IDT, enters long mode and runs the caller's 64-bit code (Intel syntax, @tdxsim/x86/asm).
import { assembleText } from "@tdxsim/x86/asm";

/** Where the image goes: IMAGE_PAGES pages ending at 4 GiB (add them with TDH.MEM.PAGE.ADD). */
export const IMAGE_BASE = 0xffff_9000;
export const IMAGE_PAGES = 7;
const RESET_VECTOR = 0xffff_fff0;

/** Places `text` (assembled at IMAGE_BASE) so that the reset vector jumps to label `start`. */
export function imageWithResetVector(text: string): Uint8Array {
  const { bytes, labels } = assembleText(text, { mode: 32, origin: IMAGE_BASE });
  const image = new Uint8Array(IMAGE_PAGES * 4096);
  const limit = RESET_VECTOR - IMAGE_BASE;
  if (bytes.length > limit) throw new Error(`guest image is ${bytes.length} bytes, more than ${limit}`);
  image.set(bytes);
  const start = Number(labels.get("start") ?? Number.NaN);
  if (!Number.isFinite(start)) throw new Error("guest image has no start label");
  // jmp rel32 (E9) from the reset vector, in 32-bit protected mode.
  const v = new DataView(image.buffer);
  image[limit] = 0xe9;
  v.setInt32(limit + 1, start - (RESET_VECTOR + 5), true);
  return image;
}

/** Linear address where longModeGuest maps the first 2 MiB of shared memory (GPA bit 47 set). */
export const SHARED_WINDOW = 0x4000_0000;

/**
 * A long-mode guest: identity maps 0..2 MiB and the top 2 MiB below 4 GiB with 2 MiB pages, maps
 * SHARED_WINDOW to GPA 2^47 (shared, GPAW 48), an
 * IDT whose #VE (20), #GP (13) and #UD (6) gates go to `ve_handler`, `gp_handler`, `ud_handler`
 * (labels `body64` must define), stack below 0xFFFFF000.
 */
export function longModeGuest(body64: string): Uint8Array {
  const gate = (v: number, handler: string) => `
  lea eax, ${handler}
  mov WORD PTR idt+${v * 16}, ax
  mov WORD PTR idt+${v * 16 + 2}, 0x08
  mov WORD PTR idt+${v * 16 + 4}, 0x8e00
  shr eax, 16
  mov WORD PTR idt+${v * 16 + 6}, ax`;
  return imageWithResetVector(`
.code32
pml4:    .zero 4096
pdpt:    .zero 4096
pd_top:  .zero 4096
pd_low:  .zero 4096
pd_shared: .zero 4096
stack:   .zero 4096
stack_top:
start:
  lea esp, stack_top
  lea eax, pdpt ; or eax, 3 ; mov DWORD PTR pml4, eax
  lea eax, pd_low ; or eax, 3 ; mov DWORD PTR pdpt, eax
  lea eax, pd_top ; or eax, 3 ; mov DWORD PTR pdpt+24, eax
  lea eax, pd_shared ; or eax, 3 ; mov DWORD PTR pdpt+8, eax
  mov DWORD PTR pd_shared, 0x83 ; mov DWORD PTR pd_shared+4, 0x8000
  mov DWORD PTR pd_low, 0x83
  mov DWORD PTR pd_top+4088, 0xffe00083
  ${gate(6, "ud_handler")}
  ${gate(13, "gp_handler")}
  ${gate(20, "ve_handler")}
  mov eax, cr4 ; or eax, 0x20 ; mov cr4, eax
  lea eax, pml4 ; mov cr3, eax
  mov eax, cr0 ; or eax, 0x80000000 ; mov cr0, eax
  lgdt gdtr
  lidt idtr
  jmp 0x08:long_entry
.align 8, 0
gdt:  .quad 0, 0x00209B0000000000, 0x0000930000000000
gdtr: .word 23
      .long gdt
idtr: .word ${21 * 16 - 1}
      .long idt
.align 16, 0
idt:  .zero ${21 * 16}
.code64
long_entry:
  mov ax, 0x10 ; mov ds, ax ; mov es, ax ; mov ss, ax
  mov esp, 0x${(IMAGE_BASE + 6 * 4096).toString(16)}
${body64}
`);
}

/** TDVMCALL<Instruction.IO> OUT of `dataReg` to `port` (GHCI: R10 = 0, R11 = 30, R12 size, R13 1 = write). */
export function tdvmcallOut(port: number, dataReg: string, size = 4): string {
  return `
  mov r15, ${dataReg}
  xor eax, eax ; mov ecx, 0xfc00
  xor r10d, r10d ; mov r11d, 30 ; mov r12d, ${size} ; mov r13d, 1 ; mov r14d, ${port}
  tdcall`;
}
