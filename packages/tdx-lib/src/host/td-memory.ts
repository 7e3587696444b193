// kvm_util's allocation and mapping calls for a TD, and host access to guest memory under the
// TDX rules: before td_finalize the host writes its copy of every memslot (the source that
// KVM_TDX_INIT_MEM_REGION measures); after it, only shared memory is reachable.
import { type Kvm, KvmCap, KvmVmType } from "@tdxsim/kvm";
import { TD_BOOT_CODE_MEMSLOT, TD_BOOT_PARAMETERS_MEMSLOT } from "../boot/boot-gpas.js";
import { KVM_UTIL_MIN_VADDR } from "../layout/index.js";
import { tdxTestCheckGuestFailure } from "../report/assertions.js";
import type { RunExit } from "../report/run-exit.js";
import { tdVcpuRun } from "./td-lifecycle.js";
import { TdHostError, type TdVm } from "./td-vm.js";

const PAGE_SIZE = 4096;

/**
 * vm_vaddr_alloc(): protected pages mapped at the lowest free GVA ≥ vaddrMin; before td_finalize.
 * `where` picks the backing as ____vm_vaddr_alloc does: the memslot and the lowest GPA.
 */
export function vmVaddrAlloc(
  td: TdVm,
  size: number,
  vaddrMin = KVM_UTIL_MIN_VADDR,
  where: { readonly slot?: number; readonly paddrMin?: number } = {},
): number {
  const plan = td.notFinalized("vm_vaddr_alloc");
  const gva = plan.layout.vaddrAlloc(size, vaddrMin, { slot: where.slot, paddrMin: where.paddrMin });
  td.syncPageTables();
  for (let i = 0; i < Math.max(1, Math.ceil(size / PAGE_SIZE)); i++) {
    td.convertiblePages.add(plan.layout.gvaToGpa(gva + i * PAGE_SIZE) / PAGE_SIZE);
  }
  return gva;
}

/**
 * vm_vaddr_alloc_shared(): unprotected pages mapped with the shared bit; their memory
 * attributes are set to shared so the guest's shared accesses need no conversion.
 */
export function vmVaddrAllocShared(td: TdVm, size: number, vaddrMin = KVM_UTIL_MIN_VADDR): number {
  const plan = td.notFinalized("vm_vaddr_alloc_shared");
  const gva = plan.layout.vaddrAllocShared(size, vaddrMin);
  td.syncPageTables();
  const pages = Math.max(1, Math.ceil(size / PAGE_SIZE));
  td.vm.setMemoryAttributes({
    address: BigInt(plan.layout.gvaToGpa(gva)),
    size: BigInt(pages * PAGE_SIZE),
    attributes: 0n,
  });
  return gva;
}

/** virt_map_shared(): GVA → GPA with the shared bit in the leaf PTEs (the page tables are private: before td_finalize). */
export function virtMapShared(td: TdVm, gva: number, gpa: number, pages: number): void {
  const plan = td.notFinalized("virt_map_shared");
  refusePrivateOnly(td, gpa, pages, "virt_map_shared");
  plan.layout.virtMapShared(gva, gpa, pages);
  td.syncPageTables();
}

/**
 * A shared alias of memory the TD itself needs private would convert the page on the guest's
 * first shared access (KVM_EXIT_MEMORY_FAULT → shared) and lose its measured contents: refuse
 * the boot-code and boot-parameter memslots and the library's pages td_finalize loads with
 * KVM_TDX_INIT_MEM_REGION (image, page tables, GDT/IDT/TSS, stacks). vm_vaddr_alloc pages are
 * the test's data: a shared alias of them is upstream's verify_shared_mem pattern (the guest
 * converts the page with MapGPA, then uses the alias), so it is allowed.
 */
function refusePrivateOnly(td: TdVm, gpa: number, pages: number, operation: string): void {
  const plan = td.initialized(operation);
  const end = gpa + pages * PAGE_SIZE;
  for (const slot of td.memslots) {
    const bootSlot = slot.slot === TD_BOOT_CODE_MEMSLOT || slot.slot === TD_BOOT_PARAMETERS_MEMSLOT;
    if (bootSlot && gpa < slot.gpa + slot.size && end > slot.gpa) {
      throw new TdHostError(
        operation,
        `gpa range [0x${gpa.toString(16)}, 0x${end.toString(16)}) overlaps memslot ${slot.slot} (${slot.slot === TD_BOOT_CODE_MEMSLOT ? "td_boot code" : "boot parameters"}), which is private only`,
      );
    }
  }
  for (const run of plan.layout.protectedRuns()) {
    const runEnd = run.gpa + run.pages * PAGE_SIZE;
    if (gpa < runEnd && end > run.gpa) {
      let first = Math.max(gpa, run.gpa);
      while (first < Math.min(end, runEnd) && td.convertiblePages.has(first / PAGE_SIZE)) first += PAGE_SIZE;
      if (first >= Math.min(end, runEnd)) continue;
      throw new TdHostError(
        operation,
        `gpa 0x${first.toString(16)} is private memory td_finalize loads and measures (KVM_TDX_INIT_MEM_REGION); a shared mapping of it would not reach those contents (only vm_vaddr_alloc pages, which the guest converts with MapGPA, may get a shared alias)`,
      );
    }
  }
}

