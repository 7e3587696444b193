// The second-stage translation (GPA → host page) that the layer above the CPU supplies: the
// TDX module's Secure/shared EPT for a TD, the memslots for a normal VM. The MMU asks it on a
// TLB fill and caches the answer until `generation` changes. See MMU.md for the contract.

/**
 * Access bits passed to `translate`. They sit at their positions in the VMX EPT-violation exit
 * qualification (SDM Vol. 3C Table 28-7), so `access | (entryRwx << 3)` is that qualification.
 */
export const GPA_ACCESS_READ = 1 << 0;
export const GPA_ACCESS_WRITE = 1 << 1;
export const GPA_ACCESS_FETCH = 1 << 2;
/** Bit 7: the guest linear address is valid (always set by this MMU: every access has one). */
export const GPA_ACCESS_GLA_VALID = 1 << 7;
/** Bit 8: the access is to the translated linear address; clear for a paging-structure entry read or A/D write. */
export const GPA_ACCESS_FINAL = 1 << 8;

/** translate() results. */
export const GPA_OK = 0;
/** No memory at this GPA: the access becomes an MMIO stop (KVM_EXIT_MMIO). */
export const GPA_NO_BACKING = 1;
/** Memory that is read-only for the guest (KVM_MEM_READONLY): a write becomes an MMIO stop. Only for writes. */
export const GPA_READONLY = 2;
/** The second stage refuses (an EPT violation the VMM must handle): a "gpa-fault" stop. */
export const GPA_FAULT = 3;
/** The layer wants a #VE (vector 20) injected for this EPT violation (TD: PENDING private page, #VE-enabled shared entry). */
export const GPA_VE = 4;
/**
 * The layer wants a #PF with PFEC.RSVD injected (TDX with GPAW 48: GPA bits above 47 set,
 * tdx-abi.md §3.3). The MMU builds the error code (P | RSVD | W/U/I of the access) and CR2.
 */
export const GPA_RSVD_PAGE_FAULT = 5;

export type GpaStatus = 0 | 1 | 2 | 3 | 4 | 5;

/** The answer to one translate() call; the MMU owns one and passes it in (no allocation per fill). */
export class GpaTranslation {
  /** The 4 KiB host page holding the GPA (GPA_OK). */
  bytes: Uint8Array = EMPTY_BYTES;
  /** The same page as 32-bit words (an Int32Array over the same storage, little-endian host). */
  words: Int32Array = EMPTY_WORDS;
  /**
   * Whether the MMU may cache write access to this page: false for read-only memory and for
   * pages whose writes the layer must see (dirty logging). A write access answered GPA_OK is
   * allowed whatever this says; it only governs caching.
   */
  writable = false;
  /** The page is private (TD KeyID) memory. Informational: the MMU treats both alike. */
  private = false;
  /** GPA_FAULT / GPA_VE: the R/W/X permission bits (2:0) of the refusing EPT entry, for qualification bits 5:3. */
  entryRwx = 0;
}

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_WORDS = new Int32Array(0);

export interface GuestPhysicalMap {
  /**
   * Bumped whenever an answer given before may no longer hold (slot deleted or moved, dirty log
   * harvested, Secure EPT entry blocked/removed/accepted, page converted). The MMU flushes its
   * TLB when it sees a new value (at `syncSecondStage()` and on every fill).
   */
  readonly generation: number;
  /**
   * Translates `gpa` (an integer below 2^52, with the TDX shared bit if the guest set it) for
   * `access` (GPA_ACCESS_* bits). Fills `out` and returns a status. Must not have guest-visible
   * side effects on a refusal: the MMU may ask speculatively. On GPA_OK for a write it may mark
   * the page dirty. It may allocate the host page.
   */
  translate(gpa: number, access: number, out: GpaTranslation): GpaStatus;
}
