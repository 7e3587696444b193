/** A boot-structure value that does not fit its field or breaks a rule of the boot code; `field` names it. */
export class BootLayoutError extends RangeError {
  override name = "BootLayoutError";
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const U16_LIMIT = 0x1_0000;
const U32_LIMIT = 0x1_0000_0000;
const U64_SAFE_LIMIT = 2 ** 53;

function check(value: number, limit: number, bits: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= limit) {
    const shown = Number.isInteger(value) && value >= 0 ? `0x${value.toString(16)}` : String(value);
    throw new BootLayoutError(field, `${shown} does not fit in ${bits} unsigned bits`);
  }
  return value;
}

export const checkU16 = (value: number, field: string): number => check(value, U16_LIMIT, 16, field);
export const checkU32 = (value: number, field: string): number => check(value, U32_LIMIT, 32, field);
/** 64-bit fields hold guest addresses below 2^53 here (GPAW ≤ 52). */
export const checkU64 = (value: number, field: string): number => check(value, U64_SAFE_LIMIT, 53, field);

export function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % U32_LIMIT, true);
  view.setUint32(offset + 4, Math.floor(value / U32_LIMIT), true);
}

export function readU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * U32_LIMIT + view.getUint32(offset, true);
}