/** virt_map(): a private GVA → GPA mapping, before td_finalize. */
export function virtMap(td: TdVm, gva: number, gpa: number, pages: number): void {
  const plan = td.notFinalized("virt_map");
  plan.layout.virtMap(gva, gpa, pages);
  td.syncPageTables();
}

/** addr_gva2gpa() without the shared bit. */
export function addrGva2Gpa(td: TdVm, gva: number): number {
  return td.initialized("addr_gva2gpa").layout.gvaToGpa(gva);
}

/** Whether the page at `gva` is mapped shared (virt_map_shared / vm_vaddr_alloc_shared). */
export function isSharedGva(td: TdVm, gva: number): boolean {
  return td.initialized("addr_gva2hva").layout.isGvaShared(gva);
}

/**
 * Why the host may not touch the page at `gva` of a finalized TD now, or undefined when it may:
 * the page must be mapped shared, and its GPA must still be shared — a guest that converted it
 * with MapGPA (KVM_SET_MEMORY_ATTRIBUTES PRIVATE) sees private memory there, not the VMM's bytes.
 * The attributes are the ones the VMM itself set; they are read back from KVM's table.
 */
export function finalizedAccessProblem(td: TdVm, gva: number): string | undefined {
  if (!isSharedGva(td, gva)) {
    return "is private memory of a finalized TD: the host can reach only shared memory";
  }
  const gpa = td.initialized("addr_gva2hva").layout.gvaToGpa(gva);
  if (td.vm.memory.attributes.isPrivate(gpa)) {
    return `is mapped shared but gpa 0x${(gpa - (gpa % PAGE_SIZE)).toString(16)} is private now (converted with KVM_SET_MEMORY_ATTRIBUTES): the guest does not see the VMM's bytes there`;
  }
  return undefined;
}

/** Splits [gva, gva+length) into page pieces, checking the host may touch each. */
function pieces(td: TdVm, gva: number, length: number, operation: string) {
  const plan = td.initialized(operation);
  const out: { gpa: number; offset: number; length: number }[] = [];
  for (let done = 0; done < length; ) {
    const at = gva + done;
    const n = Math.min(length - done, PAGE_SIZE - (at % PAGE_SIZE));
    if (!plan.layout.isGvaMapped(at))
      throw new TdHostError(operation, `gva 0x${at.toString(16)} is not mapped`);
    const problem = td.finalized ? finalizedAccessProblem(td, at) : undefined;
    if (problem) throw new TdHostError(operation, `gva 0x${at.toString(16)} ${problem}`);
    out.push({ gpa: plan.layout.gvaToGpa(at), offset: done, length: n });
    done += n;
  }
  return out;
}

/**
 * Host write into guest memory by GVA (sync_global_to_guest, memcpy to addr_gva2hva): any
 * mapped page before td_finalize (it becomes the measured initial contents), shared pages after.
 */
export function writeGuestMemory(
  td: TdVm,
  gva: number,
  bytes: Uint8Array,
  operation = "write_guest_memory",
): void {
  for (const p of pieces(td, gva, bytes.length, operation)) {
    td.writeStaging(p.gpa, bytes.subarray(p.offset, p.offset + p.length), operation);
  }
}

/** Host read of guest memory by GVA (sync_global_from_guest): before td_finalize, or shared pages. */
export function readGuestMemory(
  td: TdVm,
  gva: number,
  length: number,
  operation = "read_guest_memory",
): Uint8Array {
  const out = new Uint8Array(length);
  for (const p of pieces(td, gva, length, operation)) {
    out.set(td.readStaging(p.gpa, p.length, operation), p.offset);
  }
  return out;
}

/** TDX_RUN / tdx_run(): td_vcpu_run, then TDX_TEST_CHECK_GUEST_FAILURE. */
export function tdxRun(td: TdVm, index = 0): RunExit {
  const exit = tdVcpuRun(td, index);
  tdxTestCheckGuestFailure(exit);
  return exit;
}

/** is_tdx_enabled(): KVM_CAP_VM_TYPES includes KVM_X86_TDX_VM. */
export function isTdxEnabled(kvm: Kvm): boolean {
  return (kvm.checkExtension(KvmCap.VM_TYPES) & (1 << KvmVmType.TDX_VM)) !== 0;
}
