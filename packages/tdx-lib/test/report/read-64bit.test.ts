import { describe, expect, it } from "vitest";
import { decodeRunExit, tdxTestRead64bit, tdxTestRead64bitReportFromGuest } from "../../src/index.js";
import { ioRun, overwriteWithIo } from "./kvm-run-fixture.js";

describe("tdx_test_read_64bit", () => {
  it("reads the low half before re-entering, then the high half from the same mapping", () => {
    const run = ioRun(1, 4, 0x31, 0x89ab_cdef);
    let runs = 0;
    const value = tdxTestRead64bitReportFromGuest(decodeRunExit(run), () => {
      runs++;
      overwriteWithIo(run, 0x31, 0x0123_4567); // the next exit reuses the PIO data area
      return decodeRunExit(run);
    });
    expect(value).toBe(0x0123_4567_89ab_cdefn);
    expect(runs).toBe(1);
  });

  it("fails on the first half without re-entering, and on a second half from another port", () => {
    let runs = 0;
    expect(() =>
      tdxTestRead64bit(decodeRunExit(ioRun(1, 4, 0x30, 0)), 0x31, () => {
        runs++;
        return decodeRunExit(ioRun(1, 4, 0x31, 0));
      }),
    ).toThrow(
      /expected KVM_EXIT_IO \(2\) port 0x31, size 4, direction OUT \(1\); the guest exited with .* port 0x30/,
    );
    expect(runs).toBe(0);
    expect(() =>
      tdxTestRead64bit(decodeRunExit(ioRun(1, 4, 0x87, 1)), 0x87, () => decodeRunExit(ioRun(1, 4, 0x30, 0))),
    ).toThrow(/port 0x87.*the guest exited with KVM_EXIT_IO \(2\) port 0x30/);
  });
});
