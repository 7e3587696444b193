// One KVM memory slot (struct kvm_memory_slot): a gfn range, its host-visible backing in the
// VMM's user address space, optionally a guest_memfd range for private pages, and the dirty
// bitmap when KVM_MEM_LOG_DIRTY_PAGES is set. Slots are immutable; a change makes a new one
// (like KVM's memslot swap), so a cached slot is never silently edited.
import { PAGE_SIZE } from "./address.js";
import { ErrnoError } from "./errno.js";
import type { GuestMemfd, GuestMemfdBinding } from "./guest-memfd.js";
import type { SparseMemory } from "./sparse-memory.js";

export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;
export const KVM_MEM_GUEST_MEMFD = 1 << 2;

export interface MemslotInit {
  asId: number;
  id: number;
  flags: number;
  baseGfn: number;
  npages: number;
  userspaceAddr: number;
  userMemory: SparseMemory;
  guestMemfd?: GuestMemfd;
  guestMemfdOffset: number;
  dirtyBitmap?: Uint8Array;
}

export class Memslot implements GuestMemfdBinding {
  /** address space (slot >> 16) and id within it ((u16)slot) */
  readonly asId: number;
  readonly id: number;
  readonly flags: number;
  readonly baseGfn: number;
  readonly npages: number;
  /** First GPA and byte size (guest_phys_addr, memory_size). */
  readonly guestPhysAddr: number;
  readonly memorySize: number;
  /** Where the slot's shared/ordinary contents live: [userspaceAddr, +memorySize) of userMemory. */
  readonly userspaceAddr: number;
  readonly userMemory: SparseMemory;
  readonly guestMemfd: GuestMemfd | undefined;
  readonly guestMemfdOffset: number;
  readonly gmemFirstIndex: number;
  /** One bit per page, little-endian bit order in bytes (what KVM_GET_DIRTY_LOG copies out); only with LOG_DIRTY_PAGES. */
  readonly dirtyBitmap: Uint8Array | undefined;
  readonly readonly: boolean;

  constructor(init: MemslotInit) {
    this.asId = init.asId;
    this.id = init.id;
    this.flags = init.flags;
    this.baseGfn = init.baseGfn;
    this.npages = init.npages;
    this.guestPhysAddr = init.baseGfn * PAGE_SIZE;
    this.memorySize = init.npages * PAGE_SIZE;
    this.userspaceAddr = init.userspaceAddr;
    this.userMemory = init.userMemory;
    this.guestMemfd = init.guestMemfd;
    this.guestMemfdOffset = init.guestMemfdOffset;
    this.gmemFirstIndex = init.guestMemfdOffset / PAGE_SIZE;
    this.dirtyBitmap = init.dirtyBitmap;
    this.readonly = (init.flags & KVM_MEM_READONLY) !== 0;
  }

  /** The slot number as userspace passes it: (as_id << 16) | id. */
  get slot(): number {
    return ((this.asId << 16) | this.id) >>> 0;
  }

  get endGpa(): number {
    return this.guestPhysAddr + this.memorySize;
  }

  contains(gpa: number): boolean {
    return gpa >= this.guestPhysAddr && gpa < this.guestPhysAddr + this.memorySize;
  }

  /** The address in userMemory that backs `gpa` (gfn_to_hva plus the page offset). */
  hostAddress(gpa: number): number {
    return this.userspaceAddr + (gpa - this.guestPhysAddr);
  }

  /** Host physical address of the private page backing `gpa` (kvm_gmem_get_pfn); allocates it on first use. */
  privatePfn(gpa: number): number {
    if (this.guestMemfd === undefined) {
      throw new ErrnoError(
        "EFAULT",
        `memslot ${this.slot} has no guest_memfd: gpa 0x${gpa.toString(16)} cannot be private`,
      );
    }
    if (!this.contains(gpa))
      throw new ErrnoError("EFAULT", `gpa 0x${gpa.toString(16)} is outside memslot ${this.slot}`);
    return this.guestMemfd.getPfn(this.gmemFirstIndex + Math.floor(gpa / PAGE_SIZE) - this.baseGfn);
  }

  /** Sets the page's dirty bit when the slot logs dirty pages (mark_page_dirty_in_slot). */
  markDirty(gpa: number): void {
    const bitmap = this.dirtyBitmap;
    if (bitmap === undefined) return;
    const rel = Math.floor(gpa / PAGE_SIZE) - this.baseGfn;
    bitmap[rel >> 3] |= 1 << (rel & 7);
  }
}

/** Bytes of a dirty bitmap for npages: rounded up to whole 64-bit longs, like kvm_dirty_bitmap_bytes. */
export function dirtyBitmapBytes(npages: number): number {
  return Math.ceil(npages / 64) * 8;
}
