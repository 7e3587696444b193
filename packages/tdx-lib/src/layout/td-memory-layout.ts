import { PAGE_SIZE } from "@tdxsim/memory";
import { hex } from "../util/hex.js";
import {
  KVM_GUEST_PAGE_TABLE_MIN_PADDR,
  KVM_UTIL_MIN_PFN,
  KVM_UTIL_MIN_VADDR,
  tdxSharedBit,
} from "./constants.js";
import { MemslotPages, type PageRun } from "./memslot-pages.js";
import { TdLayoutError } from "./td-layout-error.js";

/** GVAs stay in the lower canonical half of a 4-level address space. */
const GVA_LIMIT = 2 ** 47;

/** A run of 4 KiB guest mappings GVA → GPA for the page-table builder. */
export interface GuestMapping {
  readonly gva: number;
  /** GPA without the shared bit. */
  readonly gpa: number;
  readonly pages: number;
  /** The leaf PTEs carry the TD's shared bit (virt_map_shared). */
  readonly shared: boolean;
}

export interface VaddrAllocOptions {
  /** Memslot that backs the allocation (default 0). */
  readonly slot?: number;
  /** Lowest GPA for the backing pages (default KVM_UTIL_MIN_PFN × 4096). */
  readonly paddrMin?: number;
  /** Shared memory: not protected (not added at finalize), mapped with the shared bit. */
  readonly shared?: boolean;
}

export interface TdMemoryLayoutOptions {
  /** GPAW of the TD: 48 (shared bit 47) or 52 (shared bit 51). */
  readonly gpaw?: 48 | 52;
}

/**
 * The TD's guest memory as the selftest library tracks it: memslots with their allocated
 * and protected pages, and the guest-virtual mappings the page tables must hold. It plans
 * addresses only; the page-table bytes are written by @tdxsim/memory's builder from
 * `mappings()`, with page-table pages taken from `allocPageTablePage()`.
 */
export class TdMemoryLayout {
  readonly gpaw: 48 | 52;
  /** The shared bit as a GPA value (2^(GPAW−1)). */
  readonly sharedBit: number;
  private readonly slots = new Map<number, MemslotPages>();
  /** GVA page number → GPA page number and shared flag. */
  private readonly vpages = new Map<number, { gpn: number; shared: boolean }>();

  constructor(options: TdMemoryLayoutOptions = {}) {
    this.gpaw = options.gpaw ?? 48;
    this.sharedBit = tdxSharedBit(this.gpaw);
  }

  /** vm_userspace_mem_region_add(): a memslot at [gpa, gpa + size); it may not overlap another. */
  addMemslot(slot: number, gpa: number, size: number): MemslotPages {
    if (this.slots.has(slot)) throw new TdLayoutError(`memslot ${slot} already exists`);
    if (gpa + size > this.sharedBit) {
      throw new TdLayoutError(
        `memslot ${slot}: [${hex(gpa)}, ${hex(gpa + size)}) reaches the shared bit ${hex(this.sharedBit)}`,
      );
    }
    for (const other of this.slots.values()) {
      if (gpa < other.end && other.gpa < gpa + size) {
        throw new TdLayoutError(
          `memslot ${slot}: [${hex(gpa)}, ${hex(gpa + size)}) overlaps memslot ${other.slot} [${hex(other.gpa)}, ${hex(other.end)})`,
        );
      }
    }
    const pages = new MemslotPages(slot, gpa, size);
    this.slots.set(slot, pages);
    return pages;
  }

  memslot(slot: number): MemslotPages {
    const found = this.slots.get(slot);
    if (!found) throw new TdLayoutError(`memslot ${slot} does not exist`);
    return found;
  }

  memslots(): MemslotPages[] {
    return [...this.slots.values()].sort((a, b) => a.gpa - b.gpa);
  }

  /** The memslot holding `gpa`, if any. */
  memslotOf(gpa: number): MemslotPages | undefined {
    return [...this.slots.values()].find((s) => s.contains(gpa));
  }

  /** vm_phy_pages_alloc(): `pages` contiguous pages in `slot` at or above `paddrMin`. */
  allocPhysPages(
    pages: number,
    paddrMin: number,
    slot: number,
    isProtected = true,
    what = "vm_phy_pages_alloc",
  ): number {
    return this.memslot(slot).allocate(pages, paddrMin, isProtected, what);
  }

