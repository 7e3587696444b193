import { PAGE_SIZE } from "@tdxsim/memory";

// Fixed guest-physical addresses of the TD boot section (td_boot.h / td_boot_asm.h of the
// selftest series). Everything lives just below 4 GiB so that 32-bit boot code reaches it.

export const FOUR_GIGABYTES_GPA = 0x1_0000_0000;

/** The TDX module starts every vCPU here (RIP = 0xFFFFFFF0, 32-bit protected mode). */
export const RESET_VECTOR_GPA = 0xffff_fff0;
/** The reset-vector stub is exactly 16 bytes: it ends at 4 GiB. */
export const RESET_VECTOR_SIZE = 16;

/** td_boot_parameters (and the per-vCPU array after it) start here. */
export const TD_BOOT_PARAMETERS_GPA = 0xffff_0000;

/** Memslot numbers the series uses for the TD: main memory, boot code, boot parameters. */
export const TD_MAIN_MEMSLOT = 0;
export const TD_BOOT_CODE_MEMSLOT = 1;
export const TD_BOOT_PARAMETERS_MEMSLOT = 2;

function roundUpToPage(size: number): number {
  return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}

/** Boot code is copied so that it ends exactly at 4 GiB: its first byte. */
export function tdBootCodeGpa(bootCodeSize: number): number {
  return FOUR_GIGABYTES_GPA - bootCodeSize;
}

/** The boot-code memslot: round_up(size, 4096) bytes ending at 4 GiB. */
export function tdBootCodeSlot(bootCodeSize: number): { gpa: number; size: number } {
  const size = roundUpToPage(bootCodeSize);
  return { gpa: FOUR_GIGABYTES_GPA - size, size };
}
