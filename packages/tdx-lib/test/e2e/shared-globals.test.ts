// Data globals in shared memory end to end: the host syncs them while the TD runs (after
// tdFinalize, between KVM_RUN exits) through the memslot's user memory, which @tdxsim/kvm maps
// into the TD's shared EPT; the guest reads and writes the same bytes through the global's GVA.
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
  tdxTestCheckGuestFailure,
  tdxTestRead64bitReportFromGuest,
  tdxTestReadReport,
  vcpuRunAndManageMemoryConversions,
} from "../../src/index.js";
import { read64 } from "./boot-td.js";

const PAGE = 4096;

describe("shared data globals end to end", () => {
  it("host writes are what the guest reads, guest writes are what the host reads, while the TD runs", () => {
    const program = new GuestProgram()
      .global("mailbox", { size: 8, init: 0x1234n, shared: true })
      .global("guest_out", { size: 4, shared: true })
      .global("big", { size: PAGE + 16, shared: true }) // spans two shared pages
      .global("private_value", { size: 8, init: 7n })
      .fn("guest_code", (f) => {
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("mailbox")));
        f.storeGlobal("guest_out", 0xc0ffee);
        f.call("tdx_test_report_to_user_space", 1);
        // the host changes the mailbox between exits; the guest sees each value in place
        f.while(
          () => f.ne(f.loadGlobal("mailbox"), 0),
          () => {
            f.call("tdx_test_report_to_user_space", f.loadGlobal("mailbox"));
          },
        );
        // a byte on big's second page, written by the host; then one the guest writes back
        f.call("tdx_test_report_to_user_space", f.load(1, f.add(f.symbol("big"), PAGE + 5)));
        f.store(1, f.add(f.symbol("big"), PAGE + 6), 0x5a);
        f.call("tdx_test_success");
      });
    const { td, image } = bootTd(program);
    expect(image.globals.get("mailbox")?.shared).toBe(true);
    expect(image.globals.get("private_value")?.shared).toBe(false);

    // finalized: the shared section was not measured, so it still holds the builder's initial value
    expect(littleEndian(syncGlobalFromGuest(td, image, "mailbox"))).toBe(0x1234n);
    syncGlobalToGuest(td, image, "mailbox", 0xdead_beef_0000_0001n);
    expect(read64(td)).toBe(0xdead_beef_0000_0001n);

    expect(tdxTestReadReport(tdxRun(td))).toBe(1);
    expect(littleEndian(syncGlobalFromGuest(td, image, "guest_out"))).toBe(0xc0ffeen);

    syncGlobalToGuest(td, image, "mailbox", 0x11);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0x11);
    syncGlobalToGuest(td, image, "mailbox", 0x22);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0x22);
    const big = new Uint8Array(PAGE + 16);
    big[PAGE + 5] = 0x77;
    syncGlobalToGuest(td, image, "big", big);
    syncGlobalToGuest(td, image, "mailbox", 0);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0x77);
    tdxTestAssertSuccess(tdxRun(td));
    expect(syncGlobalFromGuest(td, image, "big")[PAGE + 6]).toBe(0x5a);

    // a private global stays out of reach; the message says how to make it reachable
    expect(() => syncGlobalFromGuest(td, image, "private_value")).toThrow(
      /sync_global_from_guest: global "private_value" .* is private memory of a finalized TD.*\{ shared: true \}/,
    );
    expect(() => syncGlobalToGuest(td, image, "mailbox", 1n << 64n)).toThrow(
      /value \d+ does not fit global "mailbox" of 8 byte/,
    );
  });

  it("a shared global the guest converts to private (MapGPA) is refused until it converts it back", () => {
    const program = new GuestProgram()
      .global("mailbox", { size: 8, init: 0x42n, shared: true })
      .fn("guest_code", (f) => {
        const failed = f.local(0);
        const page = f.and(f.symbol("mailbox"), ~(PAGE - 1));
        // MapGPA without the shared bit: the page becomes private (GVA = GPA in the image)
        f.call("tdx_assert_error", f.call("tdg_vp_vmcall_map_gpa", page, PAGE, f.addrOf(failed)));
        f.call("tdx_test_report_to_user_space", 1);
        f.call(
          "tdx_assert_error",
          f.call("tdg_vp_vmcall_map_gpa", f.or(page, 2n ** 47n), PAGE, f.addrOf(failed)),
        );
        f.storeGlobal("mailbox", 0x99);
        f.call("tdx_test_success");
      });
    const { td, image } = bootTd(program);
    const run = () => {
      const exit = vcpuRunAndManageMemoryConversions(td);
      tdxTestCheckGuestFailure(exit);
      return exit;
    };
    expect(tdxTestReadReport(run())).toBe(1);
    expect(() => syncGlobalFromGuest(td, image, "mailbox")).toThrow(TdHostError);
    expect(() => syncGlobalToGuest(td, image, "mailbox", 5)).toThrow(
      /sync_global_to_guest: global "mailbox" .* is mapped shared but gpa 0x[0-9a-f]+ is private now/,
    );
    tdxTestAssertSuccess(run());
    expect(littleEndian(syncGlobalFromGuest(td, image, "mailbox"))).toBe(0x99n);
  });

  it("two vCPUs see one shared global: vCPU 0's write is what vCPU 1 reads and the host reads", () => {
    const program = new GuestProgram()
      .global("flag", { size: 8, shared: true })
      .fn("guest_writer", (f) => {
        f.storeGlobal("flag", 0x600d);
        f.call("tdx_test_success");
      })
      .fn("guest_reader", (f) => {
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("flag")));
        f.call("tdx_test_success");
      });
    const { td, image } = bootTd(program, { entries: ["guest_writer", "guest_reader"] });
    tdxTestAssertSuccess(tdxRun(td, 0));
    expect(littleEndian(syncGlobalFromGuest(td, image, "flag"))).toBe(0x600dn);
    expect(tdxTestRead64bitReportFromGuest(tdxRun(td, 1), () => tdxRun(td, 1))).toBe(0x600dn);
    tdxTestAssertSuccess(tdxRun(td, 1));
  });
});
