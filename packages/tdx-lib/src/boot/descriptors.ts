import { BootLayoutError, checkU16, checkU32 } from "./boot-layout-error.js";

// x86 descriptor formats (Intel SDM vol. 3A §3.4.5 segment descriptors, §7.2.3 TSS
// descriptor in IA-32e mode, §6.14.1 64-bit IDT gate descriptors, §2.4 GDTR/IDTR).

/** A 64-bit address field: a number below 2^53 or a bigint below 2^64 (canonical high halves). */
export type Address64 = number | bigint;

const TWO_POW_32 = 0x1_0000_0000;

function split64(value: Address64, field: string): [lo: number, hi: number] {
  const big = typeof value === "bigint" ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (big < 0n || big >= 1n << 64n)
    throw new BootLayoutError(field, `${value} is not a 64-bit unsigned value`);
  return [Number(big & 0xffff_ffffn), Number(big >> 32n)];
}

function join64(lo: number, hi: number): Address64 {
  const value = hi * TWO_POW_32 + lo;
  return Number.isSafeInteger(value) ? value : (BigInt(hi) << 32n) | BigInt(lo);
}

export interface SegmentDescriptorFields {
  readonly base: number;
  /** 20-bit limit, in bytes or 4 KiB units (see `granularity`). */
  readonly limit: number;
  /** 4-bit type: code/data types when `system` is false, system types (0x9 TSS, ...) otherwise. */
  readonly type: number;
  /** True for a system descriptor (S = 0): TSS, LDT, gates. */
  readonly system: boolean;
  readonly dpl: number;
  readonly present: boolean;
  readonly available: boolean;
  /** L: 64-bit code segment. */
  readonly long: boolean;
  /** D/B: 32-bit default operation size / big segment. */
  readonly defaultBig: boolean;
  readonly granularity: boolean;
}

function checkBits(value: number, bits: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new BootLayoutError(field, `${value} does not fit in ${bits} bits`);
  }
  return value;
}

/** Bytes 0–7 common to code/data and system descriptors. */
function writeDescriptorLow(view: DataView, f: SegmentDescriptorFields): void {
  const base = checkU32(f.base, "base");
  const limit = checkBits(f.limit, 20, "limit");
  checkBits(f.type, 4, "type");
  checkBits(f.dpl, 2, "dpl");
  if (f.long && f.defaultBig && !f.system) {
    throw new BootLayoutError("l", "L and D/B both set is reserved for a code segment (SDM 3.4.5)");
  }
  view.setUint16(0, limit & 0xffff, true);
  view.setUint16(2, base & 0xffff, true);
  view.setUint8(4, (base >>> 16) & 0xff);
  view.setUint8(5, f.type | (f.system ? 0 : 0x10) | (f.dpl << 5) | (f.present ? 0x80 : 0));
  view.setUint8(
    6,
    (limit >>> 16) |
      (f.available ? 0x10 : 0) |
      (f.long ? 0x20 : 0) |
      (f.defaultBig ? 0x40 : 0) |
      (f.granularity ? 0x80 : 0),
  );
  view.setUint8(7, base >>> 24);
}

/** An 8-byte code or data segment descriptor. */
export function encodeSegmentDescriptor(fields: SegmentDescriptorFields): Uint8Array {
  if (fields.system)
    throw new BootLayoutError(
      "system",
      "use encodeSystemDescriptor64 for a system descriptor in IA-32e mode",
    );
  const out = new Uint8Array(8);
  writeDescriptorLow(new DataView(out.buffer), fields);
  return out;
}

export function decodeSegmentDescriptor(bytes: Uint8Array): SegmentDescriptorFields {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const access = view.getUint8(5);
  const flags = view.getUint8(6);
  return {
    base: (view.getUint16(2, true) | (view.getUint8(4) << 16) | (view.getUint8(7) << 24)) >>> 0,
    limit: view.getUint16(0, true) | ((flags & 0xf) << 16),
    type: access & 0xf,
    system: (access & 0x10) === 0,
    dpl: (access >> 5) & 3,
    present: (access & 0x80) !== 0,
    available: (flags & 0x10) !== 0,
    long: (flags & 0x20) !== 0,
    defaultBig: (flags & 0x40) !== 0,
    granularity: (flags & 0x80) !== 0,
  };
}

/** Code segment type 0xB: execute/read, accessed. */
export const CODE_TYPE_EXECUTE_READ_ACCESSED = 0xb;
/** Data segment type 0x3: read/write, accessed. */
export const DATA_TYPE_READ_WRITE_ACCESSED = 0x3;
/** System types in IA-32e mode. */
export const SYSTEM_TYPE_TSS64_AVAILABLE = 0x9;
export const SYSTEM_TYPE_TSS64_BUSY = 0xb;
export const GATE_TYPE_INTERRUPT64 = 0xe;
export const GATE_TYPE_TRAP64 = 0xf;

/** Flat 64-bit code segment (L = 1, D = 0, G = 1, limit 0xFFFFF): 0x00AF9B000000FFFF at DPL 0. */
export function code64Descriptor(dpl = 0): Uint8Array {
  return encodeSegmentDescriptor({
    base: 0,
    limit: 0xfffff,
    type: CODE_TYPE_EXECUTE_READ_ACCESSED,
    system: false,
    dpl,
    present: true,
    available: false,
    long: true,
    defaultBig: false,
    granularity: true,
  });
}

