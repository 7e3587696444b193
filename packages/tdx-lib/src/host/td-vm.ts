// The selftests' struct kvm_vm for a TD: the KVM objects, the planned layout, the VMM-side
// copy of each memslot (its userspace_addr range in the process's user memory, the source of
// KVM_TDX_INIT_MEM_REGION), and the guest page tables written so far.

import type { GuestMemfdFile, Kvm, KvmProcess, Vcpu, Vm } from "@tdxsim/kvm";
import { type PageTableBuilder, sparsePteMemory } from "@tdxsim/memory";
import type { TdInitialLayout } from "../layout/index.js";

const PAGE_SIZE = 4096;

/** Misuse of the host half (wrong order, memory TDX does not let the host touch, ...). */
export class TdHostError extends Error {
  override name = "TdHostError";
  constructor(
    /** The upstream function that refused, e.g. "td_finalize". */
    readonly operation: string,
    message: string,
  ) {
    super(`${operation}: ${message}`);
  }
}

/** One memslot as the VMM set it up. */
export interface TdMemslot {
  readonly slot: number;
  readonly gpa: number;
  readonly size: number;
  /** userspace_addr: the VMM's copy in `process.userMemory`. */
  readonly userspaceAddr: number;
  readonly guestMemfd: GuestMemfdFile;
}

export interface TdVcpu {
  readonly vcpu: Vcpu;
  readonly id: number;
  /** The TDX module's vCPU index (order of KVM_TDX_INIT_VCPU): the boot code's ESI. */
  readonly index: number;
  readonly entry: number;
  readonly initialStackAddr: number;
}

export class TdVm {
  /** Set by tdInitialize. */
  plan: TdInitialLayout | undefined;
  maxVcpus = 0;
  readonly memslots: TdMemslot[] = [];
  readonly vcpus: TdVcpu[] = [];
  finalized = false;
  /** Extended by virt_map as allocations add mappings. */
  pageTables: PageTableBuilder | undefined;
  private readonly writtenPages = new Set<number>();
  /**
   * GPA page numbers of vm_vaddr_alloc allocations: the test's own private data, which a guest
   * may convert to shared (MapGPA) and reach through a virt_map_shared alias, as upstream's
   * verify_shared_mem does. The library's own private pages (image, page tables, GDT/IDT, stacks)
   * are not in it.
   */
  readonly convertiblePages = new Set<number>();

  constructor(
    readonly process: KvmProcess,
    readonly kvm: Kvm,
    readonly vm: Vm,
  ) {}

  /** The layout; throws naming `operation` before tdInitialize. */
  initialized(operation: string): TdInitialLayout {
    if (!this.plan) throw new TdHostError(operation, "the TD is not initialized (call tdInitialize first)");
    return this.plan;
  }

  notFinalized(operation: string): TdInitialLayout {
    const plan = this.initialized(operation);
    if (this.finalized) {
      throw new TdHostError(
        operation,
        "the TD is finalized: its private memory is measured and no longer writable by the host",
      );
    }
    return plan;
  }

  memslotOf(gpa: number): TdMemslot | undefined {
    return this.memslots.find((s) => gpa >= s.gpa && gpa < s.gpa + s.size);
  }

  /** The VMM-side address of `gpa` (without the shared bit). */
  userAddress(gpa: number, length: number, operation: string): number {
    const slot = this.memslotOf(gpa);
    if (!slot || gpa + length > slot.gpa + slot.size) {
      throw new TdHostError(
        operation,
        `gpa 0x${gpa.toString(16)}+0x${length.toString(16)} is not inside one memslot`,
      );
    }
    return slot.userspaceAddr + (gpa - slot.gpa);
  }

  /** Writes the VMM's copy of guest-physical memory (before finalize: the INIT_MEM_REGION source). */
  writeStaging(gpa: number, bytes: Uint8Array, operation: string): void {
    this.process.userMemory.writeBytes(this.userAddress(gpa, bytes.length, operation), bytes);
  }

  readStaging(gpa: number, length: number, operation: string): Uint8Array {
    return this.process.userMemory.readBytes(this.userAddress(gpa, length, operation), length);
  }

  /** virt_pg_map for every planned mapping not yet in the page tables. */
  syncPageTables(): void {
    const plan = this.initialized("virt_map");
    const builder = this.pageTables;
    if (!builder) return;
    for (const m of plan.layout.mappings()) {
      let start = -1;
      const flush = (end: number) => {
        if (start < 0) return;
        builder.map(m.gva + start * PAGE_SIZE, m.gpa + start * PAGE_SIZE, (end - start) * PAGE_SIZE, {
          shared: m.shared,
          maxPageSize: PAGE_SIZE,
        });
        for (let i = start; i < end; i++) this.writtenPages.add(m.gva / PAGE_SIZE + i);
        start = -1;
      };
      for (let i = 0; i < m.pages; i++) {
        if (this.writtenPages.has(m.gva / PAGE_SIZE + i)) flush(i);
        else if (start < 0) start = i;
      }
      flush(m.pages);
    }
  }

  /** Page-table entries live in the VMM's copy of memslot 0 until td_finalize loads them. */
  pteMemory() {
    const process = this.process;
    const at = (gpa: number) => this.userAddress(gpa, 8, "virt_pg_map");
    const inner = sparsePteMemory(process.userMemory);
    return {
      read64: (gpa: number, out: Uint32Array) => inner.read64(at(gpa), out),
      write64: (gpa: number, lo: number, hi: number) => inner.write64(at(gpa), lo, hi),
    };
  }
}
