// TDVMCALL routing and completion, spec/kvm-api.md §4 row by row.
import { describe, expect, it } from "vitest";
import {
  applyTdVmCallResult,
  completeTdMsrExit,
  completeTdVmCall,
  cpuidResult,
  decodeExit,
  encodeExit,
  Gpr,
  GprFile,
  KvmRun,
  routeTdVmCall,
  TDVMCALL_ROUTES,
  type TdVmCallContext,
  type TdVmCallRoute,
  TdVmCallStatus,
  tdxSharedBit,
} from "../src/index.js";

const ctx: TdVmCallContext = {
  sharedBit: 47,
  maxPhysAddr: 48,
  hypercallExitEnabled: 1 << 12,
  vpEnterRet: 77n,
};
const S = 1n << 47n;

const call = (leaf: number | bigint, regs: Partial<Record<keyof typeof Gpr, bigint>> = {}) =>
  GprFile.from({ R10: 0n, R11: BigInt(leaf), ...regs });

/** One TDVMCALL through real kvm_run bytes, as the vCPU layer will do it. */
class Td {
  readonly run = new KvmRun();
  readonly gprs: GprFile;
  route: TdVmCallRoute;
  constructor(gprs: GprFile, c: TdVmCallContext = ctx) {
    this.gprs = gprs;
    this.route = routeTdVmCall(gprs, c, this.run);
  }
  get exit() {
    if (this.route.kind !== "exit") throw new Error(`expected an exit, got ${this.route.kind}`);
    return decodeExit(this.run);
  }
  get status() {
    return this.route.kind === "complete" ? this.route.result.r10 : undefined;
  }
  /** userspace acts on run, then KVM_RUN completes; returns the guest's R10/R11, or "exit" for another exit */
  complete(userspace: (run: KvmRun) => void = () => {}, events = false) {
    if (this.route.kind !== "exit") throw new Error("no exit to complete");
    userspace(this.run);
    const more = completeTdVmCall(this.route.pending, this.run, this.gprs, events);
    if (more) {
      this.route = { kind: "exit", pending: more };
      return "exit" as const;
    }
    return { r10: this.gprs.get(Gpr.R10), r11: this.gprs.get(Gpr.R11) };
  }
}
const statusOf = (regs: GprFile, c: TdVmCallContext = ctx) => new Td(regs, c).status;

