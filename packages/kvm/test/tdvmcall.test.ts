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

function expectExit(route: TdVmCallRoute) {
  if (route.kind !== "exit")
    throw new Error(
      `expected an exit, got ${JSON.stringify(route, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`,
    );
  return route;
}
const statusOf = (route: TdVmCallRoute) => (route.kind === "complete" ? route.result.r10 : undefined);

/** Run a forwarded call through real kvm_run bytes, as the vCPU layer will. */
function viaRun(route: TdVmCallRoute, userspace: (run: KvmRun) => void = () => {}, events = false) {
  const r = expectExit(route);
  const run = new KvmRun();
  encodeExit(run, r.exit);
  userspace(run);
  return completeTdVmCall(r.pending, run, events);
}

describe("Instruction.IO", () => {
  it("OUT exits with KVM_EXIT_IO and completes with SUCCESS", () => {
    const route = routeTdVmCall(call(30, { R12: 4n, R13: 1n, R14: 0x30n, R15: 0xdeadbeef_12345678n }), ctx);
    const exit = expectExit(route).exit;
    expect(exit).toEqual({
      kind: "io",
      direction: "out",
      size: 4,
      port: 0x30,
      count: 1,
      data: new Uint8Array([0x78, 0x56, 0x34, 0x12]),
    });
    expect(viaRun(route)).toEqual({ kind: "resume", result: { r10: 0n } });
  });
  it("IN returns the data userspace wrote at run + data_offset in R11", () => {
    const route = routeTdVmCall(call(30, { R12: 2n, R13: 0n, R14: 0x1_0060n }), ctx);
    expect(expectExit(route).exit).toMatchObject({ direction: "in", size: 2, port: 0x60 });
    const done = viaRun(route, (run) => {
      const io = decodeExit(run);
      if (io.kind !== "io") throw new Error("io");
      io.data.set([0xcd, 0xab]);
    });
    expect(done).toEqual({ kind: "resume", result: { r10: 0n, r11: 0xabcdn } });
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
      expect(statusOf(routeTdVmCall(call(30, { R12: size, R13: dir }), ctx))).toBe(
        TdVmCallStatus.INVALID_OPERAND,
      );
    }
  });
});

