// Second stage of a normal (non-TD) VM: GPA → memslot → the slot's user memory, as KVM's MMU
// does for shared memory. A GPA outside every slot is MMIO; a write to a KVM_MEM_READONLY slot
// is MMIO too (the read is served from memory); a write to a slot with
// KVM_MEM_LOG_DIRTY_PAGES marks the page dirty. Like KVM, which maps dirty-logged pages
// write-protected, a read fill never caches write access to such a slot, so the first write
// after each KVM_GET_DIRTY_LOG (which bumps the table's generation) comes back here.
import type { MemslotTable } from "@tdxsim/memory";
import {
  GPA_ACCESS_WRITE,
  GPA_NO_BACKING,
  GPA_OK,
  GPA_READONLY,
  type GpaStatus,
  type GpaTranslation,
  type GuestPhysicalMap,
} from "./second-stage.js";

export class MemslotGuestPhysicalMap implements GuestPhysicalMap {
  readonly table: MemslotTable;
  /** The address space (as_id) the vCPU is in: 0, or 1 for SMM. */
  readonly asId: number;

  constructor(table: MemslotTable, asId = 0) {
    if (!Number.isInteger(asId) || asId < 0 || asId >= table.addressSpaces) {
      throw new RangeError(`address space ${asId} is not below ${table.addressSpaces}`);
    }
    this.table = table;
    this.asId = asId;
  }

  get generation(): number {
    return this.table.generation;
  }

  translate(gpa: number, access: number, out: GpaTranslation): GpaStatus {
    const slot = this.table.find(gpa, this.asId);
    if (slot === undefined) return GPA_NO_BACKING;
    const write = (access & GPA_ACCESS_WRITE) !== 0;
    if (write && slot.readonly) return GPA_READONLY;
    // Slot bases and userspace_addr are page aligned, so the page maps to one user page.
    const hostPfn = Math.floor(slot.hostAddress(gpa) / 4096);
    const memory = slot.userMemory;
    out.bytes = memory.page(hostPfn);
    out.words = memory.peekWords(hostPfn)!;
    out.private = false;
    if (write) slot.markDirty(gpa);
    out.writable = !slot.readonly && (write || slot.dirtyBitmap === undefined);
    return GPA_OK;
  }
}