describe("Instruction.IO", () => {
  it("OUT exits with KVM_EXIT_IO and completes with SUCCESS", () => {
    const td = new Td(call(30, { R12: 4n, R13: 1n, R14: 0x30n, R15: 0xdeadbeef_12345678n, R11: 30n }));
    expect(td.exit).toEqual({
      kind: "io",
      direction: "out",
      size: 4,
      port: 0x30,
      count: 1,
      data: new Uint8Array([0x78, 0x56, 0x34, 0x12]),
    });
    td.gprs.set(Gpr.R10, 5n); // whatever was there
    expect(td.complete()).toEqual({ r10: 0n, r11: 30n });
  });
  it("IN returns the data userspace wrote at run + data_offset in R11", () => {
    const td = new Td(call(30, { R12: 2n, R13: 0n, R14: 0x1_0060n }));
    expect(td.exit).toMatchObject({ direction: "in", size: 2, port: 0x60 });
    const done = td.complete((run) => {
      const io = decodeExit(run);
      if (io.kind !== "io") throw new Error("io");
      io.data.set([0xcd, 0xab]);
    });
    expect(done).toEqual({ r10: 0n, r11: 0xabcdn });
  });
  it("bad size or direction is INVALID_OPERAND without an exit", () => {
    for (const [size, dir] of [
      [3n, 0n],
      [8n, 1n],
      [0n, 0n],
      [1n, 2n],
      [1n, 1n << 32n],
      [(1n << 32n) | 1n, 0n],
    ]) {
      expect(statusOf(call(30, { R12: size, R13: dir }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    }
  });
});

describe("#VE.RequestMMIO", () => {
  it("strips the shared bit and returns read data in R11", () => {
    const td = new Td(call(48, { R12: 8n, R13: 0n, R14: S | 0xfee00000n }));
    expect(td.exit).toMatchObject({ kind: "mmio", physAddr: 0xfee00000n, isWrite: false, len: 8 });
    const done = td.complete((run) => {
      new DataView(run.mmio.data.buffer, run.mmio.data.byteOffset).setBigUint64(0, 0x1122334455667788n, true);
    });
    expect(done).toEqual({ r10: 0n, r11: 0x1122334455667788n });
  });
  it("writes carry R15's low bytes; 8-byte writes carry all of it", () => {
    const td = new Td(call(48, { R12: 2n, R13: 1n, R14: S | 0x1000n, R15: 0xbeefn }));
    expect(td.exit).toMatchObject({ isWrite: true, data: new Uint8Array([0xef, 0xbe]) });
    expect(td.complete()).toMatchObject({ r10: 0n });
    const td8 = new Td(call(48, { R12: 8n, R13: 1n, R14: S | 0x1000n, R15: 0x0102030405060708n }));
    expect(td8.exit).toMatchObject({ data: new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]) });
  });
  it("private GPA, bad size or direction: INVALID_OPERAND", () => {
    expect(statusOf(call(48, { R12: 4n, R13: 0n, R14: 0x1000n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(statusOf(call(48, { R12: 3n, R13: 0n, R14: S }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(statusOf(call(48, { R12: 4n, R13: 5n, R14: S }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    // last byte crosses out of the shared half
    expect(statusOf(call(48, { R12: 8n, R13: 0n, R14: (1n << 48n) - 4n }))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
  });
  it("an access crossing a 4 KiB page exits like any other (mainline 6.16 tdx_emulate_mmio has no such check)", () => {
    for (const [offset, size] of [
      [0xfffn, 8n],
      [0xfffn, 2n],
      [0xffdn, 4n],
      [0xff8n, 8n],
    ] as const) {
      for (const dir of [0n, 1n]) {
        const td = new Td(call(48, { R12: size, R13: dir, R14: S | 0x2000n | offset }));
        expect(td.exit).toMatchObject({ kind: "mmio", physAddr: 0x2000n | offset, len: Number(size) });
      }
    }
  });
});

describe("MapGPA", () => {
  it("exits per 2 MiB chunk, and SUCCESS after the last", () => {
    const size = 5n * 1024n * 1024n; // 2 + 2 + 1 MiB
    const td = new Td(call(0x10001, { R12: S | 0x100000n, R13: size }));
    const chunks: bigint[][] = [];
    for (;;) {
      const exit = td.exit;
      if (exit.kind !== "hypercall") throw new Error("hypercall");
      chunks.push(exit.args.slice(0, 3));
      expect(exit.nr).toBe(12n);
      expect(exit.flags).toBe(1n);
      expect(exit.ret).toBe(0n);
      const next = td.complete();
      if (next !== "exit") {
        expect(next.r10).toBe(0n);
        break;
      }
    }
    expect(chunks).toEqual([
      [0x100000n, 512n, 0n],
      [0x300000n, 512n, 0n],
      [0x500000n, 256n, 0n],
    ]);
  });
  it("to private sets ENCRYPTED; a failed chunk is INVALID_OPERAND with R11 = its GPA", () => {
    const td = new Td(call(0x10001, { R12: 0x200000n, R13: 0x400000n }));
    const exit = td.exit;
    expect(exit.kind === "hypercall" && exit.args[2]).toBe(0x10n);
    const done = td.complete((run) => {
      run.hypercall.ret = 1n;
    });
    expect(done).toEqual({ r10: TdVmCallStatus.INVALID_OPERAND, r11: 0x200000n });
  });
  it("a pending event turns the next chunk into RETRY with R11 = next GPA", () => {
    const td = new Td(call(0x10001, { R12: 0x200000n, R13: 0x400000n }));
    expect(td.complete(() => {}, true)).toEqual({ r10: TdVmCallStatus.RETRY, r11: 0x400000n });
  });
  it("answers in the kernel when it cannot forward or the range is bad", () => {
    const gpa = S | 0x1000n;
    const r = (regs: Partial<Record<keyof typeof Gpr, bigint>>, c = ctx) => new Td(call(0x10001, regs), c);
    expect(r({ R12: gpa, R13: 0x1000n }, { ...ctx, hypercallExitEnabled: 0 }).route).toEqual({
      kind: "complete",
      result: { r10: TdVmCallStatus.SUBFUNC_UNSUPPORTED, r11: gpa },
    });
    expect(r({ R12: gpa, R13: 0n }).status).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(r({ R12: S - 0x1000n, R13: 0x2000n }).status).toBe(TdVmCallStatus.INVALID_OPERAND); // crosses the S-bit
    expect(r({ R12: 1n << 48n, R13: 0x1000n }).status).toBe(TdVmCallStatus.INVALID_OPERAND); // beyond MAXPHYADDR
    expect(r({ R12: (1n << 64n) - 0x1000n, R13: 0x2000n }).status).toBe(TdVmCallStatus.INVALID_OPERAND); // wraps
    expect(r({ R12: gpa + 8n, R13: 0x1000n }).status).toBe(TdVmCallStatus.ALIGN_ERROR);
    expect(r({ R12: gpa, R13: 0x800n }).status).toBe(TdVmCallStatus.ALIGN_ERROR);
  });
});

describe("KVM_EXIT_TDX leaves", () => {
  it("GetQuote: shared buffer only, ret preset SUBFUNC_UNSUPPORTED, R10 = ret on re-entry", () => {
    const td = new Td(call(0x10002, { R12: S | 0x7000n, R13: 0x2000n }));
    expect(td.exit).toMatchObject({
      kind: "tdx",
      call: "getQuote",
      gpa: 0x7000n,
      size: 0x2000n,
      ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
    });
    expect(td.complete()).toMatchObject({ r10: TdVmCallStatus.SUBFUNC_UNSUPPORTED });
    const td2 = new Td(call(0x10002, { R12: S | 0x7000n, R13: 0x2000n }));
    expect(
      td2.complete((run) => {
        run.tdx.ret = 0n;
      }),
    ).toMatchObject({ r10: 0n });
    expect(statusOf(call(0x10002, { R12: 0x7000n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
  });
  it("SetupEventNotifyInterrupt: vectors 32..255", () => {
    expect(new Td(call(0x10004, { R12: 0x40n })).exit).toMatchObject({
      call: "setupEventNotify",
      vector: 0x40n,
    });
    expect(statusOf(call(0x10004, { R12: 31n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(statusOf(call(0x10004, { R12: 256n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
  });
  it("GetTdVmCallInfo: leaf 0 in kernel, leaf 1 to userspace, others INVALID_OPERAND", () => {
    expect(new Td(call(0x10000, { R12: 0n, R13: 5n })).route).toEqual({
      kind: "complete",
      result: { r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n },
    });
    const td = new Td(call(0x10000, { R12: 1n }));
    expect(td.exit).toMatchObject({ call: "getTdVmCallInfo", leaf: 1n, ret: 0n, r11: 0n });
    const done = td.complete((run) => {
      run.tdx.data = [1n, 2n, 0n, 0n, 0n];
    });
    expect(done).toEqual({ r10: 0n, r11: 2n });
    expect(td.gprs.get(Gpr.R12)).toBe(0n);
    expect(statusOf(call(0x10000, { R12: 2n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
  });
  it("ReportFatalError reports the 16 GPRs in KVM's order", () => {
    const exit = new Td(
      call(0x10003, {
        RCX: 0xfc00n,
        RDX: 3n,
        RBX: 4n,
        RSI: 6n,
        RDI: 7n,
        R8: 8n,
        R12: 0x8000000000001234n,
        R13: 0x5000n,
        R15: 15n,
      }),
    ).exit;
    if (exit.kind !== "systemEvent") throw new Error("systemEvent");
    expect(exit.type).toBe(7);
    expect(exit.data.length).toBe(16);
    expect(exit.data[0]).toBe(77n);
    expect(exit.data[1]).toBe(0xfc00n);
    expect(exit.data.slice(2, 8)).toEqual([3n, 4n, 0n, 0n, 6n, 7n]);
    expect(exit.data[12]).toBe(0x8000000000001234n);
    expect(exit.data[13]).toBe(0x5000n);
    expect(exit.data[15]).toBe(15n);
  });
});

describe("in-kernel leaves and the rest", () => {
  it("hands CPUID, HLT, RDMSR, WRMSR and KVM hypercalls to the vCPU layer", () => {
    expect(new Td(call(10, { R12: 0x80000008n, R13: 0n })).route).toEqual({
      kind: "kernel",
      call: { op: "cpuid", leaf: 0x80000008, subleaf: 0 },
    });
    expect(new Td(call(12, { R12: 1n })).route).toEqual({
      kind: "kernel",
      call: { op: "hlt", interruptBlocked: true },
    });
    expect(new Td(call(31, { R12: (1n << 32n) | 0x1bn })).route).toEqual({
      kind: "kernel",
      call: { op: "rdmsr", index: 0x1b },
    });
    expect(new Td(call(32, { R12: 0x10n, R13: 5n })).route).toEqual({
      kind: "kernel",
      call: { op: "wrmsr", index: 0x10, value: 5n },
    });
    expect(new Td(GprFile.from({ R10: 11n, R11: 1n, R12: 2n, R13: 3n, R14: 4n })).route).toEqual({
      kind: "kernel",
      call: { op: "vmcall", nr: 11n, args: [1n, 2n, 3n, 4n] },
    });
  });
  it("any other leaf is SUBFUNC_UNSUPPORTED (also leaves with high bits set)", () => {
    for (const leaf of [0n, 54n, 65n, 0x10005n, (1n << 32n) | 30n]) {
      expect(statusOf(call(leaf))).toBe(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
    }
  });
  it("writes results into the guest registers", () => {
    const g = new GprFile();
    applyTdVmCallResult(g, cpuidResult(0xd, 0x756e6547, 0x6c65746e, 0x49656e69));
    expect(g.get(Gpr.R10)).toBe(0n);
    expect(g.get(Gpr.R12)).toBe(0xdn);
    expect(g.get(Gpr.R15)).toBe(0x49656e69n);
    applyTdVmCallResult(g, { r10: TdVmCallStatus.INVALID_OPERAND });
    expect(g.hi(Gpr.R10)).toBe(0x80000000);
    expect(g.get(Gpr.R12)).toBe(0xdn); // untouched
    g.set(Gpr.R9, -1n);
    expect(g.get(Gpr.R9)).toBe(0xffffffffffffffffn);
  });
  it("completes user-space MSR exits", () => {
    const run = new KvmRun();
    encodeExit(run, { kind: "x86Rdmsr", reason: 4, index: 0x10, data: 0n, error: 0 });
    run.msr.data = 0x1234n;
    expect(completeTdMsrExit(true, run)).toEqual({ r10: 0n, r11: 0x1234n });
    run.msr.error = 1;
    expect(completeTdMsrExit(true, run)).toEqual({ r10: TdVmCallStatus.INVALID_OPERAND });
  });
  it("derives the shared bit from the GPAW", () => {
    expect(tdxSharedBit(48)).toBe(47);
    expect(tdxSharedBit(52)).toBe(51);
    expect(() => tdxSharedBit(40 as 48)).toThrow(/GPAW 40/);
  });
  it("documents every leaf it routes", () => {
    expect(TDVMCALL_ROUTES.map((r) => r.leaf)).toEqual(
      expect.arrayContaining([10, 12, 30, 31, 32, 48, 0x10000, 0x10001, 0x10002, 0x10003, 0x10004]),
    );
  });
});
