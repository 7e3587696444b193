// kvm_util's allocation and mapping calls for a TD, and host access to guest memory under the
// TDX rules: before td_finalize the host writes its copy of every memslot (the source that
// KVM_TDX_INIT_MEM_REGION measures); after it, only shared memory is reachable.
import { type Kvm, KvmCap, KvmVmType } from "@tdxsim/kvm";
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
  plan.layout.virtMapShared(gva, gpa, pages);
  td.syncPageTables();
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
function isSharedGva(td: TdVm, gva: number): boolean {
  const plan = td.initialized("addr_gva2hva");
  const m = plan.layout.mappings().find((r) => gva >= r.gva && gva < r.gva + r.pages * PAGE_SIZE);
  return m?.shared ?? false;
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
    if (td.finalized && !isSharedGva(td, at)) {
      throw new TdHostError(
        operation,
        `gva 0x${at.toString(16)} is private memory of a finalized TD: the host can reach only shared memory`,
      );
    }
    out.push({ gpa: plan.layout.gvaToGpa(at), offset: done, length: n });
    done += n;
  }
  return out;
}

/**
 * Host write into guest memory by GVA (sync_global_to_guest, memcpy to addr_gva2hva): any
 * mapped page before td_finalize (it becomes the measured initial contents), shared pages after.
 */
export function writeGuestMemory(td: TdVm, gva: number, bytes: Uint8Array): void {
  for (const p of pieces(td, gva, bytes.length, "write_guest_memory")) {
    td.writeStaging(p.gpa, bytes.subarray(p.offset, p.offset + p.length), "write_guest_memory");
  }
}

/** Host read of guest memory by GVA (sync_global_from_guest): before td_finalize, or shared pages. */
export function readGuestMemory(td: TdVm, gva: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const p of pieces(td, gva, length, "read_guest_memory")) {
    out.set(td.readStaging(p.gpa, p.length, "read_guest_memory"), p.offset);
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
