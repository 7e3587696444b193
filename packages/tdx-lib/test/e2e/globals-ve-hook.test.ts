// Data globals shared between host and guest (sync_global_to_guest / _from_guest) and the
// host-installed #VE handler (vm_install_exception_handler's role: guest_ve_hook), end to end.
import { describe, expect, it } from "vitest";
import {
  EX_REGS,
  EXIT_REASON_IO_INSTRUCTION,
  GuestProgram,
  littleEndian,
  syncGlobalFromGuest,
  syncGlobalToGuest,
  TdHostError,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestReadReport,
  VE_INFO,
} from "../../src/index.js";
import { bootTd, read64 } from "./boot-td.js";

describe("guest data globals end to end", () => {
  it("a value synced to the guest before tdFinalize is what the guest reads; its store stays private", () => {
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
    // After finalize the global is private memory of the TD: both directions are refused.
    expect(() => syncGlobalFromGuest(td, image, "test_value")).toThrow(
      /sync_global_from_guest: global "test_value" .* is private memory of a finalized TD/,
    );
    expect(() => syncGlobalToGuest(td, image, "test_value", 1)).toThrow(TdHostError);
  });
});

describe("a host-installed #VE handler (guest_ve_hook)", () => {
  it("owns the #VE: reads VE info itself, skips the OUT by instr_len, counts in a global; no IO exit reaches KVM", () => {
    const program = new GuestProgram()
      .global("hook_calls", { size: 8 })
      .fn("test_ve_handler", { params: 1 }, (f, regs) => {
        const ve = f.array(VE_INFO.size);
        f.call("tdx_assert_error", f.call("tdg_vp_veinfo_get", ve.address));
        f.call("tdx_test_report_to_user_space", f.load(4, ve.address, VE_INFO.exitReason));
        f.call("tdx_test_report_to_user_space", f.load(4, ve.address, VE_INFO.instrLen));
        f.store(
          8,
          regs,
          f.add(f.load(8, regs, EX_REGS.rip), f.load(4, ve.address, VE_INFO.instrLen)),
          EX_REGS.rip,
        );
        f.storeGlobal("hook_calls", f.add(f.loadGlobal("hook_calls"), 1));
      })
      .fn("guest_code", (f) => {
        f.outb(0x5a, 0x99); // a native OUT: #VE (exit reason 30)
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("hook_calls")));
        f.call("tdx_test_success");
      });
    const { td } = bootTd(program, {
      beforeFinalize: (t, image) =>
        syncGlobalToGuest(t, image, "guest_ve_hook", image.symbol("test_ve_handler")),
    });
    expect(tdxTestReadReport(tdxRun(td))).toBe(EXIT_REASON_IO_INSTRUCTION);
    expect(tdxTestReadReport(tdxRun(td))).toBe(1); // OUT DX, AL is one byte (EE)
    expect(read64(td)).toBe(1n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("without the hook the library's default handler emulates the same OUT: KVM_EXIT_IO on port 0x99", () => {
    const program = new GuestProgram().fn("guest_code", (f) => {
      f.outb(0x5a, 0x99);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(program);
    const exit = tdxRun(td);
    expect(exit.kind === "io" && [exit.port, exit.size, exit.direction, exit.data[0]]).toEqual([
      0x99, 1, 1, 0x5a,
    ]);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
