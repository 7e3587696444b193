// Control-register and EFER bits (Intel SDM vol. 3A §2.5, §2.2.1) and the values the TD boot
// path uses. Numbers, not BigInt: all of these fit in 32 bits.

export const CR0 = {
  PE: 1 << 0,
  MP: 1 << 1,
  EM: 1 << 2,
  TS: 1 << 3,
  ET: 1 << 4,
  NE: 1 << 5,
  WP: 1 << 16,
  AM: 1 << 18,
  NW: 1 << 29,
  CD: 1 << 30,
  PG: 2 ** 31,
} as const;

export const CR4 = {
  VME: 1 << 0,
  PVI: 1 << 1,
  TSD: 1 << 2,
  DE: 1 << 3,
  PSE: 1 << 4,
  PAE: 1 << 5,
  MCE: 1 << 6,
  PGE: 1 << 7,
  PCE: 1 << 8,
  OSFXSR: 1 << 9,
  OSXMMEXCPT: 1 << 10,
  UMIP: 1 << 11,
  LA57: 1 << 12,
  VMXE: 1 << 13,
  SMXE: 1 << 14,
  FSGSBASE: 1 << 16,
  PCIDE: 1 << 17,
  OSXSAVE: 1 << 18,
  SMEP: 1 << 20,
  SMAP: 1 << 21,
  PKE: 1 << 22,
  CET: 1 << 23,
  PKS: 1 << 24,
} as const;

export const EFER = {
  SCE: 1 << 0,
  LME: 1 << 8,
  LMA: 1 << 10,
  NXE: 1 << 11,
} as const;

export const MSR_IA32_EFER = 0xc000_0080;

/**
 * CR0 the boot code loads: vcpu_setup_mode_sregs() gives PE | NE | PG for 4-level paging
 * (the selftests zero the sregs first, so nothing else is set).
 */
// `>>> 0`: PG is bit 31, and JavaScript bitwise OR yields a signed 32-bit result.
export const TD_BOOT_CR0 = (CR0.PE | CR0.NE | CR0.PG) >>> 0; // 0x80000021

/**
 * CR4 the boot code loads: PAE | OSFXSR from vcpu_setup_mode_sregs(), plus MCE and
 * OSXMMEXCPT that load_td_boot_parameters() sets (VMXE and SMXE cleared).
 */
export const TD_BOOT_CR4 = CR4.PAE | CR4.MCE | CR4.OSFXSR | CR4.OSXMMEXCPT; // 0x660

/** What the TDX module leaves in a TD vCPU at its first entry (TDX module 1.5, TDH.VP.INIT). */
export const TD_RESET_CR0 = CR0.PE | CR0.NE; // 0x21: 32-bit protected mode, paging off
export const TD_RESET_CR4_GUEST_VISIBLE = CR4.MCE; // VMXE is set but hidden by the read shadow
export const TD_RESET_EFER = EFER.SCE | EFER.LME | EFER.NXE; // 0x901

/**
 * EFER once the boot code has set CR0.PG with CR4.PAE: the CPU sets LMA. The boot code
 * never writes EFER (a TD cannot: KVM refuses guest EFER writes), it relies on LME being set.
 */
export const TD_LONG_MODE_EFER = TD_RESET_EFER | EFER.LMA; // 0xD01

/** The EFER the selftests' sregs carry for a 64-bit guest (LME | LMA | NX), for comparison. */
export const SELFTEST_64BIT_EFER = EFER.LME | EFER.LMA | EFER.NXE; // 0xD00
