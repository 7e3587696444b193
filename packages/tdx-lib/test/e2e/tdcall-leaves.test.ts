// The TDCALL leaves of the guest library end to end through KVM_RUN: the generic
// __tdx_module_call, TDG.VP.INFO, TDG.VP.VEINFO.GET and TDG.MEM.PAGE.ACCEPT (TDG.MR.* are in
// measurement.test.ts).
import { describe, expect, it } from "vitest";
import {
  TD_TEST_MEMORY_SIZE,
  TDG_VP_INFO,
  TDX_MODULE_OUTPUT,
  tdxRun,
  tdxTestAssertSuccess,
  VE_INFO,
} from "../../src/index.js";
import { bootGuest, read64 } from "./boot-td.js";

describe("TDCALL leaves end to end", () => {
  it("__tdx_module_call(TDG.VP.INFO) with a tdx_module_output: status 0, RCX = GPAW 48, R9 = vCPU index 0", () => {
    const td = bootGuest((f) => {
      const out = f.array(TDX_MODULE_OUTPUT.size);
      const status = f.call("__tdx_module_call", TDG_VP_INFO, 0, 0, 0, 0, out.address);
      f.call("tdx_test_report_64bit_to_user_space", status);
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, out.address, TDX_MODULE_OUTPUT.rcx));
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, out.address, TDX_MODULE_OUTPUT.r9));
      f.call("tdx_test_success");
    });
    expect([read64(td), read64(td), read64(td)]).toEqual([0n, 48n, 0n]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_info: GPAW 48, attributes 0, one vCPU, index 0, through all six output pointers", () => {
    const td = bootGuest((f) => {
      const out = [0, 1, 2, 3, 4, 5].map(() => f.local(0));
      f.call("tdx_assert_error", f.call("tdg_vp_info", ...out.map((o) => f.addrOf(o))));
      for (const o of out.slice(0, 4))
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", o));
      f.call("tdx_test_success");
    });
    const [gpaw, attributes, vcpus, index] = [read64(td), read64(td), read64(td), read64(td)];
    expect({ gpaw, attributes, vcpus: vcpus & 0xffff_ffffn, index }).toEqual({
      gpaw: 48n,
      attributes: 0n,
      vcpus: 1n,
      index: 0n,
    });
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_veinfo_get without a pending #VE: TDX_NO_VALID_VE_INFO, struct ve_info zeroed", () => {
    const td = bootGuest((f) => {
      const ve = f.array(VE_INFO.size);
      f.store(8, ve.address, 0x5a5a, VE_INFO.exitReason);
      f.call("tdx_test_report_64bit_to_user_space", f.call("tdg_vp_veinfo_get", ve.address));
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, ve.address, VE_INFO.exitReason));
      f.call("tdx_test_success");
    });
    expect([read64(td), read64(td)]).toEqual([0xc000_0704_0000_0000n, 0n]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_mem_page_accept of an unused private page: KVM adds it on the EPT violation, ACCEPT succeeds", () => {
    const spare = TD_TEST_MEMORY_SIZE - 0x1000; // last page of memslot 0: private, never loaded
    const td = bootGuest((f) => {
      f.call("tdx_test_report_64bit_to_user_space", f.call("tdg_mem_page_accept", spare, 0));
      f.call("tdx_test_success");
    });
    expect(read64(td)).toBe(0n);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
