// A small C-struct layout engine: fields are laid out with the x86-64 SysV rules (each
// scalar aligned to its size, the struct padded to its largest alignment), so a struct is
// written once, as its field list, and its size, offsets, encoder and decoder all follow.
// test/uapi-headers.test.ts checks every size and offset against the C compiler.
// u64 fields decode to bigint (API edge); hot paths read kvm_run through KvmRun instead.

export type Scalar = "u8" | "u16" | "u32" | "u64";

export interface ArrayOf<S extends Scalar = Scalar> {
  readonly array: S;
  readonly length: number;
}

export interface StructField<V = unknown> {
  readonly struct: StructDef<V>;
}

export interface StructArrayField<V = unknown> {
  readonly structArray: StructDef<V>;
  readonly length: number;
}

export type FieldType = Scalar | ArrayOf | StructField | StructArrayField;

export type FieldSpec = readonly [name: string, type: FieldType];

type ValueOfType<T> = T extends "u64"
  ? bigint
  : T extends Scalar
    ? number
    : T extends ArrayOf<"u8">
      ? Uint8Array
      : T extends ArrayOf<"u64">
        ? bigint[]
        : T extends ArrayOf
          ? number[]
          : T extends StructField<infer V>
            ? V
            : T extends StructArrayField<infer V>
              ? V[]
              : never;

export type StructValue<F extends readonly FieldSpec[]> = {
  -readonly [E in F[number] as E[0]]: ValueOfType<E[1]>;
};

interface LaidOutField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly size: number;
}

const SCALAR_SIZE: Record<Scalar, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

