import { describe, expect, it } from "vitest";
import {
  BootLayoutError,
  buildGdtPage,
  buildIdtPage,
  code64Descriptor,
  DEFAULT_CODE_SELECTOR,
  DEFAULT_DATA_SELECTOR,
  DEFAULT_TSS_SELECTOR,
  data64Descriptor,
  decodeGateDescriptor64,
  decodeSegmentDescriptor,
  encodeDescriptorTableRegister32,
  encodeDescriptorTableRegister64,
  encodeGateDescriptor64,
  encodeSegmentDescriptor,
  GATE_TYPE_TRAP64,
  IDT_LIMIT,
  segmentSelector,
  tss64Descriptor,
  VE_VECTOR,
} from "../../src/index.js";

const bytes = (...values: number[]) => new Uint8Array(values);

// Expected bytes are computed by hand from the SDM vol. 3A figures 3-8 (segment
// descriptor), 7-4 (TSS descriptor in IA-32e mode) and 6-8 (64-bit IDT gate).
describe("segment descriptors", () => {
  it("flat 64-bit code is 0x00AF9B000000FFFF (Linux __KERNEL_CS)", () => {
    expect(code64Descriptor()).toEqual(bytes(0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xaf, 0x00));
    expect(code64Descriptor(3)).toEqual(bytes(0xff, 0xff, 0x00, 0x00, 0x00, 0xfb, 0xaf, 0x00));
  });

  it("flat data is 0x00CF93000000FFFF (Linux __KERNEL_DS)", () => {
    expect(data64Descriptor()).toEqual(bytes(0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00));
  });

  it("places every field of an arbitrary descriptor, and decodes it back", () => {
    const fields = {
      base: 0x1234_5678,
      limit: 0xabcde,
      type: 0x2,
      system: false,
      dpl: 2,
      present: true,
      available: true,
      long: false,
      defaultBig: true,
      granularity: true,
    };
    // limit 15:0 = DE BC, base 15:0 = 78 56, base 23:16 = 34,
    // access = type 2 | S 0x10 | DPL 2 << 5 | P 0x80 = 0xD2,
    // flags = limit 19:16 0xA | AVL 0x10 | D/B 0x40 | G 0x80 = 0xDA, base 31:24 = 12.
    const encoded = encodeSegmentDescriptor(fields);
    expect(encoded).toEqual(bytes(0xde, 0xbc, 0x78, 0x56, 0x34, 0xd2, 0xda, 0x12));
    expect(decodeSegmentDescriptor(encoded)).toEqual(fields);
  });

  it("refuses L together with D/B for code, and values that do not fit", () => {
    const flat = decodeSegmentDescriptor(code64Descriptor());
    expect(() => encodeSegmentDescriptor({ ...flat, defaultBig: true })).toThrow(
      /L and D\/B both set is reserved/,
    );
    expect(() => encodeSegmentDescriptor({ ...flat, limit: 0x100000 })).toThrow(
      /limit: 1048576 does not fit in 20 bits/,
    );
    expect(() => encodeSegmentDescriptor({ ...flat, dpl: 4 })).toThrow(BootLayoutError);
    expect(() => encodeSegmentDescriptor({ ...flat, base: 2 ** 32 })).toThrow(
      /base: 0x100000000 does not fit/,
    );
  });
});

describe("TSS descriptor (16 bytes)", () => {
  it("carries a 64-bit base and limit 0x67, busy type 0xB", () => {
    // limit 67 00, base 15:0 00 70, base 23:16 56, access P | type B = 8B, flags 00,
    // base 31:24 34, base 63:32 12 00 00 00, reserved zero.
    expect(tss64Descriptor(0x12_3456_7000)).toEqual(
      bytes(0x67, 0x00, 0x00, 0x70, 0x56, 0x8b, 0x00, 0x34, 0x12, 0x00, 0x00, 0x00, 0, 0, 0, 0),
    );
    expect(tss64Descriptor(0x5000, false)[5]).toBe(0x89);
  });
});

