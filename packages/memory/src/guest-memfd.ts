// guest_memfd (KVM_CREATE_GUEST_MEMFD): a RAM file of fixed size holding a VM's private memory.
// Pages come from host physical memory on first use (what kvm_gmem_get_pfn does with the page
// cache); the host can never read or write them through this object — their contents live
// under the TD's private KeyID in HostPhysicalMemory, reachable only through the capability
// the TDX module holds.
import { PAGE_SIZE } from "./address.js";
import { ErrnoError } from "./errno.js";
import type { HostPhysicalMemory } from "./host-physical.js";
import { hex, toU64, type U64 } from "./u64.js";

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

const PAGE = BigInt(PAGE_SIZE);
/** s_maxbytes of a shmem-like file (MAX_LFS_FILESIZE on 64-bit). */
const MAX_FILE_SIZE = (1n << 63n) - 1n;

/** A memslot's view of its binding (Memslot implements it). */
export interface GuestMemfdBinding {
  /** first gfn of the slot */
  readonly baseGfn: number;
  readonly npages: number;
  /** page index in the file that backs baseGfn */
  readonly gmemFirstIndex: number;
}

/** Called before pages of [startGpa, endGpa) of a bound slot lose their backing (KVM zaps its mappings here). */
export type GuestMemfdInvalidateListener = (
  binding: GuestMemfdBinding,
  startGpa: number,
  endGpa: number,
) => void;

export interface CreateGuestMemfd {
  size: U64;
  flags?: U64;
}

export class GuestMemfd {
  /** Byte size, fixed at creation. */
  readonly size: number;
  readonly flags: number;
  /** The VM the file belongs to; a memslot of another VM cannot bind it. */
  readonly owner: object;
  private readonly host: HostPhysicalMemory;
  private readonly hpaByIndex = new Map<number, number>();
  private readonly bindings: GuestMemfdBinding[] = [];
  private readonly listeners: GuestMemfdInvalidateListener[] = [];

  /**
   * KVM_CREATE_GUEST_MEMFD. `supportedFlags` is what the VM type allows (0 for TDX in 6.16).
   * EINVAL for unknown flags, a size of 0, not page aligned, or too large for a file.
   */
  static create(
    host: HostPhysicalMemory,
    owner: object,
    args: CreateGuestMemfd,
    supportedFlags = 0,
  ): GuestMemfd {
    const flags = toU64(args.flags ?? 0, "flags");
    const size = toU64(args.size, "size");
    if ((flags & ~BigInt(supportedFlags)) !== 0n) {
      throw new ErrnoError(
        "EINVAL",
        `flags ${hex(flags)} has bits outside the supported ${hex(supportedFlags)}`,
      );
    }
    if (size === 0n || size > MAX_FILE_SIZE)
      throw new ErrnoError("EINVAL", `size ${hex(size)} is not a valid file size`);
    if (size % PAGE !== 0n) throw new ErrnoError("EINVAL", `size ${hex(size)} is not page aligned`);
    if (size >= 1n << 52n)
      throw new ErrnoError("ENOMEM", `size ${hex(size)} is beyond what tdxsim can address`);
    return new GuestMemfd(host, owner, Number(size), Number(flags));
  }

  private constructor(host: HostPhysicalMemory, owner: object, size: number, flags: number) {
    this.host = host;
    this.owner = owner;
    this.size = size;
    this.flags = flags;
  }

  get npages(): number {
    return this.size / PAGE_SIZE;
  }

  /** Pages that currently hold a host physical page. */
  get allocatedPages(): number {
    return this.hpaByIndex.size;
  }

  /** The host physical address backing page `index`, allocating it on first use (kvm_gmem_get_pfn). */
  getPfn(index: number): number {
    const hpa = this.hpaByIndex.get(index);
    if (hpa !== undefined) return hpa;
    this.checkIndex(index);
    const fresh = this.host.allocPage();
    this.hpaByIndex.set(index, fresh);
    return fresh;
  }

  /** The backing page of `index` if it has one, without allocating. */
  peekPfn(index: number): number | undefined {
    return this.hpaByIndex.get(index);
  }

