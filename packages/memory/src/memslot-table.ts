// The VM's memslots (KVM_SET_USER_MEMORY_REGION2) with the kernel's validation order and errnos,
// the dirty log (KVM_GET_DIRTY_LOG) and a fast GPA → slot lookup for the CPU's TLB fill.
import { PAGE_SHIFT, PAGE_SIZE } from "./address.js";
import { ErrnoError } from "./errno.js";
import { GuestMemfd } from "./guest-memfd.js";
import {
  dirtyBitmapBytes,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  Memslot,
} from "./memslot.js";
import { SparseMemory } from "./sparse-memory.js";
import { hex, toU64, type U64 } from "./u64.js";

/** SHRT_MAX slots per address space; x86 keeps 3 for itself (KVM_PRIVATE_MEM_SLOTS). */
export const KVM_MEM_SLOTS_NUM = 32767;
export const KVM_USER_MEM_SLOTS = 32764;
/** Largest slot in pages ((1 << 31) - 1). */
export const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
/** TASK_SIZE_MAX on x86-64 with 4-level user paging: where access_ok() stops. */
export const TASK_SIZE_MAX = 2 ** 47 - PAGE_SIZE;

/** struct kvm_userspace_memory_region2, with the guest_memfd fd replaced by the object. */
export interface UserspaceMemoryRegion2 {
  /** (address space << 16) | slot id */
  slot: number;
  flags: number;
  guestPhysAddr: U64;
  memorySize: U64;
  userspaceAddr: U64;
  guestMemfdOffset?: U64;
  guestMemfd?: GuestMemfd;
  /** The user memory userspace_addr points into; default the table's (one per VMM process). */
  userMemory?: SparseMemory;
}

export interface MemslotTableOptions {
  /** The VMM's user address space that userspace_addr points into (default: a sparse TASK_SIZE_MAX space). */
  userMemory?: SparseMemory;
  /** Address spaces (kvm_arch_nr_memslot_as_ids): 2 on x86 with SMM, 1 for TDX. Default 1. */
  addressSpaces?: number;
  /** kvm_arch_has_private_mem: KVM_MEM_GUEST_MEMFD allowed (TDX, SW_PROTECTED VMs). Default false. */
  privateMem?: boolean;
  /** kvm_arch_has_readonly_mem: KVM_MEM_READONLY allowed (not for TDX). Default true. */
  readonlyMem?: boolean;
  /** GPA width the MMU can map (kvm_mmu_max_gfn); default 52. */
  maxGpaBits?: number;
  /** TDX shared bit (47 or 51): a slot may not reach into the shared alias (kvm_is_gfn_alias). */
  sharedGpaBit?: number;
  /** The VM this table belongs to; a guest_memfd of another VM cannot be bound. */
  vm?: object;
}

class AddressSpace {
  slots: (Memslot | undefined)[] = [];
  // Slots sorted by base, as parallel arrays for the lookup.
  starts = new Float64Array(0);
  ends = new Float64Array(0);
  sorted: Memslot[] = [];
  last: Memslot | undefined;

  rebuild(): void {
    this.sorted = this.slots
      .filter((s): s is Memslot => s !== undefined)
      .sort((a, b) => a.baseGfn - b.baseGfn);
    this.starts = Float64Array.from(this.sorted, (s) => s.guestPhysAddr);
    this.ends = Float64Array.from(this.sorted, (s) => s.endGpa);
    this.last = undefined;
  }
}

export class MemslotTable {
  readonly userMemory: SparseMemory;
  readonly addressSpaces: number;
  readonly vm: object;
  /** Bumped on every change, so a cached translation can tell it is stale (kvm_memslots generation). */
  generation = 0;
  private readonly spaces: AddressSpace[];
  private readonly validFlags: number;
  private readonly readonlyMem: boolean;
  private readonly maxGfn: number;
  private readonly aliasGfnBit: number;
  private nrMemslotPages = 0;

  constructor(options: MemslotTableOptions = {}) {
    this.userMemory = options.userMemory ?? new SparseMemory(TASK_SIZE_MAX);
    this.addressSpaces = options.addressSpaces ?? 1;
    this.vm = options.vm ?? {};
    this.spaces = Array.from({ length: this.addressSpaces }, () => new AddressSpace());
    this.validFlags = KVM_MEM_LOG_DIRTY_PAGES | (options.privateMem ? KVM_MEM_GUEST_MEMFD : 0);
    this.readonlyMem = options.readonlyMem ?? true;
    const bits = options.maxGpaBits ?? 52;
    if (!Number.isInteger(bits) || bits < 32 || bits > 52)
      throw new RangeError(`maxGpaBits ${bits} is not in 32..52`);
    this.maxGfn = 2 ** (bits - PAGE_SHIFT) - 1;
    const shared = options.sharedGpaBit;
    if (shared !== undefined && (!Number.isInteger(shared) || shared < PAGE_SHIFT || shared > 51)) {
      throw new RangeError(`sharedGpaBit ${shared} is not in 12..51`);
    }
    this.aliasGfnBit = shared === undefined ? 0 : 2 ** (shared - PAGE_SHIFT);
  }

