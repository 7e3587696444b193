// Patch 17: #VE.RequestMMIO reads of 1/2/4/8 bytes, answered by the host through KVM_EXIT_MMIO;
// size 10 is refused by KVM with TDG_VP_VMCALL_INVALID_OPERAND. (The request GPA carries the
// shared bit: see MMIO_REQUEST_GPA.)
import {
  GuestProgram,
  MMIO_REQUEST_GPA,
  setMmioReadData,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_MMIO_TEST_ADDR,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
} from "@tdxsim/tdx-lib";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const READS = [
  [1, 0x12n],
  [2, 0x1234n],
  [4, 0x1234_5678n],
  [8, 0x1234_5678_90ab_cdefn],
] as const;

export const verifyMmioReads: TdxVmTestCase = {
  name: "verify_mmio_reads",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_reads", (f) => {
      const data = f.local(0);
      for (const [size, value] of READS) {
        const ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, size, f.addrOf(data));
        f.call("tdx_assert_error", ret);
        f.if(f.ne(data, value), () => f.call("tdx_test_fatal", size));
      }
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, 10, f.addrOf(data));
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_mmio_reads"] });
    for (const [size, value] of READS) {
      const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, size, false);
      setMmioReadData(exit, value, size);
    }
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdVcpuRun(td));
  },
};
