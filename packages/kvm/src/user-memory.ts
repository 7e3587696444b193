// copy_from_user / copy_to_user against the simulated VMM's address space. Pointers inside
// ioctl arguments (kvm_tdx_cmd.data, kvm_msr_filter_range.bitmap, source_addr, ...) are
// addresses in a SparseMemory the size of the user address space; like Linux, the first
// mmap_min_addr bytes (NULL and around it) are never mapped, so they fault with EFAULT.
import { SparseMemory, TASK_SIZE_MAX } from "@tdxsim/memory";
import { KvmError } from "./errors.js";

/** Default vm.mmap_min_addr: nothing below 64 KiB is ever mapped. */
export const MMAP_MIN_ADDR = 0x10000;

export function createUserMemory(): SparseMemory {
  return new SparseMemory(TASK_SIZE_MAX);
}

/** access_ok(): the user address of `length` bytes as a number, or EFAULT naming `what`. */
export function checkUserRange(
  mem: SparseMemory,
  addr: number | bigint,
  length: number,
  what: string,
): number {
  const a = typeof addr === "bigint" ? Number(addr) : addr;
  const limit = Math.min(mem.size, TASK_SIZE_MAX);
  if (
    typeof addr === "bigint"
      ? addr < BigInt(MMAP_MIN_ADDR) || addr + BigInt(length) > BigInt(limit)
      : !Number.isInteger(a) || a < MMAP_MIN_ADDR || a + length > limit
  ) {
    throw new KvmError(
      "EFAULT",
      `${what} 0x${addr.toString(16)} (+${length}) is not mapped in the caller's memory`,
      { field: what },
    );
  }
  return a;
}

/** copy_from_user: a copy of `length` bytes at user address `addr`, or EFAULT naming `what`. */
export function copyFromUser(
  mem: SparseMemory,
  addr: number | bigint,
  length: number,
  what: string,
): Uint8Array {
  return mem.readBytes(checkUserRange(mem, addr, length, what), length);
}

/** copy_to_user: write `data` at user address `addr`, or EFAULT naming `what`. */
export function copyToUser(mem: SparseMemory, addr: number | bigint, data: Uint8Array, what: string): void {
  mem.writeBytes(checkUserRange(mem, addr, data.length, what), data);
}