  /** A page for the page-table builder (virt_pgd_alloc / page-table levels): slot 0, at or above 0x180000. */
  allocPageTablePage(): number {
    return this.allocPhysPages(1, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0, true, "page table");
  }

  private mapPage(gva: number, gpa: number, shared: boolean, what: string): void {
    if (gva % PAGE_SIZE !== 0 || gpa % PAGE_SIZE !== 0) {
      throw new TdLayoutError(`${what}: gva ${hex(gva)} and gpa ${hex(gpa)} must be page-aligned`);
    }
    if (gva < 0 || gva + PAGE_SIZE > GVA_LIMIT)
      throw new TdLayoutError(`${what}: gva ${hex(gva)} is not a lower-half canonical address`);
    if (gpa < 0 || gpa >= this.sharedBit) {
      throw new TdLayoutError(
        `${what}: gpa ${hex(gpa)} must be below the shared bit ${hex(this.sharedBit)} (it is added by the mapping)`,
      );
    }
    const vpn = gva / PAGE_SIZE;
    const existing = this.vpages.get(vpn);
    if (existing) {
      throw new TdLayoutError(
        `${what}: gva ${hex(gva)} is already mapped (to gpa ${hex(existing.gpn * PAGE_SIZE)})`,
      );
    }
    this.vpages.set(vpn, { gpn: gpa / PAGE_SIZE, shared });
  }

  /** virt_map(): maps `pages` pages GVA → GPA (private: no shared bit). Each GVA must be unmapped. */
  virtMap(gva: number, gpa: number, pages: number): void {
    this.mapRange(gva, gpa, pages, false, "virt_map");
  }

  /** virt_map_shared(): the same with the shared bit in the leaf PTEs. */
  virtMapShared(gva: number, gpa: number, pages: number): void {
    this.mapRange(gva, gpa, pages, true, "virt_map_shared");
  }

  private mapRange(gva: number, gpa: number, pages: number, shared: boolean, what: string): void {
    // Check the whole range first so a refused call leaves no partial mapping behind.
    for (let i = 0; i < pages; i++) {
      const existing = this.vpages.get(gva / PAGE_SIZE + i);
      if (existing) {
        throw new TdLayoutError(
          `${what}: gva ${hex(gva + i * PAGE_SIZE)} is already mapped (to gpa ${hex(existing.gpn * PAGE_SIZE)})`,
        );
      }
    }
    for (let i = 0; i < pages; i++) this.mapPage(gva + i * PAGE_SIZE, gpa + i * PAGE_SIZE, shared, what);
  }

  /** The GPA a GVA maps to (addr_gva2gpa), without the shared bit; throws when unmapped. */
  gvaToGpa(gva: number): number {
    const entry = this.vpages.get(Math.floor(gva / PAGE_SIZE));
    if (!entry) throw new TdLayoutError(`addr_gva2gpa: gva ${hex(gva)} is not mapped`);
    return entry.gpn * PAGE_SIZE + (gva % PAGE_SIZE);
  }

  isGvaMapped(gva: number): boolean {
    return this.vpages.has(Math.floor(gva / PAGE_SIZE));
  }

  /** Whether the page holding `gva` is mapped with the shared bit (virt_map_shared). */
  isGvaShared(gva: number): boolean {
    return this.vpages.get(Math.floor(gva / PAGE_SIZE))?.shared ?? false;
  }

  /** vm_vaddr_unused_gap(): the lowest GVA ≥ vaddrMin with `pages` unmapped pages. */
  unusedGvaGap(pages: number, vaddrMin: number): number {
    let candidate = Math.ceil(vaddrMin / PAGE_SIZE);
    for (;;) {
      if ((candidate + pages) * PAGE_SIZE > GVA_LIMIT) {
        throw new TdLayoutError(
          `vm_vaddr_unused_gap: no ${pages} unmapped page(s) at or above ${hex(vaddrMin)}`,
        );
      }
      let conflict = -1;
      for (let i = pages - 1; i >= 0; i--) {
        if (this.vpages.has(candidate + i)) {
          conflict = candidate + i;
          break;
        }
      }
      if (conflict < 0) return candidate * PAGE_SIZE;
      candidate = conflict + 1;
    }
  }