  /**
   * fallocate(2). PUNCH_HOLE|KEEP_SIZE frees the pages (contents lost); KEEP_SIZE alone
   * preallocates. Errors as the VFS and kvm_gmem_fallocate give them: EINVAL (negative offset,
   * len 0, unaligned, preallocation past the end), EOPNOTSUPP (mode without KEEP_SIZE or with
   * other bits), EFBIG (offset+len past the largest file), EBUSY (a page is still owned by a
   * private KeyID: the TDX module must reclaim it first — nothing is freed then).
   */
  fallocate(mode: number, offset: U64, len: U64): void {
    const off = toU64(offset, "offset");
    const length = toU64(len, "len");
    if (off > MAX_FILE_SIZE) throw new ErrnoError("EINVAL", `offset ${hex(off)} is negative as loff_t`);
    if (length === 0n || length > MAX_FILE_SIZE)
      throw new ErrnoError("EINVAL", `len ${hex(length)} is not positive`);
    if (!Number.isInteger(mode) || mode < 0 || (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0) {
      throw new ErrnoError("EOPNOTSUPP", `mode ${hex(mode)} has bits guest_memfd does not support`);
    }
    if ((mode & FALLOC_FL_KEEP_SIZE) === 0) {
      throw new ErrnoError(
        "EOPNOTSUPP",
        `mode ${hex(mode)} lacks FALLOC_FL_KEEP_SIZE (guest_memfd cannot grow)`,
      );
    }
    if (off + length > MAX_FILE_SIZE)
      throw new ErrnoError("EFBIG", `offset+len ${hex(off + length)} is too large`);
    if (off % PAGE !== 0n) throw new ErrnoError("EINVAL", `offset ${hex(off)} is not page aligned`);
    if (length % PAGE !== 0n) throw new ErrnoError("EINVAL", `len ${hex(length)} is not page aligned`);
    const size = BigInt(this.size);
    if ((mode & FALLOC_FL_PUNCH_HOLE) !== 0) {
      // Punching past the end is allowed and does nothing there.
      if (off >= size) return;
      const end = off + length < size ? off + length : size;
      this.punchHole(Number(off / PAGE), Number(end / PAGE));
      return;
    }
    if (off + length > size) {
      throw new ErrnoError("EINVAL", `range ${hex(off)}+${hex(length)} ends past the file size ${hex(size)}`);
    }
    for (let i = Number(off / PAGE), end = Number((off + length) / PAGE); i < end; i++) this.getPfn(i);
  }

  /** Registers a callback run before punched pages are freed (kvm_gmem_invalidate_begin). */
  onInvalidate(listener: GuestMemfdInvalidateListener): void {
    this.listeners.push(listener);
  }

  /** Binds file pages [first, first+npages) to a slot; EINVAL when any of them is already bound. */
  bind(binding: GuestMemfdBinding): void {
    const first = binding.gmemFirstIndex;
    const end = first + binding.npages;
    if (end > this.npages) {
      throw new ErrnoError(
        "EINVAL",
        `guest_memfd_offset ${hex(first * PAGE_SIZE)} + memory_size ${hex(binding.npages * PAGE_SIZE)} is past the guest_memfd size ${hex(this.size)}`,
      );
    }
    for (const b of this.bindings) {
      if (first < b.gmemFirstIndex + b.npages && b.gmemFirstIndex < end) {
        throw new ErrnoError(
          "EINVAL",
          `guest_memfd range ${hex(first * PAGE_SIZE)}+${hex(binding.npages * PAGE_SIZE)} is already bound to another memslot`,
        );
      }
    }
    this.bindings.push(binding);
  }

  unbind(binding: GuestMemfdBinding): void {
    const i = this.bindings.indexOf(binding);
    if (i >= 0) this.bindings.splice(i, 1);
  }

  /** The binding that covers page `index`, if any. */
  bindingOf(index: number): GuestMemfdBinding | undefined {
    return this.bindings.find((b) => index >= b.gmemFirstIndex && index < b.gmemFirstIndex + b.npages);
  }

  private punchHole(first: number, end: number): void {
    for (const b of this.bindings) {
      const lo = Math.max(first, b.gmemFirstIndex);
      const hi = Math.min(end, b.gmemFirstIndex + b.npages);
      if (lo >= hi) continue;
      const gfn = b.baseGfn - b.gmemFirstIndex;
      for (const listener of this.listeners) listener(b, (gfn + lo) * PAGE_SIZE, (gfn + hi) * PAGE_SIZE);
    }
    const victims: number[] = [];
    this.forEachBacked(first, end, (index, hpa) => {
      const keyId = this.host.keyIdOf(hpa);
      if (keyId !== 0) {
        throw new ErrnoError(
          "EBUSY",
          `guest_memfd page at offset ${hex(index * PAGE_SIZE)} (hpa ${hex(hpa)}) is still owned by KeyID ${keyId}; the TDX module must reclaim it before the hole can be punched`,
        );
      }
      victims.push(index);
    });
    for (const index of victims) {
      this.host.freePage(this.hpaByIndex.get(index)!);
      this.hpaByIndex.delete(index);
    }
  }

  private forEachBacked(first: number, end: number, visit: (index: number, hpa: number) => void): void {
    if (end - first > this.hpaByIndex.size) {
      const hits = [...this.hpaByIndex].filter(([i]) => i >= first && i < end).sort((a, b) => a[0] - b[0]);
      for (const [i, hpa] of hits) visit(i, hpa);
      return;
    }
    for (let i = first; i < end; i++) {
      const hpa = this.hpaByIndex.get(i);
      if (hpa !== undefined) visit(i, hpa);
    }
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.npages) {
      throw new ErrnoError("EINVAL", `page index ${index} is outside the guest_memfd (${this.npages} pages)`);
    }
  }
}
