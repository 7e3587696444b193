import { describe, expect, it } from "vitest";
import {
  decodeExit,
  encodeExit,
  KVM_VCPU_MMAP_SIZE,
  KvmExit,
  KvmRun,
  KvmSystemEvent,
  TdVmCallLeaf,
  TdVmCallStatus,
  type VcpuExit,
} from "../src/index.js";

const u32 = (run: KvmRun, at: number) => new DataView(run.bytes.buffer).getUint32(at, true);
const u64 = (run: KvmRun, at: number) => new DataView(run.bytes.buffer).getBigUint64(at, true);

describe("KvmRun", () => {
  it("is the 3-page vCPU mapping and reads/writes header fields at their offsets", () => {
    const run = new KvmRun();
    expect(run.bytes.length).toBe(KVM_VCPU_MMAP_SIZE);
    expect(KVM_VCPU_MMAP_SIZE).toBe(12288);
    run.immediateExit = 1;
    run.exitReason = KvmExit.MMIO;
    run.cr8 = 0xfn;
    run.apicBase = 0xfee00900n;
    expect(run.bytes[1]).toBe(1);
    expect(u32(run, 8)).toBe(6);
    expect(u64(run, 16)).toBe(0xfn);
    expect(u64(run, 24)).toBe(0xfee00900n);
    expect(() => new KvmRun(new Uint8Array(4096))).toThrow(/12288/);
  });
  it("puts the IO exit and its data where a C VMM looks", () => {
    const run = new KvmRun();
    encodeExit(run, {
      kind: "io",
      direction: "out",
      size: 4,
      port: 0x30,
      count: 1,
      data: new Uint8Array([1, 2, 3, 4]),
    });
    expect(u32(run, 8)).toBe(KvmExit.IO);
    expect(run.bytes[32]).toBe(1); // direction OUT
    expect(run.bytes[33]).toBe(4); // size
    expect(new DataView(run.bytes.buffer).getUint16(34, true)).toBe(0x30);
    expect(u32(run, 36)).toBe(1);
    expect(u64(run, 40)).toBe(4096n);
    expect([...run.bytes.subarray(4096, 4100)]).toEqual([1, 2, 3, 4]);
  });
  it("gives live views for IN and MMIO-read data", () => {
    const run = new KvmRun();
    encodeExit(run, {
      kind: "io",
      direction: "in",
      size: 2,
      port: 0x1000,
      count: 1,
      data: new Uint8Array(2),
    });
    const exit = decodeExit(run);
    if (exit.kind !== "io") throw new Error("expected io");
    exit.data.set([0x34, 0x12]);
    expect(new DataView(run.bytes.buffer).getUint16(4096, true)).toBe(0x1234);

    encodeExit(run, { kind: "mmio", physAddr: 0xfee00000n, isWrite: false, len: 4, data: new Uint8Array(4) });
    const m = decodeExit(run);
    if (m.kind !== "mmio") throw new Error("expected mmio");
    m.data.set([0xef, 0xbe, 0xad, 0xde]);
    expect(u32(run, 40)).toBe(0xdeadbeef);
    expect(u32(run, 48)).toBe(4); // len
  });
  it("round-trips every exit kind through the bytes", () => {
    const exits: VcpuExit[] = [
      { kind: "unknown", hardwareExitReason: 0xe0000091n },
      { kind: "exception", exception: 14, errorCode: 0 },
      { kind: "hypercall", nr: 12n, args: [0x1000n, 512n, 0x10n, 0n, 0n, 0n], ret: 0n, flags: 1n },
      { kind: "debug" },
      { kind: "hlt" },
      { kind: "irqWindowOpen" },
      { kind: "shutdown" },
      { kind: "failEntry", hardwareEntryFailureReason: 0x80000021n, cpu: 3 },
      { kind: "intr" },
      { kind: "internalError", suberror: 4, data: [0x8000000000000000n, 2n] },
      {
        kind: "systemEvent",
        type: KvmSystemEvent.TDX_FATAL,
        data: Array.from({ length: 16 }, (_, i) => BigInt(i)),
      },
      { kind: "x86Rdmsr", reason: 4, index: 0xc0010000, data: 0n, error: 0 },
      { kind: "x86Wrmsr", reason: 4, index: 0x10, data: 0xffffffffffffffffn, error: 1 },
      { kind: "memoryFault", flags: 8n, gpa: 0x1_0000_0000n, size: 4096n },
      {
        kind: "tdx",
        call: "getQuote",
        nr: BigInt(TdVmCallLeaf.GET_QUOTE),
        flags: 0n,
        ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
        gpa: 0x7000n,
        size: 0x2000n,
      },
      {
        kind: "tdx",
        call: "getTdVmCallInfo",
        nr: BigInt(TdVmCallLeaf.GET_TD_VM_CALL_INFO),
        flags: 0n,
        ret: 0n,
        leaf: 1n,
        r11: 0n,
        r12: 0n,
        r13: 0n,
        r14: 0n,
      },
      {
        kind: "tdx",
        call: "setupEventNotify",
        nr: BigInt(TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT),
        flags: 0n,
        ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
        vector: 0x40n,
      },
      { kind: "tdx", call: "unknown", nr: 0x10009n, flags: 0n, ret: 5n, data: [1n, 2n, 3n, 4n, 5n] },
      { kind: "other", exitReason: KvmExit.NOTIFY },
    ];
    const run = new KvmRun();
    for (const exit of exits) {
      encodeExit(run, exit);
      expect(decodeExit(run)).toEqual(exit);
    }
  });
  it("lays out the TDX and system-event members at their offsets", () => {
    const run = new KvmRun();
    encodeExit(run, {
      kind: "tdx",
      call: "getQuote",
      nr: 0x10002n,
      flags: 0n,
      ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
      gpa: 0x7000n,
      size: 0x2000n,
    });
    expect(u32(run, 8)).toBe(40);
    expect(u64(run, 40)).toBe(0x10002n);
    expect(u64(run, 48)).toBe(0x8000000000000003n);
    expect(u64(run, 56)).toBe(0x7000n);
    expect(u64(run, 64)).toBe(0x2000n);
    encodeExit(run, { kind: "systemEvent", type: 7, data: [0n, 0xfc00n] });
    expect(u32(run, 32)).toBe(7);
    expect(u32(run, 36)).toBe(2);
    expect(u64(run, 48)).toBe(0xfc00n);
    expect(u64(run, 56)).toBe(0n); // the union was cleared
  });
  it("refuses what does not fit", () => {
    const run = new KvmRun();
    expect(() =>
      encodeExit(run, { kind: "mmio", physAddr: 0n, isWrite: true, len: 9, data: new Uint8Array(9) }),
    ).toThrow(/mmio.len 9/);
    expect(() =>
      encodeExit(run, { kind: "internalError", suberror: 1, data: new Array(17).fill(0n) }),
    ).toThrow(/at most 16/);
    run.exitReason = KvmExit.IO;
    run.io.dataOffset = 12280;
    run.io.size = 4;
    run.io.count = 4;
    expect(() => decodeExit(run)).toThrow(/outside the vCPU mapping/);
  });
});
