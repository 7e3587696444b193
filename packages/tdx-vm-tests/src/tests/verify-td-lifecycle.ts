// Patch 08: the smallest TD — create, initialize, add a vCPU, finalize, run; the guest reports
// success on port 0x30.
import { GuestProgram, tdVcpuRun, tdxTestAssertSuccess } from "@tdxsim/tdx-lib";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyTdLifecycle: TdxVmTestCase = {
  name: "verify_td_lifecycle",
  run() {
    const guest = new GuestProgram().fn("guest_code_lifecycle", (f) => {
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code_lifecycle"] });
    tdxTestAssertSuccess(tdVcpuRun(td));
  },
};
