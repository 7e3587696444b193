// Patch 18: #VE.RequestMMIO writes of 1/2/4/8 bytes reach the host as KVM_EXIT_MMIO writes with
// the guest's bytes; then an 8-byte write at GPA PAGE_SIZE - 1 must fail in the kernel with
// TDG_VP_VMCALL_INVALID_OPERAND and never reach userspace. As Sagi proposed for Yan Zhao's point
// (and the 2025 revision does), the guest sends a sync report after the valid writes, so the
// INVALID_OPERAND the host then sees can only come from that last write.
// As upstream, that write's GPA has no shared bit: mainline 6.16 tdx_emulate_mmio refuses it as a
// private GPA (it has no page-crossing check; a shared page-crossing request is forwarded, see
// verify_mmio_write_crossing_page in src/extra/mmio-shared-gpa-cases.ts).
import {
  GuestProgram,
  MMIO_REQUEST_GPA,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_MMIO_TEST_ADDR,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestReadReport,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const WRITES = [
  [1, 0x12n],
  [2, 0x1234n],
  [4, 0x1234_5678n],
  [8, 0x1234_5678_90ab_cdefn],
] as const;

const SYNC_AFTER_VALID_WRITES = 0x5eed;

/** PAGE_SIZE - 1, as upstream: the last byte of the first page, private. */
const PAGE_CROSSING_GPA = 0xfffn;

export const verifyMmioWrites: TdxVmTestCase = {
  name: "verify_mmio_writes",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_writes", (f) => {
      for (const [size, value] of WRITES) {
        const ret = f.call("tdg_vp_vmcall_ve_request_mmio_write", MMIO_REQUEST_GPA, size, value);
        f.if(ret, () => f.call("tdx_test_fatal", ret));
      }
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", SYNC_AFTER_VALID_WRITES));
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_write", PAGE_CROSSING_GPA, 8, 0);
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_mmio_writes"] });
    const written: bigint[] = [];
    for (const [size] of WRITES) {
      const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, size, true);
      let value = 0n;
      for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(exit.data[i]!);
      written.push(value);
    }
    WRITES.forEach(([size, value], i) => {
      testAssertEq(written[i]!, value, `${size}-byte MMIO write`);
    });
    testAssertEq(
      tdxTestReadReport(tdxRun(td)),
      SYNC_AFTER_VALID_WRITES,
      "sync report after the valid writes",
    );
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
