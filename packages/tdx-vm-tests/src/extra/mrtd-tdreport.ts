// Beyond the series, group 13: the TD measurement. The guest asks TDG.MR.REPORT for a TDREPORT
// with its own REPORTDATA and reports REPORTMACSTRUCT.REPORTDATA and TDINFO.MRTD. Two TDs built
// from the same image have the same MRTD; one measured byte changed in the image changes it; the
// REPORTDATA in the TDREPORT is the guest's.
import {
  addrGva2Gpa,
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDX_SHARED_MEM_TEST_INFO_PORT,
  tdxRun,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
  tdxTestSetIoInData,
  vmVaddrAlloc,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

/** TDREPORT_STRUCT offsets (TDX module ABI): REPORTMACSTRUCT.REPORTDATA and TDINFO_STRUCT.MRTD. */
const REPORTDATA_OFFSET = 128;
const MRTD_OFFSET = 512 + 16;
const REPORTDATA_WORDS = 8;
/** Two private pages the host allocates before finalize (page-aligned: TDREPORT needs 1024). */
const BUFFER_GVA = 0x8000_0000;
/** The port the host answers the buffer's GPA on (the test-info port of the shared-memory test). */
const HOST_INFO_PORT = TDX_SHARED_MEM_TEST_INFO_PORT;
const MRTD_WORDS = 6;

function reportDataWord(i: number): bigint {
  return 0x0101_0101_0101_0101n * BigInt(i + 1);
}

/** Boots a TD whose image differs only in `variant` (a constant in an uncalled function). */
function measureTd(variant: number): { mrtd: bigint[]; reportData: bigint[] } {
  const guest = new GuestProgram()
    .fn("guest_tdreport", (f) => {
      // The host tells the guest the buffer's GPA (TDG.MR.REPORT takes GPAs), low half first.
      const low = f.local(0);
      const high = f.local(0);
      for (const half of [low, high]) {
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          HOST_INFO_PORT,
          4,
          TDG_VP_VMCALL_INSTRUCTION_IO_READ,
          f.addrOf(half),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
      }
      const reportGpa = f.or(f.shl(high, 32), low);
      const report = BUFFER_GVA;
      const data = BUFFER_GVA + 1024; // 64-aligned, 64 bytes
      for (let i = 0; i < REPORTDATA_WORDS; i++) f.store(8, data, reportDataWord(i), 8 * i);
      const status = f.call("tdg_mr_report", reportGpa, f.add(reportGpa, 1024), 0);
      f.if(status, () => f.call("tdx_test_fatal", status));
      for (let i = 0; i < REPORTDATA_WORDS; i++) {
        f.call(
          "tdx_assert_error",
          f.call("tdx_test_report_64bit_to_user_space", f.load(8, report, REPORTDATA_OFFSET + 8 * i)),
        );
      }
      for (let i = 0; i < MRTD_WORDS; i++) {
        f.call(
          "tdx_assert_error",
          f.call("tdx_test_report_64bit_to_user_space", f.load(8, report, MRTD_OFFSET + 8 * i)),
        );
      }
      f.call("tdx_test_success");
    })
    .fn("image_variant", (f) => {
      f.call("tdx_test_fatal", variant);
    });
  let bufferGpa = 0;
  const { td } = bootTd(guest, {
    entries: ["guest_tdreport"],
    beforeFinalize: (t) => {
      testAssertEq(vmVaddrAlloc(t, 8192, BUFFER_GVA), BUFFER_GVA, "vm_vaddr_alloc GVA");
      bufferGpa = addrGva2Gpa(t, BUFFER_GVA);
    },
  });
  for (const half of [bufferGpa % 2 ** 32, Math.floor(bufferGpa / 2 ** 32)]) {
    tdxTestSetIoInData(
      tdxTestAssertIo(tdxRun(td), HOST_INFO_PORT, 4, TDG_VP_VMCALL_INSTRUCTION_IO_READ),
      half,
    );
  }
  const read = () => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
  const reportData = Array.from({ length: REPORTDATA_WORDS }, read);
  const mrtd = Array.from({ length: MRTD_WORDS }, read);
  tdxTestAssertSuccess(tdxRun(td));
  return { mrtd, reportData };
}

const hex = (words: bigint[]) => words.map((w) => w.toString(16).padStart(16, "0")).join("");

export const verifyMrtdAndTdreport: TdxVmTestCase = {
  name: "verify_mrtd_and_tdreport",
  run() {
    const first = measureTd(1);
    const same = measureTd(1);
    const changed = measureTd(2);
    first.reportData.forEach((word, i) => {
      testAssertEq(word, reportDataWord(i), `TDREPORT REPORTDATA word ${i}`);
    });
    testAssert(
      first.mrtd.some((w) => w !== 0n),
      "MRTD is all zero",
    );
    testAssert(
      hex(first.mrtd) === hex(same.mrtd),
      `same image, different MRTD: ${hex(first.mrtd)} vs ${hex(same.mrtd)}`,
    );
    testAssert(
      hex(first.mrtd) !== hex(changed.mrtd),
      `one measured byte changed, MRTD unchanged: ${hex(first.mrtd)}`,
    );
  },
};
