// Patch 13: Instruction.IO writes of 1, 2 and 4 bytes to port 0x51, then size 5, which KVM
// refuses in the kernel with TDG_VP_VMCALL_INVALID_OPERAND; the guest reports that status as a
// fatal error and continues to success.
import {
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_IO_WRITES_TEST_PORT,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const WRITES = [
  [1, 0xab],
  [2, 0xabcd],
  [4, 0xffab_cdef],
] as const;

export const verifyGuestWrites: TdxVmTestCase = {
  name: "verify_guest_writes",
  run() {
    const guest = new GuestProgram().fn("guest_io_writes", (f) => {
      for (const [size, value] of WRITES) {
        const data = f.local(value);
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IO_WRITES_TEST_PORT,
          size,
          TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
          f.addrOf(data),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
      }
      const data = f.local(0xffab_cdef);
      const ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        TDX_IO_WRITES_TEST_PORT,
        5,
        TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
        f.addrOf(data),
      );
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_io_writes"] });
    for (const [size, value] of WRITES) {
      const exit = tdxTestAssertIo(
        tdxRun(td),
        TDX_IO_WRITES_TEST_PORT,
        size,
        TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
      );
      let written = 0;
      for (let i = size - 1; i >= 0; i--) written = written * 256 + exit.data[i]!;
      testAssertEq(written, value, `${size}-byte write to port 0x51`);
    }
    // No exit for size 5: the guest's fatal report carries KVM's INVALID_OPERAND status.
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
