import { describe, expect, it } from "vitest";
import {
  decodeRunExit,
  decodeTdxFatalError,
  describeExit,
  exitReasonName,
  KvmRunLayoutError,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_SUCCESS_PORT,
  TdxTestAssertionError,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestCheckGuestFailure,
  tdxTestJoin64bit,
  tdxTestReadReport,
  tdxTestSetIoInData,
} from "../../src/index.js";
import { fatalRun, ioRun, mmioRun, otherRun, systemEventRun } from "./kvm-run-fixture.js";

const OUT = 1;
const IN = 0;
const GUEST_ERROR = 0x0baa_aaad_0000_0000n;

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

describe("decodeRunExit reads kvm_run at the uapi offsets", () => {
  it("KVM_EXIT_IO: direction, size, port, count, data at run + data_offset", () => {
    const exit = decodeRunExit(ioRun(OUT, 2, 0x51, 0xabcd));
    expect(exit).toMatchObject({
      kind: "io",
      reason: 2,
      direction: OUT,
      size: 2,
      port: 0x51,
      count: 1,
      dataOffset: 4096,
    });
    expect(exit.kind === "io" && [...exit.data]).toEqual([0xcd, 0xab]);
  });

  it("KVM_EXIT_MMIO, KVM_EXIT_SYSTEM_EVENT, and other reasons", () => {
    expect(decodeRunExit(mmioRun(0x2_0000_0000n, 8, true, 0x1234n))).toMatchObject({
      kind: "mmio",
      physAddr: 0x2_0000_0000n,
      len: 8,
      isWrite: true,
    });
    expect(decodeRunExit(systemEventRun(1, [5n]))).toEqual({
      kind: "system_event",
      reason: 24,
      type: 1,
      ndata: 1,
      data: [5n],
    });
    expect(decodeRunExit(otherRun(8))).toEqual({ kind: "other", reason: 8 });
  });

  it("refuses a data_offset outside the mapping and ndata beyond 16", () => {
    const run = ioRun(OUT, 4, 0x30, 0);
    new DataView(run.buffer).setBigUint64(40, 8190n, true);
    expect(() => decodeRunExit(run)).toThrow(KvmRunLayoutError);
    expect(() => decodeRunExit(run)).toThrow(/kvm_run.io.data_offset: 0x1ffe \+ 1 × 4 bytes lies outside/);
    const event = systemEventRun(7, []);
    new DataView(event.buffer).setUint32(36, 17, true);
    expect(() => decodeRunExit(event)).toThrow(/ndata: 17 exceeds the 16 data slots/);
    expect(() => decodeRunExit(new Uint8Array(16))).toThrow(/too short/);
  });

  it("names exit reasons like exit_reason_str", () => {
    expect(exitReasonName(2)).toBe("KVM_EXIT_IO (2)");
    expect(exitReasonName(24)).toBe("KVM_EXIT_SYSTEM_EVENT (24)");
    expect(exitReasonName(39)).toBe("KVM_EXIT_MEMORY_FAULT (39)");
    expect(exitReasonName(40)).toBe("KVM_EXIT_TDX (40)");
    expect(exitReasonName(99)).toBe("unknown exit reason 99");
  });
});

