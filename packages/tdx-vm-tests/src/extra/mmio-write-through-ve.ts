// Beyond the series, group 2 (Binbin Wu on patch 18): an MMIO write through a real #VE. The guest
// does a plain 4-byte MOV store to GVA TDX_MMIO_TEST_ADDR, mapped to the shared alias of that GPA
// (outside every memslot); the store takes #VE (EPT violation), the library's #VE handler decodes
// the MOV and issues #VE.RequestMMIO with the stored value, and the host sees a KVM_EXIT_MMIO
// write of those bytes. The guest then reports, so the host knows the store completed once.
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
import { bootTd } from "../td-setup.js";

const GUEST_VALUE = 0xdead_beef;
const SYNC_AFTER_STORE = 0x5eed;

export const verifyMmioWriteThroughVe: TdxVmTestCase = {
  name: "verify_mmio_write_through_ve",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_store_via_ve", (f) => {
      f.store(4, TDX_MMIO_TEST_ADDR, GUEST_VALUE);
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", SYNC_AFTER_STORE));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, {
      entries: ["guest_mmio_store_via_ve"],
      beforeFinalize: (t) => virtMapShared(t, TDX_MMIO_TEST_ADDR, TDX_MMIO_TEST_ADDR, 1),
    });
    const mmio = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, true);
    testAssertEq(
      new DataView(mmio.data.buffer, mmio.data.byteOffset, 4).getUint32(0, true),
      GUEST_VALUE,
      "bytes of the guest's MOV store",
    );
    testAssertEq(tdxTestReadReport(tdxRun(td)), SYNC_AFTER_STORE, "report after the store");
    tdxTestAssertSuccess(tdxRun(td));
  },
};