  /**
   * ____vm_vaddr_alloc(): ceil(size / 4096) pages backed in `slot` at or above `paddrMin`,
   * mapped at the lowest free GVA ≥ vaddrMin. Protected unless `shared`.
   */
  vaddrAlloc(size: number, vaddrMin: number, options: VaddrAllocOptions = {}): number {
    const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
    const shared = options.shared ?? false;
    const what = shared ? "vm_vaddr_alloc_shared" : "vm_vaddr_alloc";
    // Find the GVA range first: a refused call then claims no physical pages.
    const gva = this.unusedGvaGap(pages, vaddrMin);
    const gpa = this.allocPhysPages(
      pages,
      options.paddrMin ?? KVM_UTIL_MIN_PFN * PAGE_SIZE,
      options.slot ?? 0,
      !shared,
      what,
    );
    this.mapRange(gva, gpa, pages, shared, what);
    return gva;
  }

  /** vm_vaddr_alloc_shared(): unprotected backing, shared-bit mapping. */
  vaddrAllocShared(size: number, vaddrMin = KVM_UTIL_MIN_VADDR): number {
    return this.vaddrAlloc(size, vaddrMin, { shared: true });
  }

  /**
   * vm_vaddr_identity_alloc() (v5: vm_vaddr_alloc_1to1): the allocation must land at
   * GVA = GPA; throws naming both when it does not.
   */
  vaddrIdentityAlloc(size: number, vaddrMin: number, slot: number): number {
    const gva = this.vaddrAlloc(size, vaddrMin, { slot, paddrMin: vaddrMin });
    const gpa = this.gvaToGpa(gva);
    if (gpa !== gva) {
      throw new TdLayoutError(
        `vm_vaddr_identity_alloc: gva ${hex(gva)} maps to gpa ${hex(gpa)}, not one-to-one`,
      );
    }
    return gva;
  }

  /**
   * Claims pages at fixed addresses and maps them one-to-one (an ELF segment at its link
   * address): protected, or with `shared` unprotected and mapped with the shared bit.
   */
  claimIdentity(gpa: number, pages: number, what: string, options: { shared?: boolean } = {}): void {
    const shared = options.shared ?? false;
    const slot = this.memslotOf(gpa);
    if (!slot) throw new TdLayoutError(`${what}: gpa ${hex(gpa)} is not inside any memslot`);
    slot.claim(gpa, pages, !shared, what);
    this.mapRange(gpa, gpa, pages, shared, what);
  }

  /** All mappings as runs of consecutive pages (consecutive GVA and GPA, same shared flag), by GVA. */
  mappings(): GuestMapping[] {
    const vpns = [...this.vpages.keys()].sort((a, b) => a - b);
    const runs: GuestMapping[] = [];
    for (const vpn of vpns) {
      const { gpn, shared } = this.vpages.get(vpn)!;
      const last = runs[runs.length - 1];
      if (
        last &&
        last.shared === shared &&
        last.gva + last.pages * PAGE_SIZE === vpn * PAGE_SIZE &&
        last.gpa + last.pages * PAGE_SIZE === gpn * PAGE_SIZE
      ) {
        runs[runs.length - 1] = { ...last, pages: last.pages + 1 };
      } else {
        runs.push({ gva: vpn * PAGE_SIZE, gpa: gpn * PAGE_SIZE, pages: 1, shared });
      }
    }
    return runs;
  }

  /** The GPA a PTE holds for `gpa`: with the shared bit for a shared mapping. */
  pteGpa(mapping: Pick<GuestMapping, "gpa" | "shared">): number {
    return mapping.shared ? mapping.gpa + this.sharedBit : mapping.gpa;
  }

  /** Protected runs per memslot, in GPA order: the KVM_TDX_INIT_MEM_REGION calls of td_finalize. */
  protectedRuns(): (PageRun & { slot: number })[] {
    return this.memslots().flatMap((s) => s.protectedRuns().map((run) => ({ ...run, slot: s.slot })));
  }
}
