// KVM_X86_SET_MSR_FILTER (arch/x86/kvm/x86.c kvm_vm_ioctl_set_msr_filter / kvm_add_msr_filter /
// kvm_msr_allowed, 6.16): parsing with the kernel's errno rules, and the per-access verdict.
//
// Rules reproduced:
// * kvm_msr_filter.flags outside KVM_MSR_FILTER_DEFAULT_DENY → EINVAL;
// * DEFAULT_DENY with every range empty (nmsrs 0) → EINVAL;
// * a range with nmsrs 0 is skipped entirely (its flags are not looked at);
// * otherwise range flags outside READ|WRITE, or no flag at all → EINVAL;
// * the bitmap is copied as BITS_TO_LONGS(nmsrs) longs; more than KVM_MSR_FILTER_MAX_BITMAP_SIZE
//   (0x600) bytes → EINVAL; an unreadable bitmap pointer → EFAULT;
// * lookup: x2APIC MSRs 0x800..0x8ff are never filtered; else the first range (in array order)
//   that contains the index (u32 arithmetic: base + nmsrs wraps) and has the access type's flag
//   decides by its bit (1 = allow); if none, the default.
import type { SparseMemory } from "@tdxsim/memory";
import { KvmError } from "./errors.js";
import {
  KVM_MSR_FILTER_RANGE_VALID_MASK,
  KVM_MSR_FILTER_VALID_MASK,
  KvmMsrFilter,
} from "./uapi/constants.js";
import { KVM_MSR_FILTER_MAX_BITMAP_SIZE, KVM_MSR_FILTER_MAX_RANGES, kvmMsrFilter } from "./uapi/structs.js";
import { copyFromUser } from "./user-memory.js";

/** x2APIC MSR range that KVM never filters (APIC_BASE_MSR .. APIC_BASE_MSR + 0xff). */
export const X2APIC_MSR_FIRST = 0x800;
export const X2APIC_MSR_LAST = 0x8ff;

export type MsrAccess = "read" | "write";

export interface MsrFilterRange {
  /** KVM_MSR_FILTER_READ and/or KVM_MSR_FILTER_WRITE */
  readonly flags: number;
  readonly base: number;
  readonly nmsrs: number;
  /** BITS_TO_LONGS(nmsrs) * 8 bytes; bit i (little-endian) allows MSR base + i */
  readonly bitmap: Uint8Array;
}

export class MsrFilter {
  constructor(
    readonly defaultAllow: boolean,
    readonly ranges: readonly MsrFilterRange[],
  ) {}

  /** kvm_msr_allowed(): may the guest access MSR `index` this way without being filtered? */
  allows(index: number, access: MsrAccess): boolean {
    if (index >= X2APIC_MSR_FIRST && index <= X2APIC_MSR_LAST) return true;
    const type = access === "read" ? KvmMsrFilter.READ : KvmMsrFilter.WRITE;
    for (const r of this.ranges) {
      const end = (r.base + r.nmsrs) >>> 0;
      if (index >= r.base && index < end && (r.flags & type) !== 0) {
        const bit = index - r.base;
        return ((r.bitmap[bit >>> 3]! >>> (bit & 7)) & 1) === 1;
      }
    }
    return this.defaultAllow;
  }
}

/** No filter installed: everything is allowed. */
export const NO_MSR_FILTER = new MsrFilter(true, []);

const BYTES_PER_LONG = 8;
const bitmapBytes = (nmsrs: number): number => Math.ceil(nmsrs / 64) * BYTES_PER_LONG;

/** One kvm_msr_filter_range as the typed face takes it: the bitmap bytes instead of a pointer. */
export interface MsrFilterRangeInput {
  readonly flags: number;
  readonly base: number;
  readonly nmsrs: number;
  /** read lazily, as the kernel copies a bitmap only for ranges it keeps */
  readonly bitmap: Uint8Array | ((size: number, what: string) => Uint8Array);
}

/** Validate like kvm_vm_ioctl_set_msr_filter() and build the filter; `ranges` has up to 16 entries. */
export function buildMsrFilter(flags: number, ranges: readonly MsrFilterRangeInput[]): MsrFilter {
  if (ranges.length > KVM_MSR_FILTER_MAX_RANGES) {
    throw new KvmError(
      "EINVAL",
      `kvm_msr_filter has room for ${KVM_MSR_FILTER_MAX_RANGES} ranges, got ${ranges.length}`,
      {
        field: "kvm_msr_filter.ranges",
      },
    );
  }
  if ((flags & ~KVM_MSR_FILTER_VALID_MASK) !== 0) {
    throw new KvmError("EINVAL", `kvm_msr_filter.flags 0x${flags.toString(16)} has unknown bits`, {
      field: "kvm_msr_filter.flags",
    });
  }
  const defaultAllow = (flags & KvmMsrFilter.DEFAULT_DENY) === 0;
  if (ranges.every((r) => r.nmsrs === 0) && !defaultAllow) {
    throw new KvmError("EINVAL", "kvm_msr_filter: DEFAULT_DENY needs at least one range with nmsrs > 0", {
      field: "kvm_msr_filter.ranges",
    });
  }
  const kept: MsrFilterRange[] = [];
  ranges.forEach((r, i) => {
    if (r.nmsrs === 0) return;
    const where = `kvm_msr_filter.ranges[${i}]`;
    if ((r.flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK) !== 0 || r.flags === 0) {
      throw new KvmError("EINVAL", `${where}.flags 0x${r.flags.toString(16)} must be READ and/or WRITE`, {
        field: `${where}.flags`,
      });
    }
    const size = bitmapBytes(r.nmsrs);
    if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE) {
      throw new KvmError(
        "EINVAL",
        `${where}.nmsrs ${r.nmsrs} needs a ${size}-byte bitmap, more than KVM_MSR_FILTER_MAX_BITMAP_SIZE (${KVM_MSR_FILTER_MAX_BITMAP_SIZE})`,
        { field: `${where}.nmsrs` },
      );
    }
    let bitmap: Uint8Array;
    if (typeof r.bitmap === "function") bitmap = r.bitmap(size, `${where}.bitmap`);
    else if (r.bitmap.length < size) {
      throw new KvmError("EFAULT", `${where}.bitmap has ${r.bitmap.length} bytes, ${size} are read`, {
        field: `${where}.bitmap`,
      });
    } else bitmap = r.bitmap.slice(0, size);
    kept.push({ flags: r.flags, base: r.base, nmsrs: r.nmsrs, bitmap });
  });
  return new MsrFilter(defaultAllow, kept);
}

/**
 * Parse a struct kvm_msr_filter (392 bytes) the way KVM_X86_SET_MSR_FILTER does; bitmaps are
 * read from `userMemory` at each range's `bitmap` pointer.
 */
export function parseMsrFilter(bytes: Uint8Array, userMemory: SparseMemory): MsrFilter {
  const f = kvmMsrFilter.decode(bytes);
  return buildMsrFilter(
    f.flags,
    f.ranges.map((r) => ({
      flags: r.flags,
      base: r.base,
      nmsrs: r.nmsrs,
      bitmap: (size: number, what: string) => copyFromUser(userMemory, r.bitmap, size, what),
    })),
  );
}
