// Guest-physical addresses are plain numbers: GPAW is at most 52 bits, and every integer
// below 2^53 is exact in a double, so no BigInt is needed on this path.

export const GPA_LIMIT = 2 ** 52;
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = PAGE_SIZE - 1;

/** Thrown for a guest-physical address that cannot exist (the message names the value). */
export class AddressError extends RangeError {
  override name = "AddressError";
}

/** A checked guest-physical address. */
export function checkGpa(gpa: number, what = "gpa"): number {
  if (!Number.isInteger(gpa)) throw new AddressError(`${what} ${gpa} is not an integer`);
  if (gpa < 0) throw new AddressError(`${what} ${gpa} is negative`);
  if (gpa >= GPA_LIMIT) throw new AddressError(`${what} 0x${gpa.toString(16)} is not below 2^52`);
  return gpa;
}

export function isPageAligned(value: number): boolean {
  return value % PAGE_SIZE === 0;
}

export function pageNumber(gpa: number): number {
  return Math.floor(gpa / PAGE_SIZE);
}

/** 2^bit: the TDX shared-GPA bit as a value (bit 47 with GPAW 48, bit 51 with GPAW 52). */
export function sharedBitValue(bit: number): number {
  if (!Number.isInteger(bit) || bit < PAGE_SHIFT || bit > 51)
    throw new RangeError(`shared bit ${bit} is not in 12..51`);
  return 2 ** bit;
}

/** Whether `gpa` has the shared bit set (a shared access in a TD). */
export function hasSharedBit(gpa: number, bit: number): boolean {
  return Math.floor(gpa / sharedBitValue(bit)) % 2 === 1;
}

/** The canonical GPA (shared bit cleared), as memslots and attributes are indexed. */
export function stripSharedBit(gpa: number, bit: number): number {
  return hasSharedBit(gpa, bit) ? gpa - sharedBitValue(bit) : gpa;
}
