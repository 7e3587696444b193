// KVM_EXIT_X86_RDMSR / _WRMSR decoded at the uapi offsets, checked and answered in place.
import { describe, expect, it } from "vitest";
import {
  decodeRunExit,
  describeExit,
  type MsrExit,
  TdxTestAssertionError,
  tdxTestAnswerMsr,
  tdxTestAssertMsr,
} from "../../src/index.js";
import { ioRun, msrRun } from "./kvm-run-fixture.js";

describe("user-space MSR exits", () => {
  it("decodes direction, msr.reason, index and the WRMSR value; describeExit names them", () => {
    const exit = decodeRunExit(msrRun(true, 0x1a0, 4, 0x1801n)) as MsrExit;
    expect({ ...exit, answer: undefined }).toEqual({
      kind: "msr",
      reason: 30,
      write: true,
      msrReason: 4,
      index: 0x1a0,
      data: 0x1801n,
      answer: undefined,
    });
    expect(describeExit(exit)).toBe("KVM_EXIT_X86_WRMSR (30) index 0x1a0, reason 4, data 0x1801");
    expect(describeExit(decodeRunExit(msrRun(false, 0x10, 1)))).toBe(
      "KVM_EXIT_X86_RDMSR (29) index 0x10, reason 1",
    );
  });

  it("tdxTestAnswerMsr writes msr.error (byte 32) and, for RDMSR, msr.data (byte 48) into kvm_run", () => {
    const run = msrRun(false, 0x1fc, 4);
    tdxTestAnswerMsr(tdxTestAssertMsr(decodeRunExit(run), 0x1fc, false), { data: 0x1122_3344_5566_7788n });
    const view = new DataView(run.buffer);
    expect([view.getUint8(32), view.getBigUint64(48, true)]).toEqual([0, 0x1122_3344_5566_7788n]);
    tdxTestAnswerMsr(decodeRunExit(run) as MsrExit, { error: true });
    expect(view.getUint8(32)).toBe(1);
    const write = decodeRunExit(msrRun(true, 0x1fc, 4, 6n)) as MsrExit;
    expect(() => tdxTestAnswerMsr(write, { data: 1n })).toThrow(
      "tdxTestAnswerMsr: a WRMSR exit takes no data, only error",
    );
  });

  it("tdxTestAssertMsr says what was expected and what the guest did", () => {
    expect(() => tdxTestAssertMsr(decodeRunExit(msrRun(false, 0x1a0, 4)), 0x1a0, true)).toThrow(
      "tdxTestAssertMsr: expected KVM_EXIT_X86_WRMSR (30) index 0x1a0; the guest exited with KVM_EXIT_X86_RDMSR (29) index 0x1a0, reason 4",
    );
    expect(() => tdxTestAssertMsr(decodeRunExit(ioRun(1, 4, 0x30, 0)), 0x1a0, true)).toThrow(
      TdxTestAssertionError,
    );
  });
});
