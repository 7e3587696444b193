// u64 fields at the Linux-like API edge. The kvm layer decodes ioctl structs with
// DataView.getBigUint64, so these entry points accept a bigint or a number; the checks are
// done on bigint (not a hot path) so that huge or wrapping values give the errno the kernel
// gives instead of a rounding surprise.
import { ErrnoError } from "./errno.js";

export type U64 = number | bigint;

export const U64_LIMIT = 1n << 64n;

/** The value as a bigint in [0, 2^64); EINVAL naming `field` for anything a u64 cannot hold. */
export function toU64(value: U64, field: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value >= U64_LIMIT) throw new ErrnoError("EINVAL", `${field} ${value} is not a u64`);
    return value;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ErrnoError(
      "EINVAL",
      `${field} ${value} is not a u64 (integers up to 2^53 as numbers, else bigint)`,
    );
  }
  return BigInt(value);
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
