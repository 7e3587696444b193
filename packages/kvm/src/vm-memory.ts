// The VM's memory ioctls (virt/kvm/kvm_main.c, guest_memfd.c, arch/x86/kvm/x86.c, 6.16; spec §2):
// KVM_SET_USER_MEMORY_REGION(2) into the VM's MemslotTable, KVM_CREATE_GUEST_MEMFD, KVM_SET_MEMORY_
// ATTRIBUTES and KVM_GET_DIRTY_LOG, each typed and raw. userspace_addr points into the VMM
// process's user memory (the address space ioctl pointers use), so guest RAM written through the
// VMM's buffer is what the guest sees on its shared side.
//
// The zap hook: wherever KVM unmaps guest mappings of a range (a memory-attribute conversion,
// a guest_memfd hole punch or close, deleting/moving a memslot), `onZap` listeners are called
// with the memslot, the canonical GPA range and which mappings go (KVM_FILTER_PRIVATE /
// KVM_FILTER_SHARED / both). For a TD the private zap is the S-EPT BLOCK/TRACK/PAGE.REMOVE
// sequence; that belongs to the TDX integration, which registers a listener here. Nothing is
// unmapped by this file itself: it has no mappings to unmap.
import {
  ErrnoError,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  GPA_LIMIT,
  GuestMemfd,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  MemoryAttributes,
  type Memslot,
  MemslotTable,
  PAGE_SIZE,
  type U64,
} from "@tdxsim/memory";
import { supportedMemoryAttributes } from "./capabilities.js";
import { KvmError } from "./errors.js";
import { GuestMemfdFile } from "./guest-memfd.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { parseCreateGuestMemfd, parseMemoryAttributes } from "./memory-args.js";
import {
  kvmCreateGuestMemfd,
  kvmDirtyLog,
  kvmMemoryAttributes,
  kvmUserspaceMemoryRegion,
  kvmUserspaceMemoryRegion2,
} from "./uapi/structs.js";
import { copyToUser } from "./user-memory.js";
import type { Vm } from "./vm.js";

/** KVM_SET_USER_MEMORY_REGION (v1) accepts only these flags (KVM_SET_USER_MEMORY_REGION_V1_FLAGS). */
export const KVM_SET_USER_MEMORY_REGION_V1_FLAGS = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;

/** Which mappings a zap removes (KVM_FILTER_PRIVATE / KVM_FILTER_SHARED, or both). */
export type ZapFilter = "private" | "shared" | "all";
/** What caused it: a KVM_SET_MEMORY_ATTRIBUTES conversion, a guest_memfd punch or close, a memslot delete/move. */
export type ZapCause = "attributes" | "punchHole" | "gmemRelease" | "memslot";

export interface ZapRange {
  readonly slot: Memslot;
  /** canonical GPAs (no shared bit), page-aligned, [start, end) within the slot */
  readonly startGpa: number;
  readonly endGpa: number;
  readonly filter: ZapFilter;
  readonly cause: ZapCause;
}

export type ZapListener = (range: ZapRange) => void;

/** kvm_userspace_memory_region2 for the typed face; guest_memfd is the file (or its fd). */
export interface UserMemoryRegion {
  /** (address space << 16) | slot id */
  slot: number;
  flags: number;
  guestPhysAddr: U64;
  memorySize: U64;
  userspaceAddr: U64;
  guestMemfdOffset?: U64;
  guestMemfd?: GuestMemfdFile | number;
}

export interface CreateGuestMemfdArgs {
  size: U64;
  flags?: U64;
}

export interface SetMemoryAttributesArgs {
  address: U64;
  size: U64;
  attributes: U64;
  flags?: U64;
}

/** MemslotTable's refusal when the binding has no guest_memfd object (memory-slot-table.ts). */
const NOT_A_GUEST_MEMFD = "EINVAL: guest_memfd is not a guest_memfd file";

export class VmMemory {
  readonly slots: MemslotTable;
  readonly attributes: MemoryAttributes;
  /** kvm->arch.gfn_direct_bits as a bit number: set for a TD by KVM_TDX_INIT_VM from its GPAW. */
  sharedGpaBit: number | undefined;
  private readonly zapListeners: ZapListener[] = [];
  private releasing: GuestMemfdFile | undefined;

  constructor(private readonly vm: Vm) {
    const protectedVm = vm.isTd;
    this.slots = new MemslotTable({
      vm,
      userMemory: vm.process.userMemory,
      // kvm_arch_nr_memslot_as_ids (6.16): no SMM address space for VMs with private memory.
      addressSpaces: protectedVm ? 1 : 2,
      privateMem: protectedVm,
      readonlyMem: !protectedVm,
    });
    this.attributes = new MemoryAttributes(supportedMemoryAttributes(vm));
  }

