// Beyond the series, group 2 (Binbin Wu on patch 18): MMIO through a real #VE. The guest does a
// plain 4-byte MOV load from GVA TDX_MMIO_TEST_ADDR, mapped to the shared alias of that GPA
// (outside every memslot); the access takes #VE (EPT violation), the library's #VE handler
// decodes the MOV and issues #VE.RequestMMIO; the host answers the KVM_EXIT_MMIO read and the
// guest reports the value it loaded.
import {
  GuestProgram,
  TDX_MMIO_TEST_ADDR,
  tdxRun,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestReadReport,
  virtMapShared,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd, setMmioReadData } from "../td-setup.js";

const HOST_VALUE = 0xcafe_f00dn;

export const verifyMmioReadThroughVe: TdxVmTestCase = {
  name: "verify_mmio_read_through_ve",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_via_ve", (f) => {
      const value = f.load(4, TDX_MMIO_TEST_ADDR);
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", value));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, {
      entries: ["guest_mmio_via_ve"],
      beforeFinalize: (t) => virtMapShared(t, TDX_MMIO_TEST_ADDR, TDX_MMIO_TEST_ADDR, 1),
    });
    const mmio = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, false);
    setMmioReadData(mmio, HOST_VALUE, 4);
    testAssertEq(tdxTestReadReport(tdxRun(td)), HOST_VALUE, "value the guest's MOV loaded");
    tdxTestAssertSuccess(tdxRun(td));
  },
};
