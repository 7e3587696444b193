// Beyond the series, group 2: #VE.RequestMMIO at the addresses reviewers asked about, asserting what
// mainline 6.16 tdx_emulate_mmio does. It checks size, direction and that the first and last byte
// are shared, strips the shared bit and forwards to userspace; it has no memslot check and no
// page-crossing check (the 2024 out-of-tree TDX KVM refused both).
// - verify_mmio_shared_gpa_in_memslot (Yan Zhao on 17): the shared alias of a GPA inside memslot 0
//   (the guest image's first page) is emulated like any MMIO address: a read and a write reach
//   userspace as KVM_EXIT_MMIO at the GPA without the shared bit, and the guest's private page
//   behind that GPA is untouched.
// - verify_mmio_write_crossing_page (Yan Zhao/Sagi on 18): an 8-byte write at the last byte of a
//   shared page reaches userspace whole (phys_addr ...fff, len 8). A sync report comes first, so
//   the host knows the exit is the crossing write's.
// (The shared-bit GPA itself is what verify_mmio_reads/writes use; the private GPA is
// verify_mmio_private_gpa.)
import {
  GUEST_IMAGE_GVA,
  GuestProgram,
  setMmioReadData,
  TDX_MMIO_TEST_ADDR,
  tdxRun,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
  tdxTestReadReport,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

/** GPAW 48: the shared bit the request carries. */
const SHARED_BIT = 1n << 47n;

const mmioData = (data: Uint8Array, size: number): bigint => {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]!);
  return value;
};

const HOST_READ_VALUE = 0x1122_3344_5566_7788n;
const GUEST_WRITE_VALUE = 0x0a0b_0c0d_0e0f_1011n;

export const verifyMmioSharedGpaInMemslot: TdxVmTestCase = {
  name: "verify_mmio_shared_gpa_in_memslot",
  run() {
    // GVA = GPA: the image's first page is private memory of memslot 0
    const inSlotGpa = BigInt(GUEST_IMAGE_GVA);
    const guest = new GuestProgram().fn("guest_mmio_in_memslot", (f) => {
      const before = f.load(8, GUEST_IMAGE_GVA);
      const data = f.local(0);
      let ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", SHARED_BIT | inSlotGpa, 8, f.addrOf(data));
      f.call("tdx_assert_error", ret);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", data));
      ret = f.call("tdg_vp_vmcall_ve_request_mmio_write", SHARED_BIT | inSlotGpa, 8, GUEST_WRITE_VALUE);
      f.call("tdx_assert_error", ret);
      // the MMIO write went to the host, not into the private page behind the same GPA
      f.if(f.ne(f.load(8, GUEST_IMAGE_GVA), before), () => f.call("tdx_test_fatal", 1));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_mmio_in_memslot"] });
    const read = tdxTestAssertMmio(tdxRun(td), inSlotGpa, 8, false);
    setMmioReadData(read, HOST_READ_VALUE, 8);
    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      HOST_READ_VALUE,
      "value the guest read through MMIO",
    );
    const write = tdxTestAssertMmio(tdxRun(td), inSlotGpa, 8, true);
    testAssertEq(mmioData(write.data, 8), GUEST_WRITE_VALUE, "MMIO write data");
    tdxTestAssertSuccess(tdxRun(td));
  },
};

const SYNC_BEFORE_CROSSING_WRITE = 0x5eed;
const CROSSING_GPA = BigInt(TDX_MMIO_TEST_ADDR) + 0xfffn;
const CROSSING_VALUE = 0x8877_6655_4433_2211n;

export const verifyMmioWriteCrossingPage: TdxVmTestCase = {
  name: "verify_mmio_write_crossing_page",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_crossing_page", (f) => {
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", SYNC_BEFORE_CROSSING_WRITE));
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_write", SHARED_BIT | CROSSING_GPA, 8, CROSSING_VALUE);
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_mmio_crossing_page"] });
    testAssertEq(tdxTestReadReport(tdxRun(td)), SYNC_BEFORE_CROSSING_WRITE, "sync report");
    const write = tdxTestAssertMmio(tdxRun(td), CROSSING_GPA, 8, true);
    testAssertEq(mmioData(write.data, 8), CROSSING_VALUE, "page-crossing MMIO write data");
    tdxTestAssertSuccess(tdxRun(td));
  },
};
