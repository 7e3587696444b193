// Per-gfn memory attributes (KVM_SET_MEMORY_ATTRIBUTES). Only KVM_MEMORY_ATTRIBUTE_PRIVATE
// exists. KVM keeps them in an xarray per gfn; we keep sorted, coalesced intervals, so
// converting 2^40 bytes costs one interval instead of 2^28 entries.
import { PAGE_SHIFT, PAGE_SIZE } from "./address.js";
import { ErrnoError } from "./errno.js";
import { hex, toU64, type U64 } from "./u64.js";

export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

/** struct kvm_memory_attributes */
export interface KvmMemoryAttributes {
  address: U64;
  size: U64;
  attributes: U64;
  flags?: U64;
}

/** How a range looks: every page private, every page shared, or some of each. */
export type RangeKind = "private" | "shared" | "mixed";

export interface AttributeInterval {
  /** first gfn and end gfn (exclusive) */
  start: number;
  end: number;
  attributes: number;
}

export class MemoryAttributes {
  /** kvm_supported_mem_attributes: PRIVATE for VMs with private memory, else 0. */
  readonly supported: number;
  /** Bumped on every change. */
  generation = 0;
  // Disjoint intervals with non-zero attributes, sorted; neighbours with equal values are merged.
  private starts: number[] = [];
  private ends: number[] = [];
  private values: number[] = [];
  private lastIndex = 0;

  constructor(supported = KVM_MEMORY_ATTRIBUTE_PRIVATE) {
    this.supported = supported;
  }

  /** KVM_SET_MEMORY_ATTRIBUTES: overwrites all attributes of [address, address+size). */
  set(args: KvmMemoryAttributes): void {
    const flags = toU64(args.flags ?? 0, "flags");
    const attributes = toU64(args.attributes, "attributes");
    const address = toU64(args.address, "address");
    const size = toU64(args.size, "size");
    if (flags !== 0n) throw new ErrnoError("EINVAL", `flags ${hex(flags)} must be 0`);
    if ((attributes & ~BigInt(this.supported)) !== 0n) {
      throw new ErrnoError(
        "EINVAL",
        `attributes ${hex(attributes)} has bits outside the supported ${hex(this.supported)}`,
      );
    }
    if (size === 0n) throw new ErrnoError("EINVAL", "size is 0");
    if (address + size >= 1n << 64n)
      throw new ErrnoError("EINVAL", `address ${hex(address)} + size ${hex(size)} wraps`);
    const page = BigInt(PAGE_SIZE);
    if (address % page !== 0n) throw new ErrnoError("EINVAL", `address ${hex(address)} is not page aligned`);
    if (size % page !== 0n) throw new ErrnoError("EINVAL", `size ${hex(size)} is not page aligned`);
    const start = Number(address >> BigInt(PAGE_SHIFT));
    const end = Number((address + size) >> BigInt(PAGE_SHIFT));
    this.assign(start, end, Number(attributes));
  }

  /** Attributes of the page holding `gpa` (kvm_get_memory_attributes). */
  get(gpa: number): number {
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const i = this.indexAtOrBefore(gfn);
    return i >= 0 && gfn < this.ends[i] ? this.values[i] : 0;
  }

  isPrivate(gpa: number): boolean {
    return (this.get(gpa) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  }

  /** kvm_range_has_memory_attributes: every page of [gpa, gpa+size) has `attributes` under `mask`. */
  rangeHas(gpa: number, size: number, mask: number, attributes: number): boolean {
    const [start, end] = this.gfnRange(gpa, size);
    // Pages outside every interval have attributes 0.
    const gapsMatch = attributes === 0;
    let at = start;
    for (const iv of this.overlaps(start, end)) {
      if (at < iv.start && !gapsMatch) return false;
      if ((iv.attributes & mask) !== attributes) return false;
      at = iv.end;
    }
    return at >= end || gapsMatch;
  }

  /** Whether the pages of [gpa, gpa+size) are all private, all shared, or mixed. */
  classify(gpa: number, size: number): RangeKind {
    const P = KVM_MEMORY_ATTRIBUTE_PRIVATE;
    if (this.rangeHas(gpa, size, P, P)) return "private";
    if (this.rangeHas(gpa, size, P, 0)) return "shared";
    return "mixed";
  }

  /** The intervals with non-zero attributes that overlap [gpa, gpa+size) (all of them by default), clipped. */
  intervals(gpa = 0, size = 2 ** 52): AttributeInterval[] {
    const [start, end] = this.gfnRange(gpa, size);
    return this.overlaps(start, end);
  }

  private overlaps(start: number, end: number): AttributeInterval[] {
    const out: AttributeInterval[] = [];
    let i = Math.max(this.indexAtOrBefore(start), 0);
    for (; i < this.starts.length && this.starts[i] < end; i++) {
      if (this.ends[i] <= start) continue;
      out.push({
        start: Math.max(this.starts[i], start),
        end: Math.min(this.ends[i], end),
        attributes: this.values[i],
      });
    }
    return out;
  }

  private gfnRange(gpa: number, size: number): [number, number] {
    if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa % PAGE_SIZE !== 0) {
      throw new ErrnoError("EINVAL", `gpa ${gpa} is not a page-aligned address`);
    }
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new ErrnoError("EINVAL", `size ${size} is not a positive multiple of the page size`);
    }
    return [gpa / PAGE_SIZE, (gpa + size) / PAGE_SIZE];
  }

  // Index of the last interval whose start is <= gfn, or -1.
  private indexAtOrBefore(gfn: number): number {
    const starts = this.starts;
    const c = this.lastIndex;
    if (c < starts.length && starts[c] <= gfn && (c + 1 === starts.length || starts[c + 1] > gfn)) return c;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= gfn) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi >= 0) this.lastIndex = hi;
    return hi;
  }

  private assign(start: number, end: number, value: number): void {
    const starts: number[] = [];
    const ends: number[] = [];
    const values: number[] = [];
    const push = (s: number, e: number, v: number) => {
      if (s >= e || v === 0) return;
      const n = starts.length;
      if (n > 0 && ends[n - 1] === s && values[n - 1] === v) ends[n - 1] = e;
      else {
        starts.push(s);
        ends.push(e);
        values.push(v);
      }
    };
    let placed = false;
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i];
      const e = this.ends[i];
      const v = this.values[i];
      if (!placed && s >= start) {
        push(start, end, value);
        placed = true;
      }
      push(s, Math.min(e, start), v);
      if (!placed && e > start) {
        push(start, end, value);
        placed = true;
      }
      push(Math.max(s, end), e, v);
    }
    if (!placed) push(start, end, value);
    this.starts = starts;
    this.ends = ends;
    this.values = values;
    this.lastIndex = 0;
    this.generation++;
  }
}