  /** Registers a listener for every range whose guest mappings KVM would zap (see the file comment). */
  onZap(listener: ZapListener): void {
    this.zapListeners.push(listener);
  }

  /**
   * KVM_TDX_INIT_VM's `kvm->arch.gfn_direct_bits`: from now on a new or moved memslot may not
   * reach into the shared alias (kvm_arch_prepare_memory_region → kvm_is_gfn_alias). Slots made
   * before INIT_VM are not re-checked, as in KVM.
   */
  setSharedGpaBit(bit: number): void {
    if (!this.vm.isTd) throw new RangeError("only a TD has a shared GPA bit");
    if (bit !== 47 && bit !== 51) throw new RangeError(`shared GPA bit ${bit} is not 47 or 51`);
    if (this.sharedGpaBit !== undefined && this.sharedGpaBit !== bit) {
      throw new RangeError(`the shared GPA bit is already ${this.sharedGpaBit}`);
    }
    this.sharedGpaBit = bit;
  }

  // ---- memslots ----

  /** KVM_SET_USER_MEMORY_REGION2 (typed): create, move, change flags of, or (size 0) delete a slot. */
  setUserMemoryRegion(region: UserMemoryRegion): void {
    const gmemFlag = (region.flags & KVM_MEM_GUEST_MEMFD) !== 0;
    const lookup = gmemFlag ? this.lookupGuestMemfd(region.guestMemfd) : { file: undefined };
    const old = Number.isInteger(region.slot) ? this.slots.get(region.slot) : undefined;
    this.checkSharedAlias(region);
    try {
      this.slots.setUserMemoryRegion({
        slot: region.slot,
        flags: region.flags,
        guestPhysAddr: region.guestPhysAddr,
        memorySize: region.memorySize,
        userspaceAddr: region.userspaceAddr,
        guestMemfdOffset: region.guestMemfdOffset,
        guestMemfd: lookup.file,
      });
    } catch (e) {
      // kvm_gmem_bind's fget fails with EBADF at the point where the table refuses "no guest_memfd".
      if (lookup.badFd !== undefined && e instanceof ErrnoError && e.message === NOT_A_GUEST_MEMFD) {
        throw new KvmError("EBADF", lookup.badFd, { field: "kvm_userspace_memory_region2.guest_memfd" });
      }
      throw e;
    }
    const next = this.slots.get(region.slot);
    // Deleting or moving a slot zaps all its mappings (kvm_arch_flush_shadow_memslot).
    if (old !== undefined && (next === undefined || next.baseGfn !== old.baseGfn)) {
      this.zap({
        slot: old,
        startGpa: old.guestPhysAddr,
        endGpa: old.endGpa,
        filter: "all",
        cause: "memslot",
      });
    }
  }

  /** KVM_SET_USER_MEMORY_REGION (v1, 32 bytes) or ..._REGION2 (160 bytes) from user memory. */
  setUserMemoryRegionRaw(arg: IoctlArg, v2: boolean): number {
    if (!v2) {
      const r = kvmUserspaceMemoryRegion.decode(
        arg.read(kvmUserspaceMemoryRegion.size, "kvm_userspace_memory_region"),
      );
      if ((r.flags & ~KVM_SET_USER_MEMORY_REGION_V1_FLAGS) !== 0) {
        throw new KvmError(
          "EINVAL",
          `kvm_userspace_memory_region.flags 0x${r.flags.toString(16)} has bits outside LOG_DIRTY_PAGES|READONLY (use KVM_SET_USER_MEMORY_REGION2)`,
          { field: "kvm_userspace_memory_region.flags" },
        );
      }
      this.setUserMemoryRegion({
        slot: r.slot,
        flags: r.flags,
        guestPhysAddr: r.guest_phys_addr,
        memorySize: r.memory_size,
        userspaceAddr: r.userspace_addr,
      });
      return 0;
    }
    const r = kvmUserspaceMemoryRegion2.decode(
      arg.read(kvmUserspaceMemoryRegion2.size, "kvm_userspace_memory_region2"),
    );
    this.setUserMemoryRegion({
      slot: r.slot,
      flags: r.flags,
      guestPhysAddr: r.guest_phys_addr,
      memorySize: r.memory_size,
      userspaceAddr: r.userspace_addr,
      guestMemfdOffset: r.guest_memfd_offset,
      guestMemfd: r.guest_memfd,
    });
    return 0;
  }

