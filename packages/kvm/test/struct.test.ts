import { describe, expect, it } from "vitest";
import {
  arrayOf,
  decodeIoctl,
  defineStruct,
  IOC_READ,
  IOC_WRITE,
  io,
  ioctlName,
  iowr,
  KVM_GET_REGS,
  KVM_SET_REGS,
  kvmMsrFilter,
  kvmRegs,
  kvmSregs,
  structArrayOf,
} from "../src/uapi/index.js";

describe("ioctl encoding", () => {
  it("encodes and decodes _IO/_IOR/_IOW/_IOWR", () => {
    expect(io(0xae, 0x80)).toBe(0xae80);
    expect(KVM_SET_REGS).toBe(0x4090ae82);
    expect(KVM_GET_REGS).toBe(0x8090ae81);
    expect(iowr(0xae, 0xba, 8)).toBe(0xc008aeba);
    expect(decodeIoctl(0xc040aed4)).toEqual({ dir: IOC_READ | IOC_WRITE, type: 0xae, nr: 0xd4, size: 64 });
    expect(decodeIoctl(KVM_SET_REGS).dir).toBe(IOC_WRITE);
  });
  it("refuses fields that do not fit", () => {
    expect(() => iowr(0xae, 0x100, 8)).toThrow(/nr 256/);
    expect(() => iowr(0xae, 1, 1 << 14)).toThrow(/size 16384/);
  });
  it("names requests", () => {
    expect(ioctlName(0xae80)).toBe("KVM_RUN");
    expect(ioctlName(0x1234)).toBe("ioctl 0x1234");
  });
});

describe("struct layout engine", () => {
  it("aligns fields like C and pads the tail", () => {
    const s = defineStruct("t", [
      ["a", "u8"],
      ["b", "u64"],
      ["c", "u16"],
    ] as const);
    expect(s.offsetOf("b")).toBe(8);
    expect(s.offsetOf("c")).toBe(16);
    expect(s.size).toBe(24);
  });
  it("round-trips values and writes little-endian at the real offsets", () => {
    const bytes = kvmRegs.encode({ rax: 0x1122334455667788n, rip: 0xfff0n, rflags: 2n });
    expect(bytes.length).toBe(144);
    expect(bytes[0]).toBe(0x88);
    expect(new DataView(bytes.buffer).getBigUint64(128, true)).toBe(0xfff0n);
    const back = kvmRegs.decode(bytes);
    expect(back.rax).toBe(0x1122334455667788n);
    expect(back.rbx).toBe(0n);
    expect(back.rflags).toBe(2n);
  });
  it("handles nested structs and arrays of structs", () => {
    const sregs = kvmSregs.zero();
    sregs.cs.selector = 0x10;
    sregs.cs.l = 1;
    sregs.efer = 0x500n;
    const bytes = kvmSregs.encode(sregs);
    expect(bytes[kvmSregs.offsetOf("cs.selector")]).toBe(0x10);
    expect(kvmSregs.decode(bytes).cs.l).toBe(1);
    expect(kvmMsrFilter.offsetOf("ranges.1.base")).toBe(8 + 24 + 8);
    const f = kvmMsrFilter.decode(
      kvmMsrFilter.encode({ flags: 1, ranges: [{ flags: 1, nmsrs: 8, base: 0x10, bitmap: 0x10000n }] }),
    );
    expect(f.ranges.length).toBe(16);
    expect(f.ranges[0]!.nmsrs).toBe(8);
    expect(f.ranges[1]!.nmsrs).toBe(0);
  });
  it("names the field that does not fit", () => {
    expect(() => kvmRegs.encode({ rax: -1n })).toThrow(/kvm_regs.rax/);
    const t = defineStruct("t", [["v", arrayOf("u32", 2)]] as const);
    expect(() => t.encode({ v: [1, 2, 3] })).toThrow(/t.v has 3 > 2/);
    expect(() => t.encode({ v: [1, 2 ** 32] })).toThrow(/t.v\[1\]/);
    expect(() => t.decode(new Uint8Array(4))).toThrow(/needs 8 bytes/);
    expect(() => arrayOf("u8", 1.5)).toThrow(/1.5/);
    expect(() => structArrayOf(t, -1)).toThrow(/-1/);
  });
});
