// Logical → linear address translation with the segmentation checks (SDM Vol. 3A 5.3,
// 3.4.5.1 and the "64-bit mode" memory-access rules): unusable segments, type (read-only
// data, execute-only code), expand-up/expand-down limits with the B bit, and in 64-bit mode
// the FS/GS bases and the canonical check. Faults through SS raise #SS(0), others #GP(0).
// The interpreter's fast path skips this for flat segments; this is its checked slow path.

import { Vector, X86Exception } from "./exception.js";
import { EFER_LMA, isCanonical } from "./msr.js";
import { OUT_HI } from "./regs.js";
import {
  AR_DB,
  AR_L,
  AR_S,
  AR_UNUSABLE,
  S_ATTR,
  S_BASE_HI,
  S_BASE_LO,
  S_LIMIT,
  SEG_CS,
  SEG_FS,
  SEG_GS,
  SEG_SS,
  SEG_STRIDE,
} from "./segment.js";
import { type CpuState, CR4_LA57 } from "./state.js";

export const Access = { READ: 0, WRITE: 1, EXECUTE: 2 } as const;

function fault(seg: number, why: string): never {
  throw new X86Exception(seg === SEG_SS ? Vector.SS : Vector.GP, 0, why);
}

/**
 * Linear address of `size` bytes at offset (lo, hi) through segment `seg` for `access`.
 * Returns the low word; the high word is left in r[OUT_HI].
 */
export function linearAddress(
  cpu: CpuState,
  seg: number,
  offLo: number,
  offHi: number,
  size: number,
  access: number,
): number {
  const i = seg * SEG_STRIDE;
  const s = cpu.seg;
  const long64 = (cpu.efer & EFER_LMA) !== 0 && (s[SEG_CS * SEG_STRIDE + S_ATTR] & AR_L) !== 0;
  if (long64) {
    let lo = offLo;
    let hi = offHi;
    if (seg === SEG_FS || seg === SEG_GS) {
      const sum = (offLo >>> 0) + (s[i + S_BASE_LO] >>> 0);
      lo = sum | 0;
      hi = (offHi + s[i + S_BASE_HI] + (sum > 0xffffffff ? 1 : 0)) | 0;
    }
    const bits = cpu.cr4 & CR4_LA57 ? 57 : 48; // the paging mode in use (48-bit with 4-level paging)
    const lastLo = (lo >>> 0) + size - 1;
    const lastHi = lastLo > 0xffffffff ? (hi + 1) | 0 : hi;
    if (!isCanonical(hi, bits) || !isCanonical(lastHi, bits)) fault(seg, "non-canonical address");
    cpu.r[OUT_HI] = hi;
    return lo;
  }
  const attr = s[i + S_ATTR];
  if (attr & AR_UNUSABLE) fault(seg, "access through a null or unusable segment");
  const type = attr & 0xf;
  const code = (attr & AR_S) !== 0 && (type & 8) !== 0;
  if (access === Access.WRITE && (code || !(type & 2))) fault(seg, "write to a read-only or code segment");
  if (access === Access.READ && code && !(type & 2)) fault(seg, "read of an execute-only code segment");
  const off = offLo >>> 0;
  const last = off + size - 1;
  const limit = s[i + S_LIMIT] >>> 0;
  if (!code && type & 4) {
    // Expand-down data: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF (B bit).
    const upper = attr & AR_DB ? 0xffffffff : 0xffff;
    if (off <= limit || last > upper) fault(seg, "offset outside the expand-down segment");
  } else if (last > limit) {
    fault(seg, `offset 0x${off.toString(16)}+${size} beyond the segment limit 0x${limit.toString(16)}`);
  }
  cpu.r[OUT_HI] = 0;
  return (s[i + S_BASE_LO] + off) | 0;
}
