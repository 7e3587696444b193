// TDG.MR.RTMR.EXTEND and TDG.MR.REPORT end to end through KVM_RUN: the guest extends RTMR[2],
// asks for a TDREPORT over its own REPORTDATA and reports fields of it; the buffers are data
// globals of the image (GVA = GPA, so their addresses are the GPAs the TDCALLs take).
import { createHash } from "node:crypto";
import { OperandId, TdxStatus } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { bootTd, GuestProgram, tdxRun, tdxTestAssertSuccess } from "../../src/index.js";
import { read64 } from "./boot-td.js";

/** TDREPORT_STRUCT offsets (TDX module ABI): REPORTMACSTRUCT.REPORTDATA, TDINFO.RTMR[0..3]. */
const REPORTDATA_OFFSET = 128;
const RTMR_OFFSET = 720;
const SHA384_BYTES = 48;

const REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => 0xa0 ^ i);
const EXTEND_DATA = Uint8Array.from({ length: SHA384_BYTES }, (_, i) => i * 3 + 1);

const words = (bytes: Uint8Array) =>
  Array.from({ length: bytes.length / 8 }, (_, i) =>
    new DataView(bytes.buffer, bytes.byteOffset + 8 * i, 8).getBigUint64(0, true),
  );

function measurementProgram(rtmrIndex: number): GuestProgram {
  return new GuestProgram()
    .global("tdreport", { size: 1024, align: 1024 })
    .global("reportdata", { size: 64, align: 64, init: REPORT_DATA })
    .global("extend_data", { size: SHA384_BYTES, align: 64, init: EXTEND_DATA })
    .fn("guest_code", (f) => {
      const report = f.symbol("tdreport");
      const extended = f.call("tdg_mr_rtmr_extend", f.symbol("extend_data"), rtmrIndex);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", extended));
      f.call("tdx_assert_error", f.call("tdg_mr_report", report, f.symbol("reportdata"), 0));
      for (let i = 0; i < 8; i++) {
        f.call("tdx_test_report_64bit_to_user_space", f.load(8, report, REPORTDATA_OFFSET + 8 * i));
      }
      for (let i = 0; i < 4 * 6; i++) {
        f.call("tdx_test_report_64bit_to_user_space", f.load(8, report, RTMR_OFFSET + 8 * i));
      }
      f.call("tdx_test_success");
    });
}

function runMeasurement(rtmrIndex: number) {
  const { td } = bootTd(measurementProgram(rtmrIndex));
  const extendStatus = read64(td);
  const reportData = Array.from({ length: 8 }, () => read64(td));
  const rtmr = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => read64(td)));
  tdxTestAssertSuccess(tdxRun(td));
  return { extendStatus, reportData, rtmr };
}

describe("TDG.MR.* leaves end to end", () => {
  it("tdg_mr_rtmr_extend(RTMR[2]) then tdg_mr_report: REPORTDATA is the guest's, RTMR[2] = SHA-384(0^48 || data)", () => {
    const { extendStatus, reportData, rtmr } = runMeasurement(2);
    expect(extendStatus).toBe(TdxStatus.TDX_SUCCESS);
    expect(reportData).toEqual(words(REPORT_DATA));
    const expected = createHash("sha384").update(new Uint8Array(SHA384_BYTES)).update(EXTEND_DATA).digest();
    expect(rtmr[2]).toEqual(words(new Uint8Array(expected)));
    for (const untouched of [0, 1, 3]) expect(rtmr[untouched]).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it("tdg_mr_rtmr_extend of RTMR index 4: TDX_OPERAND_INVALID (RDX), no RTMR changes", () => {
    const { extendStatus, rtmr } = runMeasurement(4);
    expect(extendStatus).toBe(TdxStatus.TDX_OPERAND_INVALID | BigInt(OperandId.RDX));
    expect(rtmr.flat().every((w) => w === 0n)).toBe(true);
  });
});
