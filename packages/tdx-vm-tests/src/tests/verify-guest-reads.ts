// Patch 14: Instruction.IO reads of 1, 2 and 4 bytes from port 0x52, answered by the host; the
// guest checks each value (fatal 1/2/4 names the size that mismatched). Size 5 is refused by KVM
// with TDG_VP_VMCALL_INVALID_OPERAND, which the guest reports as a fatal error.
import {
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_IO_READS_TEST_PORT,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
  tdxTestSetIoInData,
} from "@tdxsim/tdx-lib";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const READS = [
  [1, 0xab],
  [2, 0xabcd],
  [4, 0xffab_cdef],
] as const;

export const verifyGuestReads: TdxVmTestCase = {
  name: "verify_guest_reads",
  run() {
    const guest = new GuestProgram().fn("guest_io_reads", (f) => {
      const data = f.local(0);
      for (const [size, value] of READS) {
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IO_READS_TEST_PORT,
          size,
          TDG_VP_VMCALL_INSTRUCTION_IO_READ,
          f.addrOf(data),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
        f.if(f.ne(data, value), () => f.call("tdx_test_fatal", size));
      }
      const ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        TDX_IO_READS_TEST_PORT,
        5,
        TDG_VP_VMCALL_INSTRUCTION_IO_READ,
        f.addrOf(data),
      );
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_io_reads"] });
    for (const [size, value] of READS) {
      const exit = tdxTestAssertIo(
        tdxRun(td),
        TDX_IO_READS_TEST_PORT,
        size,
        TDG_VP_VMCALL_INSTRUCTION_IO_READ,
      );
      tdxTestSetIoInData(exit, value);
    }
    // This run completes the 4-byte read: a wrong value would make the code 1, 2 or 4 instead.
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
