import { ElfError } from "./elf-error.js";

const TWO_POW_32 = 2 ** 32;

/**
 * Bounds-checked little-endian reads from an ELF file. 64-bit fields come back as numbers:
 * a guest image lives far below 2^53, so a larger value is reported as an error naming the
 * field instead of being rounded.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.byteLength;
  }

  /** Throws unless [offset, offset + size) lies inside the file. */
  requireRange(offset: number, size: number, field: string): void {
    if (offset < 0 || size < 0 || offset + size > this.length) {
      throw new ElfError(
        field,
        `bytes [0x${offset.toString(16)}, 0x${(offset + size).toString(16)}) lie outside the file (size 0x${this.length.toString(16)})`,
      );
    }
  }

  u8(offset: number, field: string): number {
    this.requireRange(offset, 1, field);
    return this.view.getUint8(offset);
  }

  u16(offset: number, field: string): number {
    this.requireRange(offset, 2, field);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, field: string): number {
    this.requireRange(offset, 4, field);
    return this.view.getUint32(offset, true);
  }

  /** Unsigned 64-bit field as an exact number (throws naming `field` when ≥ 2^53). */
  u64(offset: number, field: string): number {
    this.requireRange(offset, 8, field);
    const lo = this.view.getUint32(offset, true);
    const hi = this.view.getUint32(offset + 4, true);
    if (hi >= 0x20_0000) {
      throw new ElfError(
        field,
        `value 0x${hi.toString(16)}${lo.toString(16).padStart(8, "0")} is not below 2^53`,
      );
    }
    return hi * TWO_POW_32 + lo;
  }

  /** Signed 64-bit field (an addend) as an exact number. */
  i64(offset: number, field: string): number {
    this.requireRange(offset, 8, field);
    const value = this.view.getBigInt64(offset, true);
    if (value >= 2n ** 53n || value <= -(2n ** 53n)) {
      throw new ElfError(field, `value ${value} does not fit in 53 bits`);
    }
    return Number(value);
  }

  /** NUL-terminated string starting at `offset`, not reading past `end`. */
  cString(offset: number, end: number, field: string): string {
    this.requireRange(offset, 0, field);
    const limit = Math.min(end, this.length);
    let stop = offset;
    while (stop < limit && this.bytes[stop] !== 0) stop++;
    if (stop >= limit) throw new ElfError(field, `string at 0x${offset.toString(16)} is not NUL-terminated`);
    let text = "";
    for (let i = offset; i < stop; i++) text += String.fromCharCode(this.bytes[i]);
    return text;
  }
}
