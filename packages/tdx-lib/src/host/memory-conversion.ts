import {
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KvmHc,
  KvmMapGpaRange,
} from "@tdxsim/kvm";
import type { RunExit } from "../report/run-exit.js";
import { hex } from "../util/hex.js";

// td_vcpu_run()'s memory conversions (handle_memory_conversion): a MapGPA hypercall exit
// (explicit) or a KVM_EXIT_MEMORY_FAULT (implicit) becomes one KVM_SET_MEMORY_ATTRIBUTES
// call. The numbers are @tdxsim/kvm's uapi values, as bigints like the u64 fields they meet.

export const KVM_HC_MAP_GPA_RANGE = BigInt(KvmHc.MAP_GPA_RANGE);
export const KVM_MAP_GPA_RANGE_ENCRYPTED = BigInt(KvmMapGpaRange.ENCRYPTED);
/** Page-size bits of args[2] (4K = 0, 2M = 1, 1G = 2); KVM always sends 0 for TDX. */
export const KVM_MAP_GPA_RANGE_PAGE_SZ_MASK = BigInt(KvmMapGpaRange.PAGE_SZ_2M | KvmMapGpaRange.PAGE_SZ_1G);
export { KVM_MEMORY_ATTRIBUTE_PRIVATE, KVM_MEMORY_EXIT_FLAG_PRIVATE };

/** The struct kvm_memory_attributes a conversion needs (flags are always 0). */
export interface MemoryAttributesRequest {
  readonly address: bigint;
  readonly size: bigint;
  /** KVM_MEMORY_ATTRIBUTE_PRIVATE or 0 (shared). */
  readonly attributes: bigint;
  /** What asked for it, for logs. */
  readonly cause: "MapGPA" | "memory fault";
}

/**
 * The KVM_SET_MEMORY_ATTRIBUTES request an exit asks for, or undefined when the exit is
 * not a conversion. MapGPA: args[0] = canonical GPA, args[1] = 4 KiB pages, args[2]
 * ENCRYPTED → private. Memory fault: flags == PRIVATE → private (the selftests compare
 * the flags for equality), else shared.
 */
export function memoryConversionForExit(exit: RunExit): MemoryAttributesRequest | undefined {
  if (exit.kind === "hypercall") {
    if (exit.nr !== KVM_HC_MAP_GPA_RANGE) return undefined;
    const [gpa, pages, attrs] = exit.args;
    if ((attrs & KVM_MAP_GPA_RANGE_PAGE_SZ_MASK) !== 0n) {
      throw new RangeError(
        `KVM_HC_MAP_GPA_RANGE: args[2] ${hex(attrs)} asks for a page size other than 4 KiB`,
      );
    }
    if (pages === 0n) throw new RangeError(`KVM_HC_MAP_GPA_RANGE: args[1] is 0 pages at ${hex(gpa)}`);
    return {
      address: gpa,
      size: pages * 4096n,
      attributes: (attrs & KVM_MAP_GPA_RANGE_ENCRYPTED) !== 0n ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n,
      cause: "MapGPA",
    };
  }
  if (exit.kind === "memory_fault") {
    return {
      address: exit.gpa,
      size: exit.size,
      attributes: exit.flags === KVM_MEMORY_EXIT_FLAG_PRIVATE ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n,
      cause: "memory fault",
    };
  }
  return undefined;
}
