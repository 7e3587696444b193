// Patch 10: Instruction.IO write of 0xAB then read on port 0x50; the host answers 0xAC and the
// guest checks it got exactly one more than it wrote.
import {
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_IOEXIT_TEST_PORT,
  tdxRun,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
  tdxTestSetIoInData,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyTdIoexit: TdxVmTestCase = {
  name: "verify_td_ioexit",
  run() {
    const guest = new GuestProgram().fn("guest_ioexit", (f) => {
      const out = f.local(0xab);
      let ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        TDX_IOEXIT_TEST_PORT,
        1,
        TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
        f.addrOf(out),
      );
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      const input = f.local(0);
      ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        TDX_IOEXIT_TEST_PORT,
        1,
        TDG_VP_VMCALL_INSTRUCTION_IO_READ,
        f.addrOf(input),
      );
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.if(f.ne(f.sub(input, out), 1), () => f.call("tdx_test_fatal", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_ioexit"] });
    const write = tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    testAssertEq(write.data[0]!, 0xab, "byte the guest wrote to port 0x50");
    const read = tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_READ);
    tdxTestSetIoInData(read, 0xac);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
