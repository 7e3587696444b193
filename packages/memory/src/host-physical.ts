// Simulated host physical memory with TDX key tagging.
//
// Real TDX tags every cache line with the KeyID it was last written with; a line written with
// a TD's private HKID is "TD-owned", and a read of it with any other KeyID (the host's direct
// map uses KeyID 0) returns all zeros. We keep one tag per 4 KiB page, which is the
// granularity at which the TDX module initialises (MOVDIR64B) and reclaims pages.
//
// The host (kernel, kvm, user space) gets `host`, a KeyID-0 view. The private view is a
// capability handed out once, to the TDX module: nothing else can read private contents.
import { checkGpa, PAGE_MASK, PAGE_SIZE } from "./address.js";
import { ErrnoError } from "./errno.js";
import { SparseMemory } from "./sparse-memory.js";

export const SHARED_KEY_ID = 0;

/** Thrown when the host touches a page that a private KeyID owns (a host bug on real TDX). */
export class PrivatePageAccessError extends Error {
  override name = "PrivatePageAccessError";
}

/** What the host kernel sees through its direct map: private pages read as zeros and cannot be written. */
export interface HostPhysicalView {
  read8(hpa: number): number;
  read32(hpa: number): number;
  read64(hpa: number): bigint;
  readBytes(hpa: number, length: number): Uint8Array;
  write8(hpa: number, value: number): void;
  write32(hpa: number, value: number): void;
  write64(hpa: number, value: bigint): void;
  writeBytes(hpa: number, data: Uint8Array): void;
}

/** The TDX module's access to pages under private KeyIDs. */
export interface PrivateKeyAccess {
  /** Zero-fills the page and tags it with `keyId` (what MOVDIR64B with the HKID does). */
  initPage(hpa: number, keyId: number): Uint8Array;
  /** Writes the page's contents under `keyId` and tags it (TDH.MEM.PAGE.ADD copying its source). */
  initPageFrom(hpa: number, keyId: number, source: Uint8Array): Uint8Array;
  /** Zero-fills the page and gives it back to KeyID 0 (reclaim). */
  releasePage(hpa: number): void;
  /** The page's bytes, when it is tagged with `keyId`; throws otherwise (integrity check). */
  page(hpa: number, keyId: number): Uint8Array;
  keyIdOf(hpa: number): number;
}

export class HostPhysicalMemory {
  readonly size: number;
  readonly host: HostPhysicalView;
  private readonly store: SparseMemory;
  private readonly keyIds = new Map<number, number>();
  private readonly allocated = new Set<number>();
  private readonly freeFrames: number[] = [];
  private nextFrame: number;
  private privateAccessTaken = false;

  /**
   * @param size bytes of physical address space
   * @param firstAllocatableHpa frames below this are never handed out (room for fixed regions)
   */
  constructor(size: number, firstAllocatableHpa = 0x100000) {
    this.store = new SparseMemory(size);
    this.size = size;
    if (firstAllocatableHpa % PAGE_SIZE !== 0 || firstAllocatableHpa >= size) {
      throw new RangeError(
        `firstAllocatableHpa 0x${firstAllocatableHpa.toString(16)} is not a page inside memory`,
      );
    }
    this.nextFrame = firstAllocatableHpa / PAGE_SIZE;
    this.host = this.makeHostView();
  }

  get allocatedPages(): number {
    return this.allocated.size;
  }

  /** A zeroed page owned by the caller, KeyID 0 (like alloc_page()). */
  allocPage(): number {
    let pfn = this.freeFrames.pop();
    if (pfn === undefined) {
      if ((this.nextFrame + 1) * PAGE_SIZE > this.size)
        throw new ErrnoError("ENOMEM", "host physical memory exhausted");
      pfn = this.nextFrame++;
    }
    this.allocated.add(pfn);
    return pfn * PAGE_SIZE;
  }

  /** Returns a page to the allocator; it must be back under KeyID 0 (reclaimed from any TD). */
  freePage(hpa: number): void {
    const pfn = this.frameOf(hpa);
    if (!this.allocated.has(pfn))
      throw new ErrnoError("EINVAL", `page 0x${hpa.toString(16)} is not allocated`);
    if (this.keyIdOfFrame(pfn) !== SHARED_KEY_ID) {
      throw new ErrnoError(
        "EBUSY",
        `page 0x${hpa.toString(16)} is still owned by KeyID ${this.keyIdOfFrame(pfn)}`,
      );
    }
    this.store.discard(pfn * PAGE_SIZE, PAGE_SIZE);
    this.allocated.delete(pfn);
    this.freeFrames.push(pfn);
  }

  /** The KeyID the page is tagged with (0 = shared). Tags are metadata the host can see; contents are not. */
  keyIdOf(hpa: number): number {
    return this.keyIdOfFrame(this.frameOf(hpa));
  }