  /** KVM_SET_USER_MEMORY_REGION2: create, move, change flags of, or (memory_size 0) delete a slot. */
  setUserMemoryRegion(region: UserspaceMemoryRegion2): void {
    const { slot, flags } = region;
    if (!Number.isInteger(slot) || slot < 0 || slot > 0xffffffff)
      throw new ErrnoError("EINVAL", `slot ${slot} is not a u32`);
    const id = slot & 0xffff;
    const asId = slot >>> 16;
    if (id >= KVM_USER_MEM_SLOTS)
      throw new ErrnoError("EINVAL", `slot id ${id} is not below KVM_USER_MEM_SLOTS (${KVM_USER_MEM_SLOTS})`);
    this.checkFlags(flags);
    const size = toU64(region.memorySize, "memory_size");
    const gpa = toU64(region.guestPhysAddr, "guest_phys_addr");
    const uaddr = toU64(region.userspaceAddr, "userspace_addr");
    const userMemory = region.userMemory ?? this.userMemory;
    const gmem = (flags & KVM_MEM_GUEST_MEMFD) !== 0;
    const gmemOffset = gmem ? toU64(region.guestMemfdOffset ?? 0, "guest_memfd_offset") : 0n;
    const page = BigInt(PAGE_SIZE);
    if (size % page !== 0n) throw new ErrnoError("EINVAL", `memory_size ${hex(size)} is not page aligned`);
    if (gpa % page !== 0n) throw new ErrnoError("EINVAL", `guest_phys_addr ${hex(gpa)} is not page aligned`);
    if (uaddr % page !== 0n)
      throw new ErrnoError("EINVAL", `userspace_addr ${hex(uaddr)} is not page aligned`);
    if (uaddr + size > BigInt(userMemory.size)) {
      throw new ErrnoError(
        "EINVAL",
        `userspace_addr ${hex(uaddr)} + memory_size ${hex(size)} is outside user memory`,
      );
    }
    if (gmem && gmemOffset % page !== 0n) {
      throw new ErrnoError("EINVAL", `guest_memfd_offset ${hex(gmemOffset)} is not page aligned`);
    }
    if (gmem && gmemOffset + size >= 1n << 64n) {
      throw new ErrnoError("EINVAL", `guest_memfd_offset ${hex(gmemOffset)} + memory_size wraps`);
    }
    if (asId >= this.addressSpaces) {
      throw new ErrnoError(
        "EINVAL",
        `address space ${asId} (slot ${hex(slot)}) is not below ${this.addressSpaces}`,
      );
    }
    if (gpa + size >= 1n << 64n)
      throw new ErrnoError("EINVAL", `guest_phys_addr ${hex(gpa)} + memory_size wraps`);
    if (size >> BigInt(PAGE_SHIFT) > BigInt(KVM_MEM_MAX_NR_PAGES)) {
      throw new ErrnoError("EINVAL", `memory_size ${hex(size)} is more than KVM_MEM_MAX_NR_PAGES pages`);
    }

    const space = this.spaces[asId];
    const old = space.slots[id];
    const npages = Number(size) / PAGE_SIZE;
    if (npages === 0) {
      if (old === undefined) throw new ErrnoError("EINVAL", `slot ${slot} does not exist, nothing to delete`);
      this.install(space, id, old, undefined);
      return;
    }
    const baseGfn = Number(gpa >> BigInt(PAGE_SHIFT));
    const userspaceAddr = Number(uaddr);
    let move = true;
    if (old !== undefined) {
      // Private memslots are immutable: they can only be deleted.
      if (gmem)
        throw new ErrnoError("EINVAL", `slot ${slot}: a guest_memfd slot cannot be modified, only deleted`);
      // UNCONFIRMED: 6.16 only looks at the new flags here; dropping GUEST_MEMFD from a guest_memfd
      // slot would leave its binding dangling, so it is refused as well.
      if (old.guestMemfd !== undefined) {
        throw new ErrnoError(
          "EINVAL",
          `slot ${slot} is a guest_memfd slot: it cannot be modified, only deleted`,
        );
      }
      if (userspaceAddr !== old.userspaceAddr || userMemory !== old.userMemory) {
        throw new ErrnoError(
          "EINVAL",
          `slot ${slot}: userspace_addr cannot change (${hex(old.userspaceAddr)})`,
        );
      }
      if (npages !== old.npages)
        throw new ErrnoError("EINVAL", `slot ${slot}: memory_size cannot change (${hex(old.memorySize)})`);
      if (((flags ^ old.flags) & KVM_MEM_READONLY) !== 0) {
        throw new ErrnoError(
          "EINVAL",
          `slot ${slot}: KVM_MEM_READONLY cannot be toggled on an existing slot`,
        );
      }
      move = baseGfn !== old.baseGfn;
      if (!move && flags === old.flags) return;
    } else if (this.nrMemslotPages + npages > Number.MAX_SAFE_INTEGER) {
      throw new ErrnoError("EINVAL", "total memslot pages overflow");
    }
    if (move) {
      const other = this.overlapping(space, id, baseGfn, baseGfn + npages);
      if (other !== undefined) {
        throw new ErrnoError(
          "EEXIST",
          `slot ${slot} [${hex(gpa)}, ${hex(gpa + size)}) overlaps slot ${other.slot} [${hex(other.guestPhysAddr)}, ${hex(other.endGpa)})`,
        );
      }
    }
    let guestMemfd: GuestMemfd | undefined;
    if (gmem) guestMemfd = this.checkGuestMemfd(region.guestMemfd, gmemOffset, size);
    if (move) {
      const lastGfn = baseGfn + npages - 1;
      if (lastGfn > this.maxGfn) {
        throw new ErrnoError(
          "EINVAL",
          `slot ${slot} ends at gfn ${hex(lastGfn)}, beyond the MMU's max gfn ${hex(this.maxGfn)}`,
        );
      }
      if (this.aliasGfnBit !== 0 && Math.floor(lastGfn / this.aliasGfnBit) % 2 === 1) {
        throw new ErrnoError(
          "EINVAL",
          `slot ${slot} reaches into the shared-bit alias (gfn ${hex(lastGfn)})`,
        );
      }
    }
    const logDirty = (flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
    const slotObject = new Memslot({
      asId,
      id,
      flags,
      baseGfn,
      npages,
      userspaceAddr,
      userMemory,
      guestMemfd,
      guestMemfdOffset: Number(gmemOffset),
      dirtyBitmap: logDirty ? (old?.dirtyBitmap ?? new Uint8Array(dirtyBitmapBytes(npages))) : undefined,
    });
    guestMemfd?.bind(slotObject);
    this.install(space, id, old, slotObject);
  }

  /** The slot with this number ((as_id << 16) | id), if it exists. */
  get(slot: number): Memslot | undefined {
    const space = this.spaces[slot >>> 16];
    return space?.slots[slot & 0xffff];
  }

  /** All slots of an address space, sorted by guest_phys_addr. */
  slots(asId = 0): readonly Memslot[] {
    return this.spaces[asId]?.sorted ?? [];
  }

  /** The slot containing `gpa` (a canonical GPA: no shared bit), or undefined. Hot path: cache + binary search. */
  find(gpa: number, asId = 0): Memslot | undefined {
    const space = this.spaces[asId];
    if (space === undefined) return undefined;
    const last = space.last;
    if (last !== undefined && gpa >= last.guestPhysAddr && gpa < last.guestPhysAddr + last.memorySize)
      return last;
    const starts = space.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= gpa) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0 || gpa >= space.ends[hi]) return undefined;
    const slot = space.sorted[hi];
    space.last = slot;
    return slot;
  }

  /** KVM_GET_DIRTY_LOG: a copy of the slot's dirty bitmap, which is cleared (and `generation` bumped). */
  getDirtyLog(slot: number): Uint8Array {
    if (!Number.isInteger(slot) || slot < 0 || slot > 0xffffffff)
      throw new ErrnoError("EINVAL", `slot ${slot} is not a u32`);
    const asId = slot >>> 16;
    const id = slot & 0xffff;
    if (asId >= this.addressSpaces || id >= KVM_USER_MEM_SLOTS) {
      throw new ErrnoError("EINVAL", `slot ${hex(slot)} is not a valid user slot`);
    }
    const s = this.spaces[asId].slots[id];
    if (s === undefined) throw new ErrnoError("ENOENT", `slot ${slot} does not exist`);
    if (s.dirtyBitmap === undefined) throw new ErrnoError("ENOENT", `slot ${slot} does not log dirty pages`);
    const copy = s.dirtyBitmap.slice();
    s.dirtyBitmap.fill(0);
    // KVM write-protects the slot again here; our equivalent: cached translations go stale,
    // so the CPU refills them and marks pages dirty on the next write.
    this.generation++;
    return copy;
  }

  /** kvm_read_guest: bytes through the slots' user memory; EFAULT where no slot maps the GPA. */
  readGuest(gpa: number, length: number, asId = 0): Uint8Array {
    const out = new Uint8Array(length);
    this.forEachChunk(gpa, length, asId, false, (slot, chunkGpa, pos, n) => {
      out.set(slot.userMemory.readBytes(slot.hostAddress(chunkGpa), n), pos);
    });
    return out;
  }

  /** kvm_write_guest: writes through the slots' user memory and marks the pages dirty; EFAULT on a gap or a read-only slot. */
  writeGuest(gpa: number, data: Uint8Array, asId = 0): void {
    this.forEachChunk(gpa, data.length, asId, true, () => {});
    this.forEachChunk(gpa, data.length, asId, true, (slot, chunkGpa, pos, n) => {
      slot.userMemory.writeBytes(slot.hostAddress(chunkGpa), data.subarray(pos, pos + n));
      slot.markDirty(chunkGpa);
    });
  }

  private forEachChunk(
    gpa: number,
    length: number,
    asId: number,
    write: boolean,
    visit: (slot: Memslot, gpa: number, pos: number, n: number) => void,
  ): void {
    if (!Number.isSafeInteger(gpa) || gpa < 0) throw new ErrnoError("EFAULT", `gpa ${gpa} is not an address`);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new ErrnoError("EINVAL", `length ${length} is not a size`);
    if (asId >= this.addressSpaces) throw new ErrnoError("EINVAL", `address space ${asId} does not exist`);
    let pos = 0;
    while (pos < length) {
      const a = gpa + pos;
      const n = Math.min(PAGE_SIZE - (a % PAGE_SIZE), length - pos);
      const slot = this.find(a, asId);
      if (slot === undefined) throw new ErrnoError("EFAULT", `gpa ${hex(a)} is not in any memslot`);
      if (write && slot.readonly)
        throw new ErrnoError("EFAULT", `gpa ${hex(a)} is in read-only slot ${slot.slot}`);
      visit(slot, a, pos, n);
      pos += n;
    }
  }

  private checkFlags(flags: number): void {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff)
      throw new ErrnoError("EINVAL", `flags ${flags} is not a u32`);
    let valid = this.validFlags;
    // Dirty logging of private memory is not supported, and read-only slots have MMIO
    // semantics that private memory cannot have.
    if (flags & KVM_MEM_GUEST_MEMFD) valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
    if (this.readonlyMem && !(flags & KVM_MEM_GUEST_MEMFD)) valid |= KVM_MEM_READONLY;
    if ((flags & ~valid) !== 0) {
      throw new ErrnoError(
        "EINVAL",
        `flags ${hex(flags)} has bits outside the valid ${hex(valid)} for this VM`,
      );
    }
  }

  private checkGuestMemfd(file: GuestMemfd | undefined, offset: bigint, size: bigint): GuestMemfd {
    if (!(file instanceof GuestMemfd))
      throw new ErrnoError("EINVAL", "guest_memfd is not a guest_memfd file");
    if (file.owner !== this.vm) throw new ErrnoError("EINVAL", "guest_memfd belongs to another VM");
    if (offset + size > BigInt(file.size)) {
      throw new ErrnoError(
        "EINVAL",
        `guest_memfd_offset ${hex(offset)} + memory_size ${hex(size)} is past the guest_memfd size ${hex(file.size)}`,
      );
    }
    return file;
  }

  private overlapping(space: AddressSpace, id: number, start: number, end: number): Memslot | undefined {
    return space.sorted.find((s) => s.id !== id && start < s.baseGfn + s.npages && s.baseGfn < end);
  }

  private install(
    space: AddressSpace,
    id: number,
    old: Memslot | undefined,
    next: Memslot | undefined,
  ): void {
    if (old?.guestMemfd !== undefined) old.guestMemfd.unbind(old);
    space.slots[id] = next;
    this.nrMemslotPages += (next?.npages ?? 0) - (old?.npages ?? 0);
    space.rebuild();
    this.generation++;
  }
}
