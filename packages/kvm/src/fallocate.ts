// fallocate(2) as the VFS checks it before a file's own ->fallocate runs (vfs_fallocate in
// fs/open.c, Linux 6.16). Only guest_memfd among the KVM files is a regular file with a
// fallocate method; /dev/kvm, VM and vCPU files are anon inodes without a file type → ENODEV.
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "@tdxsim/memory";
import { KvmError } from "./errors.js";

/** FALLOC_FL_* mode values (include/uapi/linux/falloc.h); ALLOCATE_RANGE is "no bit set". */
export const FALLOC_FL_ALLOCATE_RANGE = 0x00;
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;
/** FALLOC_FL_MODE_MASK of 6.16 (FALLOC_FL_WRITE_ZEROES came in 6.17). */
export const FALLOC_FL_MODE_MASK =
  FALLOC_FL_PUNCH_HOLE |
  FALLOC_FL_COLLAPSE_RANGE |
  FALLOC_FL_ZERO_RANGE |
  FALLOC_FL_INSERT_RANGE |
  FALLOC_FL_UNSHARE_RANGE;

const LOFF_MAX = (1n << 63n) - 1n;

/** An off_t argument as the kernel's signed 64-bit loff_t (a u64 ≥ 2^63 is negative, as a C cast makes it). */
export function toLoff(value: number | bigint, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new KvmError("EINVAL", `${what} ${value} is not an integer`, { field: what });
  }
  const v = BigInt.asIntN(64, BigInt(value));
  return v;
}

/**
 * The file-independent part of vfs_fallocate: offset < 0 or len ≤ 0 → EINVAL; mode bits outside
 * the known modes, more than one mode, PUNCH_HOLE without KEEP_SIZE, or COLLAPSE/INSERT with
 * KEEP_SIZE → EOPNOTSUPP. `regularFile` false (an anon-inode KVM file) → ENODEV; then
 * offset+len beyond s_maxbytes or wrapping → EFBIG.
 */
export function checkVfsFallocate(mode: number, offset: bigint, len: bigint, regularFile: boolean): void {
  if (offset < 0n) throw new KvmError("EINVAL", `offset ${offset} is negative`, { field: "offset" });
  if (len <= 0n) throw new KvmError("EINVAL", `len ${len} is not positive`, { field: "len" });
  if (!Number.isInteger(mode) || mode < -(2 ** 31) || mode > 2 ** 31 - 1) {
    throw new KvmError("EINVAL", `mode ${mode} is not an int`, { field: "mode" });
  }
  const hex = `0x${(mode >>> 0).toString(16)}`;
  if ((mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE)) !== 0) {
    throw new KvmError("EOPNOTSUPP", `mode ${hex} has unknown bits`, { field: "mode" });
  }
  const keepSize = (mode & FALLOC_FL_KEEP_SIZE) !== 0;
  switch (mode & FALLOC_FL_MODE_MASK) {
    case FALLOC_FL_ALLOCATE_RANGE:
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      break;
    case FALLOC_FL_PUNCH_HOLE:
      if (!keepSize)
        throw new KvmError("EOPNOTSUPP", `mode ${hex}: PUNCH_HOLE needs KEEP_SIZE`, { field: "mode" });
      break;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
      if (keepSize) {
        throw new KvmError("EOPNOTSUPP", `mode ${hex}: COLLAPSE/INSERT_RANGE exclude KEEP_SIZE`, {
          field: "mode",
        });
      }
      break;
    default:
      throw new KvmError("EOPNOTSUPP", `mode ${hex} combines several modes`, { field: "mode" });
  }
  if (!regularFile)
    throw new KvmError("ENODEV", "the file is not a regular file (anon inode without fallocate)");
  if (offset + len > LOFF_MAX) {
    throw new KvmError("EFBIG", `offset + len 0x${(offset + len).toString(16)} is beyond the largest file`, {
      field: "len",
    });
  }
}