  isAllocated(hpa: number): boolean {
    return this.allocated.has(this.frameOf(hpa));
  }

  /** The private-KeyID capability; it can be taken once, by the TDX module. */
  takePrivateKeyAccess(): PrivateKeyAccess {
    if (this.privateAccessTaken) throw new Error("the private KeyID access has already been taken");
    this.privateAccessTaken = true;
    const store = this.store;
    const keyIds = this.keyIds;
    const frameOf = (hpa: number) => this.frameOf(hpa);
    const keyIdOfFrame = (pfn: number) => this.keyIdOfFrame(pfn);
    const checkKeyId = (keyId: number) => {
      if (!Number.isInteger(keyId) || keyId <= 0 || keyId > 0xffff)
        throw new RangeError(`KeyID ${keyId} is not a private KeyID`);
    };
    return {
      initPage(hpa, keyId) {
        checkKeyId(keyId);
        const pfn = frameOf(hpa);
        const page = store.page(pfn);
        page.fill(0);
        keyIds.set(pfn, keyId);
        return page;
      },
      initPageFrom(hpa, keyId, source) {
        if (source.length !== PAGE_SIZE)
          throw new RangeError(`source is ${source.length} bytes, not one page`);
        checkKeyId(keyId);
        const pfn = frameOf(hpa);
        // The copy overwrites every byte, so the zero-fill initPage does would be wasted work.
        const page = store.page(pfn);
        page.set(source);
        keyIds.set(pfn, keyId);
        return page;
      },
      releasePage(hpa) {
        const pfn = frameOf(hpa);
        store.discard(pfn * PAGE_SIZE, PAGE_SIZE);
        keyIds.delete(pfn);
      },
      page(hpa, keyId) {
        const pfn = frameOf(hpa);
        const owner = keyIdOfFrame(pfn);
        if (owner !== keyId) {
          throw new PrivatePageAccessError(
            `page 0x${hpa.toString(16)} is tagged KeyID ${owner}, not ${keyId}`,
          );
        }
        return store.page(pfn);
      },
      keyIdOf(hpa) {
        return keyIdOfFrame(frameOf(hpa));
      },
    };
  }

  private makeHostView(): HostPhysicalView {
    const store = this.store;
    const isPrivate = (hpa: number, length: number) => {
      for (let a = hpa - (hpa & PAGE_MASK); a < hpa + length; a += PAGE_SIZE) {
        if (this.keyIdOfFrame(a / PAGE_SIZE) !== SHARED_KEY_ID) return true;
      }
      return false;
    };
    const refuseWrite = (hpa: number, length: number) => {
      if (isPrivate(hpa, length)) {
        throw new PrivatePageAccessError(
          `host write to 0x${hpa.toString(16)} hits a page owned by a private KeyID`,
        );
      }
    };
    const hidden = (hpa: number, length: number) => this.keyIds.size > 0 && isPrivate(hpa, length);
    return {
      read8: (hpa) => (hidden(hpa, 1) ? 0 : store.read8(hpa)),
      read32: (hpa) => (hidden(hpa, 4) ? 0 : store.read32(hpa)),
      read64: (hpa) => (hidden(hpa, 8) ? 0n : store.read64(hpa)),
      readBytes: (hpa, length) => {
        const out = store.readBytes(hpa, length);
        if (this.keyIds.size > 0) {
          for (let a = hpa; a < hpa + length; a = a - (a & PAGE_MASK) + PAGE_SIZE) {
            if (isPrivate(a, 1)) {
              const end = Math.min(a - (a & PAGE_MASK) + PAGE_SIZE, hpa + length);
              out.fill(0, a - hpa, end - hpa);
            }
          }
        }
        return out;
      },
      write8: (hpa, v) => {
        refuseWrite(hpa, 1);
        store.write8(hpa, v);
      },
      write32: (hpa, v) => {
        refuseWrite(hpa, 4);
        store.write32(hpa, v);
      },
      write64: (hpa, v) => {
        refuseWrite(hpa, 8);
        store.write64(hpa, v);
      },
      writeBytes: (hpa, data) => {
        refuseWrite(hpa, data.length);
        store.writeBytes(hpa, data);
      },
    };
  }

  private frameOf(hpa: number): number {
    checkGpa(hpa, "hpa");
    if (hpa >= this.size)
      throw new RangeError(`hpa 0x${hpa.toString(16)} is beyond host memory 0x${this.size.toString(16)}`);
    return Math.floor(hpa / PAGE_SIZE);
  }

  private keyIdOfFrame(pfn: number): number {
    return this.keyIds.get(pfn) ?? SHARED_KEY_ID;
  }
}
