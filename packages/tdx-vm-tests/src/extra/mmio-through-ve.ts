// Beyond the series, group 2 (Binbin Wu on patch 18): MMIO through a real #VE. The guest does
// plain MOVs at GVA TDX_MMIO_TEST_ADDR, mapped to the shared alias of that GPA (outside every
// memslot); each access takes #VE (EPT violation), the library's #VE handler decodes the MOV and
// issues #VE.RequestMMIO. Read: the host answers the KVM_EXIT_MMIO read and the guest reports the
// value it loaded. Write: the host sees KVM_EXIT_MMIO writes of 1, 2, 4 and 8 bytes with the
// stored values, then the guest's success.
import {
  GuestProgram,
  setMmioReadData,
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

const STORES = [
  { size: 1, value: 0xabn },
  { size: 2, value: 0xabcdn },
  { size: 4, value: 0xffab_cdefn },
  { size: 8, value: 0x1122_3344_5566_7788n },
] as const;

export const verifyMmioWriteThroughVe: TdxVmTestCase = {
  name: "verify_mmio_write_through_ve",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_write_via_ve", (f) => {
      for (const { size, value } of STORES) f.store(size, TDX_MMIO_TEST_ADDR, value);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, {
      entries: ["guest_mmio_write_via_ve"],
      beforeFinalize: (t) => virtMapShared(t, TDX_MMIO_TEST_ADDR, TDX_MMIO_TEST_ADDR, 1),
    });
    for (const { size, value } of STORES) {
      const mmio = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, size, true);
      let data = 0n;
      for (let i = size - 1; i >= 0; i--) data = (data << 8n) | BigInt(mmio.data[i]!);
      testAssertEq(data, value, `${size}-byte MMIO write data`);
    }
    tdxTestAssertSuccess(tdxRun(td));
  },
};