  /**
   * kvm_gmem_bind's fget(guest_memfd). The memslot table checks the binding after its other
   * checks; it gets the GuestMemfd, or nothing when the fd is another kind of file (→ its EINVAL)
   * or not open (→ EBADF, raised where the table refuses, so the kernel's order is kept). fds
   * 0–2 are the process's stdio: open, but not guest_memfd.
   */
  private lookupGuestMemfd(ref: GuestMemfdFile | number | undefined): {
    file: GuestMemfd | undefined;
    badFd?: string;
  } {
    if (ref instanceof GuestMemfdFile) {
      return ref.released
        ? { file: undefined, badFd: "the guest_memfd file was closed" }
        : { file: ref.gmem };
    }
    const fd = ref ?? 0;
    if (fd >= 0 && fd <= 2) return { file: undefined };
    const f = this.vm.process.file(fd);
    if (f === undefined) return { file: undefined, badFd: `guest_memfd ${fd} is not an open fd` };
    return { file: f instanceof GuestMemfdFile ? f.gmem : undefined };
  }

  /**
   * The shared-alias rule of a TD after INIT_VM (kvm_is_gfn_alias on the slot's last gfn, for a
   * new or moved slot). MemslotTable takes its shared bit at construction only, so the rule is
   * applied here; when another slot overlaps, the table's EEXIST comes first, as in KVM.
   */
  private checkSharedAlias(region: UserMemoryRegion): void {
    const bit = this.sharedGpaBit;
    if (bit === undefined) return;
    let gpa: bigint;
    let size: bigint;
    try {
      gpa = BigInt(region.guestPhysAddr);
      size = BigInt(region.memorySize);
    } catch {
      return; // the table names the bad field
    }
    if (size <= 0n || gpa < 0n || size % 4096n !== 0n || gpa % 4096n !== 0n || gpa + size > 1n << 52n) return;
    const start = Number(gpa);
    const end = Number(gpa + size);
    const old = Number.isInteger(region.slot) ? this.slots.get(region.slot) : undefined;
    if (old !== undefined && old.guestPhysAddr === start) return;
    const asId = region.slot >>> 16;
    const overlaps = this.slots
      .slots(asId)
      .some((s) => s !== old && start < s.endGpa && s.guestPhysAddr < end);
    if (overlaps) return;
    const lastGfn = end / PAGE_SIZE - 1;
    if (Math.floor(lastGfn / 2 ** (bit - 12)) % 2 === 1) {
      throw new KvmError(
        "EINVAL",
        `slot ${region.slot} [0x${start.toString(16)}, 0x${end.toString(16)}) reaches the TD's shared-bit alias (bit ${bit})`,
        { field: "kvm_userspace_memory_region2.guest_phys_addr" },
      );
    }
  }

  // ---- guest_memfd ----

  /**
   * KVM_CREATE_GUEST_MEMFD: flags must be 0 in 6.16 and size a positive multiple of 4096
   * (EINVAL); pages come from the host's physical memory on first use. 6.16 lets any VM create
   * one; only VMs with private memory can bind it to a memslot (KVM_MEM_GUEST_MEMFD → EINVAL).
   */
  createGuestMemfd(args: CreateGuestMemfdArgs): GuestMemfdFile {
    const bytes = kvmCreateGuestMemfd.encode({
      size: u64(args.size, "kvm_create_guest_memfd.size"),
      flags: u64(args.flags ?? 0, "kvm_create_guest_memfd.flags"),
      reserved: [0n, 0n, 0n, 0n, 0n, 0n],
    });
    return this.createGuestMemfdFrom(bytes);
  }

  createGuestMemfdRaw(arg: IoctlArg): number {
    return this.createGuestMemfdFrom(arg.read(kvmCreateGuestMemfd.size, "kvm_create_guest_memfd")).fd;
  }

  private createGuestMemfdFrom(bytes: Uint8Array): GuestMemfdFile {
    const { size, flags } = parseCreateGuestMemfd(bytes);
    const gmem = GuestMemfd.create(this.vm.host.physicalMemory, this.vm, { size, flags });
    const file = new GuestMemfdFile(this.vm, gmem);
    gmem.onInvalidate((binding, startGpa, endGpa) => {
      this.zap({
        slot: binding as Memslot,
        startGpa,
        endGpa,
        filter: "private",
        cause: this.releasing === file ? "gmemRelease" : "punchHole",
      });
    });
    file.fd = this.vm.process.installFd(file);
    return file;
  }

