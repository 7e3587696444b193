// KVM's shared EPT of a TD (the direct, non-mirror root of tdp_mmu, 6.16): shared GPAs (shared bit set)
// map to the memslot's userspace memory. Nothing is mapped up front; the first touch of a page is an
// EPT violation (TD exit) that KVM resolves by mapping the memslot page (faultIn), after which the
// guest reads and writes the host's bytes in place. Conversions to private, slot deletes/moves,
// KVM_GET_DIRTY_LOG and the VMM discarding the page drop mappings (zap), so the next touch faults again.
import type { Memslot, SparseMemory } from "@tdxsim/memory";
import { SHARED_EPT_VE, SHARED_EPT_VIOLATION } from "@tdxsim/tdx-module";
import type { VmMemory } from "./vm-memory.js";

const PAGE = 4096;

/** One shared-EPT leaf: the user page and where it lives (to notice the VMM dropping it). */
interface SharedLeaf {
  readonly bytes: Uint8Array;
  readonly memory: SparseMemory;
  readonly pfn: number;
}

export class TdSharedEpt {
  /** Canonical page GPA (no shared bit) → the memslot's userspace page. */
  private readonly pages = new Map<number, SharedLeaf>();
  /** MemslotTable.generation when the mappings were made (bumped by every slot change and KVM_GET_DIRTY_LOG). */
  private generation = -1;

  constructor(
    private readonly memory: VmMemory,
    private readonly sharedBitValue: () => number,
  ) {}

  /** How many shared pages are mapped now. */
  get mappedCount(): number {
    this.checkGeneration();
    return this.pages.size;
  }

  /**
   * The module's shared-EPT callback (a CPU TLB fill). A mapped page → the host page; unmapped: a
   * shared gfn in no memslot is emulated MMIO, which KVM maps so the guest gets #VE (it then issues
   * TDVMCALL<#VE.RequestMMIO>); anything else is an EPT violation that KVM handles (faultIn or a
   * memory-fault exit). KVM's first fault checks the attribute before it installs the MMIO entry,
   * so a private gfn outside every memslot exits too.
   */
  lookup(gpa: number): number | Uint8Array {
    this.checkGeneration();
    const canonical = gpa - this.sharedBitValue();
    const page = canonical - (canonical % PAGE);
    const hit = this.pages.get(page);
    if (hit !== undefined) {
      // the VMM may have dropped the page (madvise/discard): like KVM's mmu notifier, unmap it
      if (hit.memory.peekPage(hit.pfn) === hit.bytes) return hit.bytes;
      this.pages.delete(page);
    }
    const memory = this.memory;
    if (memory.attributes.isPrivate(page)) return SHARED_EPT_VIOLATION;
    return memory.slots.find(page) === undefined ? SHARED_EPT_VE : SHARED_EPT_VIOLATION;
  }

  /**
   * The EPT-violation path for a shared access to a shared gfn (`page` canonical, page aligned):
   * map the memslot's userspace page. Returns the slot, or undefined when no memslot covers it.
   * A slot logging dirty pages gets the page marked dirty now (the mapping is writable; the next
   * KVM_GET_DIRTY_LOG drops it, so a later write faults and marks it again).
   */
  faultIn(page: number): Memslot | undefined {
    this.checkGeneration();
    const slot = this.memory.slots.find(page);
    if (slot === undefined) return undefined;
    const pfn = slot.hostAddress(page) / PAGE;
    this.pages.set(page, { bytes: slot.userMemory.page(pfn), memory: slot.userMemory, pfn });
    if (slot.dirtyBitmap !== undefined) slot.markDirty(page);
    return slot;
  }

  /** Drops the mappings of canonical [start, end) (kvm_unmap_gfn_range on the shared root). */
  zap(start: number, end: number): number {
    let n = 0;
    if ((end - start) / PAGE < this.pages.size) {
      for (let g = start - (start % PAGE); g < end; g += PAGE) if (this.pages.delete(g)) n++;
    } else {
      for (const g of this.pages.keys()) {
        if (g >= start && g < end) {
          this.pages.delete(g);
          n++;
        }
      }
    }
    return n;
  }

  private checkGeneration(): void {
    const generation = this.memory.slots.generation;
    if (generation !== this.generation) {
      this.pages.clear();
      this.generation = generation;
    }
  }
}
