// Segment registers with their hidden descriptor caches, packed in one Int32Array (8 slots
// per register: selector, base lo/hi, limit, access rights). The access rights use the VMX
// "access-rights" layout (SDM Vol. 3C 25.4.1), which is also what kvm_segment spells out:
//   bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable.

// The six segment registers are numbered as the decoder numbers segment prefixes (one source).
import { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from "../decoder/record.js";

export { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS };
export const SEG_LDTR = 6;
export const SEG_TR = 7;
export const SEG_NAMES = ["es", "cs", "ss", "ds", "fs", "gs", "ldt", "tr"] as const;

export const SEG_STRIDE = 8;
export const S_SEL = 0;
export const S_BASE_LO = 1;
export const S_BASE_HI = 2;
export const S_LIMIT = 3;
export const S_ATTR = 4;

export const AR_TYPE_MASK = 0xf;
export const AR_S = 1 << 4;
export const AR_DPL_SHIFT = 5;
export const AR_P = 1 << 7;
export const AR_AVL = 1 << 12;
export const AR_L = 1 << 13;
export const AR_DB = 1 << 14;
export const AR_G = 1 << 15;
export const AR_UNUSABLE = 1 << 16;

export type SegmentFile = Int32Array;

export function newSegmentFile(): SegmentFile {
  return new Int32Array(8 * SEG_STRIDE);
}

export function setSegment(
  s: SegmentFile,
  seg: number,
  selector: number,
  baseLo: number,
  baseHi: number,
  limit: number,
  attr: number,
): void {
  const i = seg * SEG_STRIDE;
  s[i + S_SEL] = selector & 0xffff;
  s[i + S_BASE_LO] = baseLo;
  s[i + S_BASE_HI] = baseHi;
  s[i + S_LIMIT] = limit;
  s[i + S_ATTR] = attr;
}

export const segSelector = (s: SegmentFile, seg: number): number => s[seg * SEG_STRIDE + S_SEL];
export const segAttr = (s: SegmentFile, seg: number): number => s[seg * SEG_STRIDE + S_ATTR];
export const segBaseLo = (s: SegmentFile, seg: number): number => s[seg * SEG_STRIDE + S_BASE_LO];
export const segBaseHi = (s: SegmentFile, seg: number): number => s[seg * SEG_STRIDE + S_BASE_HI];
export const segLimit = (s: SegmentFile, seg: number): number => s[seg * SEG_STRIDE + S_LIMIT] >>> 0;

/**
 * Convert the access-rights word to/from the descriptor's attribute bits: descriptor
 * bytes 5 and 6 (bits 40..55 of the 8-byte descriptor) hold type/S/DPL/P and
 * limit[19:16]/AVL/L/D/G; the access-rights word is the same with the limit nibble removed.
 */
export function attrFromDescriptorHigh(descHi: number): number {
  return (descHi >>> 8) & 0xf0ff;
}

/** Expand a descriptor limit with G into a byte limit. */
export function byteLimit(rawLimit: number, g: boolean): number {
  return g ? ((rawLimit << 12) | 0xfff) >>> 0 : rawLimit >>> 0;
}