describe("TDX_TEST_ASSERT_SUCCESS / _IO / _MMIO", () => {
  it("accepts tdx_test_success()'s exit", () => {
    expect(tdxTestAssertSuccess(decodeRunExit(ioRun(OUT, 4, TDX_TEST_SUCCESS_PORT, 0))).port).toBe(0x30);
  });

  it("says what was expected and what the guest did instead", () => {
    const error = thrown(() => tdxTestAssertSuccess(decodeRunExit(ioRun(OUT, 4, 0x31, 7))));
    expect(error).toBeInstanceOf(TdxTestAssertionError);
    expect(error.message).toBe(
      "TDX_TEST_ASSERT_SUCCESS: expected tdx_test_success(): KVM_EXIT_IO (2) port 0x30, size 4, direction OUT (1); " +
        "the guest exited with KVM_EXIT_IO (2) port 0x31, size 4, direction OUT (1), data 0x00000007",
    );
  });

  it("a guest that reported a fatal error instead is named with its error code", () => {
    const error = thrown(() => tdxTestAssertSuccess(decodeRunExit(fatalRun(GUEST_ERROR))));
    expect(error.message).toContain(
      "the guest exited with KVM_EXIT_SYSTEM_EVENT (24) type TDX_FATAL (7), ndata 16",
    );
    expect(error.message).toContain(
      `Guest reported error. error code: ${GUEST_ERROR} (0x0baaaaad00000000), data 0x0`,
    );
  });

  it("checks port, size and direction each", () => {
    const exit = decodeRunExit(ioRun(IN, 1, 0x50, 0));
    expect(tdxTestAssertIo(exit, 0x50, 1, IN).port).toBe(0x50);
    expect(() => tdxTestAssertIo(exit, 0x50, 1, OUT)).toThrow(
      /direction OUT \(1\); the guest exited with .* direction IN \(0\)$/,
    );
    expect(() => tdxTestAssertIo(exit, 0x50, 2, IN)).toThrow(/size 2, direction IN/);
    expect(() => tdxTestAssertIo(exit, 0x51, 1, IN)).toThrow(/port 0x51/);
    expect(() => tdxTestAssertIo(decodeRunExit(otherRun(8)), 0x50, 1, IN)).toThrow(
      /the guest exited with KVM_EXIT_SHUTDOWN \(8\)$/,
    );
  });

  it("MMIO: address, length and direction", () => {
    const exit = decodeRunExit(mmioRun(0x2_0000_0000n, 4, false));
    expect(tdxTestAssertMmio(exit, 0x2_0000_0000, 4, false).len).toBe(4);
    expect(() => tdxTestAssertMmio(exit, 0x2_0000_0000, 4, true)).toThrow(
      "TDX_TEST_ASSERT_MMIO: expected KVM_EXIT_MMIO (6) phys_addr 0x200000000, len 4, is_write 1; " +
        "the guest exited with KVM_EXIT_MMIO (6) phys_addr 0x200000000, len 4, is_write 0",
    );
  });
});

describe("ReportFatalError as mainline KVM delivers it (SYSTEM_EVENT TDX_FATAL, ndata 16)", () => {
  it("decodes error code (R12), data (R13), mask (RCX) and the GHCI fields", () => {
    const fatal = decodeTdxFatalError(decodeRunExit(fatalRun(GUEST_ERROR | (1n << 63n), 0x8000_1000n)))!;
    expect(fatal.errorCode).toBe(0x8baa_aaad_0000_0000n);
    expect(fatal.errorCodeLow).toBe(0);
    expect(fatal.extendedErrorCode).toBe(0x0baa_aaad);
    expect(fatal.gpaValid).toBe(true);
    expect(fatal.data).toBe(0x8000_1000n);
    expect(fatal.registerMask).toBe(0xfc00n);
    expect(fatal.message).toBe("");
    expect(decodeTdxFatalError(decodeRunExit(ioRun(OUT, 4, 0x30, 0)))).toBeUndefined();
  });

  it("reads the message from the exposed registers in R14, R15, RBX, RDI, ... order", () => {
    const ascii = (text: string) => [...text].reduceRight((v, c) => (v << 8n) | BigInt(c.charCodeAt(0)), 0n);
    // RCX exposes R14, R15 and RDI but not RBX: RBX's bytes are skipped, not read.
    const exit = decodeRunExit(
      fatalRun(0n, 0n, {
        1: (1n << 14n) | (1n << 15n) | (1n << 7n),
        14: ascii("assertio"),
        15: ascii("n failed"),
        3: ascii("IGNORED!"),
        7: ascii(" line 7"),
      }),
    );
    expect(decodeTdxFatalError(exit)!.message).toBe("assertion failed line 7");
  });

  it("refuses a TDX_FATAL event without the 16 registers", () => {
    expect(() => decodeTdxFatalError(decodeRunExit(systemEventRun(7, [0x10003n, 1n, 0n])))).toThrow(
      /ndata is 3, KVM always sends the 16 GPRs/,
    );
  });

  it("tdxTestAssertFatal: verify_report_fatal_error's check", () => {
    tdxTestAssertFatal(decodeRunExit(fatalRun(GUEST_ERROR)), GUEST_ERROR);
    tdxTestAssertFatal(decodeRunExit(fatalRun(5n, 0x1234n)), 5n, 0x1234n);
    expect(() => tdxTestAssertFatal(decodeRunExit(fatalRun(GUEST_ERROR, 1n)), GUEST_ERROR)).toThrow(
      /expected .* error code 0x0baaaaad00000000, data 0x0; the guest exited with .* data 0x1$/,
    );
    expect(() => tdxTestAssertFatal(decodeRunExit(ioRun(OUT, 4, 0x30, 0)), GUEST_ERROR)).toThrow(
      /the guest exited with KVM_EXIT_IO \(2\) port 0x30/,
    );
  });

  it("TDX_TEST_CHECK_GUEST_FAILURE fails on any system event, passes otherwise", () => {
    tdxTestCheckGuestFailure(decodeRunExit(ioRun(OUT, 4, 0x31, 1)));
    expect(() => tdxTestCheckGuestFailure(decodeRunExit(fatalRun(0x8000_0000_0000_0000n)))).toThrow(
      /^TDX_TEST_CHECK_GUEST_FAILURE: expected no guest failure; the guest exited with KVM_EXIT_SYSTEM_EVENT \(24\) type TDX_FATAL \(7\), ndata 16, data \[.*\] — Guest reported error. error code: 9223372036854775808 \(0x8000000000000000\), data 0x0 \(GPA valid\)$/,
    );
    expect(() => tdxTestCheckGuestFailure(decodeRunExit(systemEventRun(1, [])))).toThrow(
      /type SHUTDOWN \(1\)/,
    );
  });
});