/** Flat data segment (D/B = 1, G = 1, limit 0xFFFFF): 0x00CF93000000FFFF at DPL 0. */
export function data64Descriptor(dpl = 0): Uint8Array {
  return encodeSegmentDescriptor({
    base: 0,
    limit: 0xfffff,
    type: DATA_TYPE_READ_WRITE_ACCESSED,
    system: false,
    dpl,
    present: true,
    available: false,
    long: false,
    defaultBig: true,
    granularity: true,
  });
}

export interface SystemDescriptor64Fields {
  readonly base: Address64;
  readonly limit: number;
  readonly type: number;
  readonly dpl?: number;
  readonly present?: boolean;
  readonly granularity?: boolean;
}

/** A 16-byte system-segment descriptor (TSS or LDT) in IA-32e mode. */
export function encodeSystemDescriptor64(fields: SystemDescriptor64Fields): Uint8Array {
  const [lo, hi] = split64(fields.base, "base");
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  writeDescriptorLow(view, {
    base: lo,
    limit: fields.limit,
    type: fields.type,
    system: true,
    dpl: fields.dpl ?? 0,
    present: fields.present ?? true,
    available: false,
    long: false,
    defaultBig: false,
    granularity: fields.granularity ?? false,
  });
  view.setUint32(8, hi, true);
  return out;
}

/** Size of a 64-bit TSS; its descriptor limit is this minus one (0x67). */
export const TSS64_SIZE = 0x68;

/** 64-bit TSS descriptor. The selftests mark it busy (type 0xB), as LTR would. */
export function tss64Descriptor(base: Address64, busy = true): Uint8Array {
  return encodeSystemDescriptor64({
    base,
    limit: TSS64_SIZE - 1,
    type: busy ? SYSTEM_TYPE_TSS64_BUSY : SYSTEM_TYPE_TSS64_AVAILABLE,
  });
}

export interface GateDescriptor64Fields {
  readonly offset: Address64;
  readonly selector: number;
  /** 0 = no IST switch, 1–7 = IST entry. */
  readonly ist?: number;
  /** GATE_TYPE_INTERRUPT64 (0xE, clears IF) or GATE_TYPE_TRAP64 (0xF). */
  readonly type?: number;
  readonly dpl?: number;
  readonly present?: boolean;
}

/** A 16-byte IDT gate for IA-32e mode. */
export function encodeGateDescriptor64(fields: GateDescriptor64Fields): Uint8Array {
  const [lo, hi] = split64(fields.offset, "offset");
  const type = fields.type ?? GATE_TYPE_INTERRUPT64;
  if (type !== GATE_TYPE_INTERRUPT64 && type !== GATE_TYPE_TRAP64) {
    throw new BootLayoutError(
      "type",
      `0x${type.toString(16)} is not a 64-bit interrupt (0xE) or trap (0xF) gate`,
    );
  }
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setUint16(0, lo & 0xffff, true);
  view.setUint16(2, checkU16(fields.selector, "selector"), true);
  view.setUint8(4, checkBits(fields.ist ?? 0, 3, "ist"));
  view.setUint8(
    5,
    type | (checkBits(fields.dpl ?? 0, 2, "dpl") << 5) | ((fields.present ?? true) ? 0x80 : 0),
  );
  view.setUint16(6, lo >>> 16, true);
  view.setUint32(8, hi, true);
  return out;
}

export function decodeGateDescriptor64(bytes: Uint8Array): Required<GateDescriptor64Fields> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = (view.getUint16(0, true) | (view.getUint16(6, true) << 16)) >>> 0;
  const access = view.getUint8(5);
  return {
    offset: join64(lo, view.getUint32(8, true)),
    selector: view.getUint16(2, true),
    ist: view.getUint8(4) & 7,
    type: access & 0xf,
    dpl: (access >> 5) & 3,
    present: (access & 0x80) !== 0,
  };
}

export interface DescriptorTableRegister {
  readonly limit: number;
  readonly base: Address64;
}

/** GDTR/IDTR image for LGDT/LIDT in 64-bit mode: u16 limit, u64 base (10 bytes). */
export function encodeDescriptorTableRegister64(dtr: DescriptorTableRegister): Uint8Array {
  const [lo, hi] = split64(dtr.base, "base");
  const out = new Uint8Array(10);
  const view = new DataView(out.buffer);
  view.setUint16(0, checkU16(dtr.limit, "limit"), true);
  view.setUint32(2, lo, true);
  view.setUint32(6, hi, true);
  return out;
}

/** GDTR/IDTR image for LGDT/LIDT in 32-bit mode: u16 limit, u32 base (6 bytes) — the boot code's form. */
export function encodeDescriptorTableRegister32(dtr: { limit: number; base: number }): Uint8Array {
  const out = new Uint8Array(6);
  const view = new DataView(out.buffer);
  view.setUint16(0, checkU16(dtr.limit, "limit"), true);
  view.setUint32(2, checkU32(dtr.base, "base"), true);
  return out;
}

/** A segment selector: index << 3 | TI << 2 | RPL. */
export function segmentSelector(index: number, rpl = 0, ldt = false): number {
  checkBits(index, 13, "index");
  checkBits(rpl, 2, "rpl");
  return (index << 3) | (ldt ? 4 : 0) | rpl;
}