  /**
   * kvm_gmem_release (the last fd closed): zap the private mappings of every binding, free the
   * pages, and leave the memslots without private backing. If a page cannot be freed because a
   * TD KeyID still owns it (the zap did not reclaim it), KVM would hit a KVM_BUG_ON: the VM is
   * marked dead and the page stays allocated (leaked, as KVM leaks pages it cannot reclaim).
   */
  releaseGuestMemfd(file: GuestMemfdFile): void {
    const gmem = file.gmem;
    this.releasing = file;
    try {
      gmem.fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, gmem.size);
    } catch (e) {
      if (!(e instanceof ErrnoError && e.code === "EBUSY")) throw e;
      if (this.vm.isTd) this.vm.td.bugged();
    } finally {
      this.releasing = undefined;
    }
    for (let as = 0; as < this.slots.addressSpaces; as++) {
      for (const slot of this.slots.slots(as)) if (slot.guestMemfd === gmem) gmem.unbind(slot);
    }
  }

  /**
   * The private page backing canonical `gpa` (kvm_gmem_get_pfn, for the fault path): EFAULT when no
   * memslot covers it, the slot has no guest_memfd, or that guest_memfd was closed.
   */
  privatePfn(gpa: number): number {
    const slot = this.slots.find(gpa);
    if (slot === undefined) throw new KvmError("EFAULT", `gpa 0x${gpa.toString(16)} is in no memslot`);
    const gmem = slot.guestMemfd;
    if (gmem !== undefined && gmem.bindingOf(slot.gmemFirstIndex) !== slot) {
      throw new KvmError(
        "EFAULT",
        `gpa 0x${gpa.toString(16)}: memslot ${slot.slot}'s guest_memfd was closed`,
      );
    }
    return slot.privatePfn(gpa);
  }

  // ---- attributes ----

  /**
   * KVM_SET_MEMORY_ATTRIBUTES: argument checks (EINVAL: flags, unsupported bits, size 0 or
   * wrapping, unaligned), then — unless the range already has these attributes — the zap of the
   * mappings the conversion invalidates (shared ones when becoming private, private ones when
   * becoming shared; kvm_arch_pre_set_memory_attributes), then the new attributes.
   */
  setMemoryAttributes(args: SetMemoryAttributesArgs): void {
    const bytes = kvmMemoryAttributes.encode({
      address: u64(args.address, "kvm_memory_attributes.address"),
      size: u64(args.size, "kvm_memory_attributes.size"),
      attributes: u64(args.attributes, "kvm_memory_attributes.attributes"),
      flags: u64(args.flags ?? 0, "kvm_memory_attributes.flags"),
    });
    this.setMemoryAttributesFrom(bytes);
  }

  setMemoryAttributesRaw(arg: IoctlArg): number {
    this.setMemoryAttributesFrom(arg.read(kvmMemoryAttributes.size, "kvm_memory_attributes"));
    return 0;
  }

  private setMemoryAttributesFrom(bytes: Uint8Array): void {
    const a = parseMemoryAttributes(bytes, BigInt(this.attributes.supported));
    const attributes = Number(a.attributes);
    // Memslots live below 2^52: only that part of the range can have mappings.
    if (a.address < BigInt(GPA_LIMIT)) {
      const start = Number(a.address);
      const end = a.address + a.size < BigInt(GPA_LIMIT) ? Number(a.address + a.size) : GPA_LIMIT;
      const filter: ZapFilter = attributes !== 0 ? "shared" : "private";
      for (let as = 0; as < this.slots.addressSpaces; as++) {
        for (const slot of this.slots.slots(as)) {
          const lo = Math.max(start, slot.guestPhysAddr);
          const hi = Math.min(end, slot.endGpa);
          if (lo >= hi || this.attributes.rangeHas(lo, hi - lo, ~0, attributes)) continue;
          this.zap({ slot, startGpa: lo, endGpa: hi, filter, cause: "attributes" });
        }
      }
    }
    this.attributes.set({ address: a.address, size: a.size, attributes: a.attributes });
  }

  // ---- dirty log ----

  /**
   * KVM_GET_DIRTY_LOG: the slot's dirty bitmap (one bit per page, bytes rounded up to u64s),
   * cleared as it is read. EINVAL for an address space or id out of range, ENOENT for a missing
   * slot or one without KVM_MEM_LOG_DIRTY_PAGES.
   */
  getDirtyLog(slot: number): Uint8Array {
    return this.slots.getDirtyLog(slot);
  }

  getDirtyLogRaw(arg: IoctlArg): number {
    const log = kvmDirtyLog.decode(arg.read(kvmDirtyLog.size, "kvm_dirty_log"));
    const bitmap = this.getDirtyLog(log.slot);
    // kvm_dirty_bitmap_bytes(slot) bytes; a faulting copy loses the already-cleared bits, as in
    // KVM without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2.
    copyToUser(this.vm.process.userMemory, log.dirty_bitmap, bitmap, "kvm_dirty_log.dirty_bitmap");
    return 0;
  }

  private zap(range: ZapRange): void {
    for (const listener of this.zapListeners) listener(range);
  }
}

/** A typed-face u64 argument as the bigint a struct field holds; EINVAL naming the field otherwise. */
function u64(value: U64, field: string): bigint {
  const ok =
    typeof value === "bigint" ? value >= 0n && value < 1n << 64n : Number.isSafeInteger(value) && value >= 0;
  if (!ok) throw new KvmError("EINVAL", `${field} ${value} is not a u64`, { field });
  return BigInt(value);
}