function sizeAndAlign(type: FieldType): { size: number; align: number } {
  if (typeof type === "string") return { size: SCALAR_SIZE[type], align: SCALAR_SIZE[type] };
  if ("array" in type) {
    const s = SCALAR_SIZE[type.array];
    return { size: s * type.length, align: s };
  }
  if ("structArray" in type) {
    return { size: type.structArray.size * type.length, align: type.structArray.align };
  }
  return { size: type.struct.size, align: type.struct.align };
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export class StructDef<V> {
  readonly size: number;
  readonly align: number;
  readonly fields: readonly LaidOutField[];
  private readonly byName: Map<string, LaidOutField>;

  constructor(
    /** The C name, e.g. "kvm_regs". */
    readonly name: string,
    specs: readonly FieldSpec[],
  ) {
    let offset = 0;
    let align = 1;
    const fields: LaidOutField[] = [];
    for (const [fieldName, type] of specs) {
      const sa = sizeAndAlign(type);
      offset = alignUp(offset, sa.align);
      fields.push({ name: fieldName, type, offset, size: sa.size });
      offset += sa.size;
      align = Math.max(align, sa.align);
    }
    this.fields = fields;
    this.align = align;
    this.size = alignUp(offset, align);
    this.byName = new Map(fields.map((f) => [f.name, f]));
  }

  /** offsetof(struct, field); nested fields with dots: "cs.selector". */
  offsetOf(path: string): number {
    const [head, ...rest] = path.split(".");
    const field = this.byName.get(head!);
    if (!field) throw new RangeError(`struct ${this.name} has no field ${head}`);
    if (rest.length === 0) return field.offset;
    const type = field.type;
    if (typeof type !== "string" && "structArray" in type) {
      // "ranges.3.base": element index, then the member
      const index = Number(rest[0]);
      if (!Number.isInteger(index) || index < 0 || index >= type.length) {
        throw new RangeError(`${this.name}.${head} has no element ${rest[0]}`);
      }
      const at = field.offset + index * type.structArray.size;
      return rest.length === 1 ? at : at + type.structArray.offsetOf(rest.slice(1).join("."));
    }
    if (typeof type === "string" || !("struct" in type)) {
      throw new RangeError(`${this.name}.${head} is not a struct`);
    }
    return field.offset + type.struct.offsetOf(rest.join("."));
  }

  /** An all-zero value (what a C caller gets from `= {}`). */
  zero(): V {
    return this.decode(new Uint8Array(this.size));
  }

  /** Read the struct from `bytes` at `offset` (must hold `size` bytes). */
  decode(bytes: Uint8Array, offset = 0): V {
    if (offset < 0 || offset + this.size > bytes.length) {
      throw new RangeError(`struct ${this.name} needs ${this.size} bytes at offset ${offset}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out: Record<string, unknown> = {};
    for (const f of this.fields) out[f.name] = readField(view, bytes, offset + f.offset, f.type);
    return out as V;
  }

  /** Write `value` into `bytes` at `offset`; returns `bytes`. Missing fields are written as zero. */
  encode(value: Partial<V>, bytes: Uint8Array = new Uint8Array(this.size), offset = 0): Uint8Array {
    if (offset < 0 || offset + this.size > bytes.length) {
      throw new RangeError(`struct ${this.name} needs ${this.size} bytes at offset ${offset}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    bytes.fill(0, offset, offset + this.size);
    const v = value as Record<string, unknown>;
    for (const f of this.fields) {
      const fieldValue = v[f.name];
      if (fieldValue !== undefined)
        writeField(view, bytes, offset + f.offset, f.type, fieldValue, this.name, f.name);
    }
    return bytes;
  }
}

export function defineStruct<const F extends readonly FieldSpec[]>(
  name: string,
  specs: F,
): StructDef<StructValue<F>> {
  return new StructDef<StructValue<F>>(name, specs);
}

function checkLength(length: number): number {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`array length ${length} is not a count`);
  return length;
}

export const arrayOf = <S extends Scalar>(array: S, length: number): ArrayOf<S> => ({
  array,
  length: checkLength(length),
});
export const structOf = <V>(struct: StructDef<V>): StructField<V> => ({ struct });
export const structArrayOf = <V>(structArray: StructDef<V>, length: number): StructArrayField<V> => ({
  structArray,
  length: checkLength(length),
});

function readScalar(view: DataView, at: number, type: Scalar): number | bigint {
  switch (type) {
    case "u8":
      return view.getUint8(at);
    case "u16":
      return view.getUint16(at, true);
    case "u32":
      return view.getUint32(at, true);
    case "u64":
      return view.getBigUint64(at, true);
  }
}

function readField(view: DataView, bytes: Uint8Array, at: number, type: FieldType): unknown {
  if (typeof type === "string") return readScalar(view, at, type);
  if ("array" in type) {
    if (type.array === "u8") return bytes.slice(at, at + type.length);
    const step = SCALAR_SIZE[type.array];
    return Array.from({ length: type.length }, (_, i) => readScalar(view, at + i * step, type.array));
  }
  if ("structArray" in type) {
    const def = type.structArray;
    return Array.from({ length: type.length }, (_, i) => def.decode(bytes, at + i * def.size));
  }
  return type.struct.decode(bytes, at);
}

function writeScalar(view: DataView, at: number, type: Scalar, value: unknown, where: string): void {
  if (type === "u64") {
    const big = typeof value === "bigint" ? value : typeof value === "number" ? BigInt(value) : undefined;
    if (big === undefined || big < 0n || big >= 1n << 64n)
      throw new RangeError(`${where} ${value} is not a u64`);
    view.setBigUint64(at, big, true);
    return;
  }
  const limit = 2 ** (SCALAR_SIZE[type] * 8);
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= limit) {
    throw new RangeError(`${where} ${value} is not a ${type}`);
  }
  if (type === "u8") view.setUint8(at, value);
  else if (type === "u16") view.setUint16(at, value, true);
  else view.setUint32(at, value, true);
}

function writeField(
  view: DataView,
  bytes: Uint8Array,
  at: number,
  type: FieldType,
  value: unknown,
  structName: string,
  fieldName: string,
): void {
  const where = `${structName}.${fieldName}`;
  if (typeof type === "string") {
    writeScalar(view, at, type, value, where);
    return;
  }
  if ("array" in type) {
    const items = value as ArrayLike<unknown>;
    if (items.length > type.length)
      throw new RangeError(`${where} has ${items.length} > ${type.length} items`);
    if (type.array === "u8" && items instanceof Uint8Array) {
      bytes.set(items, at);
      return;
    }
    const step = SCALAR_SIZE[type.array];
    for (let i = 0; i < items.length; i++)
      writeScalar(view, at + i * step, type.array, items[i], `${where}[${i}]`);
    return;
  }
  if ("structArray" in type) {
    const items = value as readonly unknown[];
    if (items.length > type.length)
      throw new RangeError(`${where} has ${items.length} > ${type.length} items`);
    const def = type.structArray;
    for (let i = 0; i < items.length; i++) def.encode(items[i] as never, bytes, at + i * def.size);
    return;
  }
  type.struct.encode(value as never, bytes, at);
}
