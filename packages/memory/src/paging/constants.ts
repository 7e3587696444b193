// x86 paging-structure entry bits (SDM Vol. 3A §4.5), page sizes and #PF error-code bits
// (§4.7). Bit values are numbers for the low 32 bits of an entry; NX (bit 63) is given for
// the high word (PTE_HI_NX) and, for API edges, as a bigint in PTE.
export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
/** Page size, in PDPTEs (1 GiB) and PDEs (2 MiB); reserved in PML4Es/PML5Es. */
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
/** PAT bit: bit 7 in a 4 KiB PTE, bit 12 in a 2 MiB / 1 GiB leaf. */
export const PTE_PAT_4K = 1 << 7;
export const PTE_PAT_LARGE = 1 << 12;
/** Execute-disable, bit 63 = bit 31 of the high word. */
export const PTE_HI_NX = 0x80000000;
/** Address bits 51:12 of an entry, split into the low and high words. */
export const PTE_ADDR_LO = 0xfffff000;
export const PTE_ADDR_HI = 0x000fffff;

/** The same bits as 64-bit values, for code that assembles whole entries. */
export const PTE = {
  P: 1n << 0n,
  RW: 1n << 1n,
  US: 1n << 2n,
  PWT: 1n << 3n,
  PCD: 1n << 4n,
  A: 1n << 5n,
  D: 1n << 6n,
  PS: 1n << 7n,
  G: 1n << 8n,
  NX: 1n << 63n,
} as const;

export const PAGE_SIZE_4K = 2 ** 12;
export const PAGE_SIZE_2M = 2 ** 21;
export const PAGE_SIZE_1G = 2 ** 30;

/** Page-fault error code bits. */
export const PF_P = 1 << 0;
export const PF_W = 1 << 1;
export const PF_U = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_I = 1 << 4;
export const PF_PK = 1 << 5;
export const PF_SS = 1 << 6;

/** Access kinds for the walker. WRITE, USER and FETCH sit at their error-code positions. */
export const ACCESS_READ = 0;
export const ACCESS_WRITE = PF_W;
/** A user-mode access (CPL 3, not an implicit supervisor access). */
export const ACCESS_USER = PF_U;
export const ACCESS_FETCH = PF_I;
/** An implicit supervisor-mode access (GDT/IDT/TSS... reads), even at CPL 3: SMAP applies regardless of EFLAGS.AC. */
export const ACCESS_IMPLICIT = 1 << 8;
/** EFLAGS.AC was 1 for this explicit supervisor access (STAC): SMAP lets it touch user pages. */
export const ACCESS_EFLAGS_AC = 1 << 9;

export type PagingLevels = 4 | 5;