describe("#VE.RequestMMIO", () => {
  it("strips the shared bit and returns read data in R11", () => {
    const route = routeTdVmCall(call(48, { R12: 8n, R13: 0n, R14: S | 0xfee00000n }), ctx);
    expect(expectExit(route).exit).toMatchObject({
      kind: "mmio",
      physAddr: 0xfee00000n,
      isWrite: false,
      len: 8,
    });
    const done = viaRun(route, (run) => {
      new DataView(run.mmio.data.buffer, run.mmio.data.byteOffset).setBigUint64(0, 0x1122334455667788n, true);
    });
    expect(done).toEqual({ kind: "resume", result: { r10: 0n, r11: 0x1122334455667788n } });
  });
  it("writes carry R15's low bytes", () => {
    const route = routeTdVmCall(call(48, { R12: 2n, R13: 1n, R14: S | 0x1000n, R15: 0xbeefn }), ctx);
    expect(expectExit(route).exit).toMatchObject({ isWrite: true, data: new Uint8Array([0xef, 0xbe]) });
    expect(viaRun(route)).toEqual({ kind: "resume", result: { r10: 0n } });
  });
  it("private GPA, bad size or direction: INVALID_OPERAND", () => {
    expect(statusOf(routeTdVmCall(call(48, { R12: 4n, R13: 0n, R14: 0x1000n }), ctx))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
    expect(statusOf(routeTdVmCall(call(48, { R12: 3n, R13: 0n, R14: S }), ctx))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
    expect(statusOf(routeTdVmCall(call(48, { R12: 4n, R13: 5n, R14: S }), ctx))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
    // last byte crosses out of the shared half
    expect(statusOf(routeTdVmCall(call(48, { R12: 8n, R13: 0n, R14: (1n << 48n) - 4n }), ctx))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
  });
});

describe("MapGPA", () => {
  it("exits per 2 MiB chunk, and SUCCESS after the last", () => {
    const size = 5n * 1024n * 1024n; // 2 + 2 + 1 MiB
    let route = routeTdVmCall(call(0x10001, { R12: S | 0x100000n, R13: size }), ctx);
    const chunks: bigint[][] = [];
    for (;;) {
      const r = expectExit(route);
      if (r.exit.kind !== "hypercall") throw new Error("hypercall");
      chunks.push(r.exit.args.slice(0, 3));
      expect(r.exit.nr).toBe(12n);
      expect(r.exit.flags).toBe(1n);
      expect(r.exit.ret).toBe(0n);
      const next = viaRun(route);
      if (next.kind === "resume") {
        expect(next.result).toEqual({ r10: 0n });
        break;
      }
      route = next;
    }
    expect(chunks).toEqual([
      [0x100000n, 512n, 0n],
      [0x300000n, 512n, 0n],
      [0x500000n, 256n, 0n],
    ]);
  });
  it("to private sets ENCRYPTED; a failed chunk is INVALID_OPERAND with R11 = its GPA", () => {
    const route = routeTdVmCall(call(0x10001, { R12: 0x200000n, R13: 0x400000n }), ctx);
    const exit = expectExit(route).exit;
    expect(exit.kind === "hypercall" && exit.args[2]).toBe(0x10n);
    const done = viaRun(route, (run) => {
      run.hypercall.ret = 1n;
    });
    expect(done).toEqual({ kind: "resume", result: { r10: TdVmCallStatus.INVALID_OPERAND, r11: 0x200000n } });
  });
  it("a pending event turns the next chunk into RETRY with R11 = next GPA", () => {
    const route = routeTdVmCall(call(0x10001, { R12: 0x200000n, R13: 0x400000n }), ctx);
    expect(viaRun(route, () => {}, true)).toEqual({
      kind: "resume",
      result: { r10: TdVmCallStatus.RETRY, r11: 0x400000n },
    });
  });
  it("answers in the kernel when it cannot forward or the range is bad", () => {
    const gpa = S | 0x1000n;
    const r = (regs: Partial<Record<keyof typeof Gpr, bigint>>, c = ctx) =>
      routeTdVmCall(call(0x10001, regs), c);
    expect(r({ R12: gpa, R13: 0x1000n }, { ...ctx, hypercallExitEnabled: 0 })).toEqual({
      kind: "complete",
      result: { r10: TdVmCallStatus.SUBFUNC_UNSUPPORTED, r11: gpa },
    });
    expect(statusOf(r({ R12: gpa, R13: 0n }))).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(statusOf(r({ R12: S - 0x1000n, R13: 0x2000n }))).toBe(TdVmCallStatus.INVALID_OPERAND); // crosses the S-bit
    expect(statusOf(r({ R12: 1n << 48n, R13: 0x1000n }))).toBe(TdVmCallStatus.INVALID_OPERAND); // beyond MAXPHYADDR
    expect(statusOf(r({ R12: (1n << 64n) - 0x1000n, R13: 0x2000n }))).toBe(TdVmCallStatus.INVALID_OPERAND); // wraps
    expect(statusOf(r({ R12: gpa + 8n, R13: 0x1000n }))).toBe(TdVmCallStatus.ALIGN_ERROR);
    expect(statusOf(r({ R12: gpa, R13: 0x800n }))).toBe(TdVmCallStatus.ALIGN_ERROR);
  });
});

describe("KVM_EXIT_TDX leaves", () => {
  it("GetQuote: shared buffer only, ret preset SUBFUNC_UNSUPPORTED, R10 = ret on re-entry", () => {
    const route = routeTdVmCall(call(0x10002, { R12: S | 0x7000n, R13: 0x2000n }), ctx);
    expect(expectExit(route).exit).toMatchObject({
      kind: "tdx",
      call: "getQuote",
      gpa: 0x7000n,
      size: 0x2000n,
      ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
    });
    expect(viaRun(route)).toEqual({ kind: "resume", result: { r10: TdVmCallStatus.SUBFUNC_UNSUPPORTED } });
    expect(
      viaRun(route, (run) => {
        run.tdx.ret = 0n;
      }),
    ).toEqual({ kind: "resume", result: { r10: 0n } });
    expect(statusOf(routeTdVmCall(call(0x10002, { R12: 0x7000n }), ctx))).toBe(
      TdVmCallStatus.INVALID_OPERAND,
    );
  });
  it("SetupEventNotifyInterrupt: vectors 32..255", () => {
    const route = routeTdVmCall(call(0x10004, { R12: 0x40n }), ctx);
    expect(expectExit(route).exit).toMatchObject({ call: "setupEventNotify", vector: 0x40n });
    expect(statusOf(routeTdVmCall(call(0x10004, { R12: 31n }), ctx))).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(statusOf(routeTdVmCall(call(0x10004, { R12: 256n }), ctx))).toBe(TdVmCallStatus.INVALID_OPERAND);
  });
  it("GetTdVmCallInfo: leaf 0 in kernel, leaf 1 to userspace, others INVALID_OPERAND", () => {
    expect(routeTdVmCall(call(0x10000, { R12: 0n, R11: 0x10000n, R13: 5n }), ctx)).toEqual({
      kind: "complete",
      result: { r10: 0n, r11: 0n, r12: 0n, r13: 0n, r14: 0n },
    });
    const route = routeTdVmCall(call(0x10000, { R12: 1n }), ctx);
    expect(expectExit(route).exit).toMatchObject({ call: "getTdVmCallInfo", leaf: 1n, ret: 0n, r11: 0n });
    const done = viaRun(route, (run) => {
      run.tdx.data = [1n, 2n, 0n, 0n, 0n];
    });
    expect(done).toEqual({ kind: "resume", result: { r10: 0n, r11: 2n, r12: 0n, r13: 0n, r14: 0n } });
    expect(statusOf(routeTdVmCall(call(0x10000, { R12: 2n }), ctx))).toBe(TdVmCallStatus.INVALID_OPERAND);
  });
  it("ReportFatalError reports the 16 GPRs in KVM's order", () => {
    const route = routeTdVmCall(
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
      ctx,
    );
    const exit = expectExit(route).exit;
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
    expect(routeTdVmCall(call(10, { R12: 0x80000008n, R13: 0n }), ctx)).toEqual({
      kind: "kernel",
      call: { op: "cpuid", leaf: 0x80000008, subleaf: 0 },
    });
    expect(routeTdVmCall(call(12, { R12: 1n }), ctx)).toEqual({
      kind: "kernel",
      call: { op: "hlt", interruptBlocked: true },
    });
    expect(routeTdVmCall(call(31, { R12: (1n << 32n) | 0x1bn }), ctx)).toEqual({
      kind: "kernel",
      call: { op: "rdmsr", index: 0x1b },
    });
    expect(routeTdVmCall(call(32, { R12: 0x10n, R13: 5n }), ctx)).toEqual({
      kind: "kernel",
      call: { op: "wrmsr", index: 0x10, value: 5n },
    });
    expect(routeTdVmCall(GprFile.from({ R10: 11n, R11: 1n, R12: 2n, R13: 3n, R14: 4n }), ctx)).toEqual({
      kind: "kernel",
      call: { op: "vmcall", nr: 11n, args: [1n, 2n, 3n, 4n] },
    });
  });
  it("any other leaf is SUBFUNC_UNSUPPORTED (also leaves with high bits set)", () => {
    for (const leaf of [0n, 54n, 65n, 0x10005n, (1n << 32n) | 30n]) {
      expect(statusOf(routeTdVmCall(call(leaf), ctx))).toBe(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
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
  });
  it("completes user-space MSR exits", () => {
    const run = new KvmRun();
    encodeExit(run, { kind: "x86Rdmsr", reason: 4, index: 0x10, data: 0n, error: 0 });
    run.msr.data = 0x1234n;
    expect(completeTdMsrExit(true, run)).toEqual({ r10: 0n, r11: 0x1234n });
    run.msr.error = 1;
    expect(completeTdMsrExit(true, run)).toEqual({ r10: TdVmCallStatus.INVALID_OPERAND });
  });
  it("documents every leaf it routes", () => {
    expect(TDVMCALL_ROUTES.map((r) => r.leaf)).toEqual(
      expect.arrayContaining([10, 12, 30, 31, 32, 48, 0x10000, 0x10001, 0x10002, 0x10003, 0x10004]),
    );
  });
});