describe("reports to user space", () => {
  it("reads a 32-bit report and joins two halves, low first", () => {
    const low = tdxTestReadReport(decodeRunExit(ioRun(OUT, 4, TDX_TEST_REPORT_PORT, 0x89ab_cdef)));
    const high = tdxTestReadReport(decodeRunExit(ioRun(OUT, 4, TDX_TEST_REPORT_PORT, 0x0123_4567)));
    expect(low).toBe(0x89ab_cdef);
    expect(tdxTestJoin64bit(low, high)).toBe(0x0123_4567_89ab_cdefn);
    expect(() => tdxTestJoin64bit(2 ** 32, 0)).toThrow(/low half 4294967296 is not a 32-bit value/);
  });

  it("a report on another port, or of another size, is refused", () => {
    expect(() => tdxTestReadReport(decodeRunExit(ioRun(OUT, 4, 0x30, 0)))).toThrow(
      /expected KVM_EXIT_IO \(2\) port 0x31/,
    );
    expect(() => tdxTestReadReport(decodeRunExit(ioRun(OUT, 2, 0x31, 0)))).toThrow(/size 4/);
    expect(tdxTestReadReport(decodeRunExit(ioRun(OUT, 4, 0x87, 42)), 0x87)).toBe(42);
  });

  it("answers an IN exit in the PIO data area", () => {
    const run = ioRun(IN, 2, 0x52, 0);
    const exit = decodeRunExit(run);
    if (exit.kind !== "io") throw new Error("not io");
    tdxTestSetIoInData(exit, 0xabcd);
    expect([run[4096], run[4097]]).toEqual([0xcd, 0xab]);
    expect(() => tdxTestSetIoInData(exit, 0x1_0000)).toThrow(/65536 does not fit in 2 byte/);
    const out = decodeRunExit(ioRun(OUT, 1, 0x50, 0));
    if (out.kind !== "io") throw new Error("not io");
    expect(() => tdxTestSetIoInData(out, 1)).toThrow(/expected an IN exit to answer/);
  });

  it("describes exits for logs", () => {
    expect(describeExit(decodeRunExit(ioRun(IN, 4, 0x52, 0)))).toBe(
      "KVM_EXIT_IO (2) port 0x52, size 4, direction IN (0)",
    );
  });
});
