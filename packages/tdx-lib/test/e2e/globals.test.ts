// Data globals shared between host and guest (sync_global_to_guest / sync_global_from_guest)
// end to end: synced before tdFinalize, read and written by the guest, refused after.
import { describe, expect, it } from "vitest";
import {
  bootTd,
  GuestProgram,
  littleEndian,
  syncGlobalFromGuest,
  syncGlobalToGuest,
  TdHostError,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestReadReport,
} from "../../src/index.js";
import { read64 } from "./boot-td.js";

describe("guest data globals end to end", () => {
  it("a value synced to the guest before tdFinalize is what the guest reads; after it the global is private", () => {
    const program = new GuestProgram()
      .global("test_value", { size: 8, init: 0x1111n })
      .global("test_flag", { size: 1 })
      .fn("guest_code", (f) => {
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("test_value")));
        f.storeGlobal("test_value", f.add(f.loadGlobal("test_value"), 1));
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("test_value")));
        f.call("tdx_test_report_to_user_space", f.loadGlobal("test_flag"));
        f.call("tdx_test_success");
      });
    let before: Uint8Array | undefined;
    const { td, image } = bootTd(program, {
      beforeFinalize: (t, img) => {
        before = syncGlobalFromGuest(t, img, "test_value");
        syncGlobalToGuest(t, img, "test_value", 0xfeed_f00d_0000_0001n);
        syncGlobalToGuest(t, img, "test_flag", 0xa5);
      },
    });
    expect(littleEndian(before!)).toBe(0x1111n); // the builder's initial value
    expect(read64(td)).toBe(0xfeed_f00d_0000_0001n);
    expect(read64(td)).toBe(0xfeed_f00d_0000_0002n);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0xa5);
    tdxTestAssertSuccess(tdxRun(td));
    expect(() => syncGlobalFromGuest(td, image, "test_value")).toThrow(
      /sync_global_from_guest: global "test_value" .* is private memory of a finalized TD/,
    );
    expect(() => syncGlobalToGuest(td, image, "test_value", 1)).toThrow(TdHostError);
  });
});