describe("64-bit gate descriptors (16 bytes)", () => {
  it("interrupt gate, DPL 0, no IST", () => {
    const gate = encodeGateDescriptor64({ offset: 0x1234_5678_9abc, selector: 8 });
    expect(gate).toEqual(bytes(0xbc, 0x9a, 0x08, 0x00, 0x00, 0x8e, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0, 0));
    expect(decodeGateDescriptor64(gate)).toEqual({
      offset: 0x1234_5678_9abc,
      selector: 8,
      ist: 0,
      type: 0xe,
      dpl: 0,
      present: true,
    });
  });

  it("trap gate, DPL 3, IST 1, canonical high handler given as bigint", () => {
    const gate = encodeGateDescriptor64({
      offset: 0xffff_ffff_8000_1000n,
      selector: 0x10,
      type: GATE_TYPE_TRAP64,
      dpl: 3,
      ist: 1,
    });
    expect(gate).toEqual(
      bytes(0x00, 0x10, 0x10, 0x00, 0x01, 0xef, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
    );
    expect(decodeGateDescriptor64(gate).offset).toBe(0xffff_ffff_8000_1000n);
  });

  it("refuses other gate types and offsets beyond 64 bits", () => {
    expect(() => encodeGateDescriptor64({ offset: 0, selector: 8, type: 0xc })).toThrow(
      /type: 0xc is not a 64-bit interrupt/,
    );
    expect(() => encodeGateDescriptor64({ offset: 1n << 64n, selector: 8 })).toThrow(
      /offset: .* is not a 64-bit unsigned value/,
    );
    expect(() => encodeGateDescriptor64({ offset: 0, selector: 8, ist: 8 })).toThrow(
      /ist: 8 does not fit in 3 bits/,
    );
  });
});

describe("GDTR/IDTR images and selectors", () => {
  it("64-bit form is limit u16 then base u64", () => {
    expect(encodeDescriptorTableRegister64({ limit: 0xfff, base: 0x12_3456_7000 })).toEqual(
      bytes(0xff, 0x0f, 0x00, 0x70, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00),
    );
  });

  it("32-bit form (what the boot code loads) is limit u16 then base u32", () => {
    expect(encodeDescriptorTableRegister32({ limit: 0xfff, base: 0x2000 })).toEqual(
      bytes(0xff, 0x0f, 0x00, 0x20, 0, 0),
    );
    expect(() => encodeDescriptorTableRegister32({ limit: 0xfff, base: 2 ** 32 })).toThrow(
      /base: 0x100000000/,
    );
    expect(() => encodeDescriptorTableRegister32({ limit: 0x10000, base: 0 })).toThrow(
      /limit: 0x10000 does not fit in 16/,
    );
  });

  it("selectors are index << 3 | TI << 2 | RPL", () => {
    expect(segmentSelector(1)).toBe(DEFAULT_CODE_SELECTOR);
    expect(segmentSelector(2)).toBe(DEFAULT_DATA_SELECTOR);
    expect(segmentSelector(3)).toBe(DEFAULT_TSS_SELECTOR);
    expect(segmentSelector(3, 3)).toBe(0x1b);
    expect(segmentSelector(1, 0, true)).toBe(0xc);
  });
});

describe("GDT and IDT pages", () => {
  it("GDT: null, code at 0x8, data at 0x10, TSS at 0x18", () => {
    const gdt = buildGdtPage(0x7000);
    expect(gdt.length).toBe(4096);
    expect(gdt.subarray(0, 8).every((b) => b === 0)).toBe(true);
    expect(gdt.subarray(8, 16)).toEqual(code64Descriptor());
    expect(gdt.subarray(16, 24)).toEqual(data64Descriptor());
    expect(gdt.subarray(24, 40)).toEqual(tss64Descriptor(0x7000));
    expect(gdt.subarray(40).every((b) => b === 0)).toBe(true);
  });

  it("IDT: the #VE gate at vector 20, every other vector not present", () => {
    const idt = buildIdtPage([{ vector: VE_VECTOR, handler: 0x40_1234 }]);
    expect(IDT_LIMIT).toBe(0xfff);
    expect(idt.subarray(320, 336)).toEqual(encodeGateDescriptor64({ offset: 0x40_1234, selector: 8 }));
    const present = [];
    for (let v = 0; v < 256; v++) if (idt[v * 16 + 5] & 0x80) present.push(v);
    expect(present).toEqual([20]);
    expect(() => buildIdtPage([{ vector: 256, handler: 0 }])).toThrow(/vector: 256 is not a vector/);
    expect(() =>
      buildIdtPage([
        { vector: 3, handler: 0 },
        { vector: 3, handler: 1 },
      ]),
    ).toThrow(/vector 3 is given twice/);
  });
});
