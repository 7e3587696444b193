// Beyond the series, group 1 (Binbin Wu on patch 12; 6.16 ABI): GetTdVmCallInfo with R12 = 1 is
// forwarded to userspace as KVM_EXIT_TDX (40), nr = TDVMCALL_GET_TD_VM_CALL_INFO, leaf 1. The VMM
// fills ret and R11..R14; KVM hands them to the guest on the next KVM_RUN and the guest reports
// the status and the four values back. The values are distinct on purpose, so a register mix-up
// fails: R11 = the user-handled TDVMCALLs KVM_TDX_CAPABILITIES lists, R12..R14 = markers.
import { KvmExit } from "@tdxsim/kvm";
import {
  GuestProgram,
  hostTdxCapabilities,
  type RunExit,
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDX_HCALL_HAS_OUTPUT,
  TDX_HYPERCALL_ARGS,
  TDX_HYPERCALL_STANDARD,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const OUTPUTS = ["r11", "r12", "r13", "r14"] as const;

function describe(exit: RunExit): string {
  return exit.kind === "other" ? `exit reason ${exit.reason}` : `a ${exit.kind} exit`;
}

export const verifyGetTdVmcallInfoLeaf1: TdxVmTestCase = {
  name: "verify_get_td_vmcall_info_leaf1",
  run() {
    const guest = new GuestProgram().fn("guest_get_td_vmcall_info_leaf1", (f) => {
      const args = f.array(TDX_HYPERCALL_ARGS.size);
      f.store(8, args.address, TDX_HYPERCALL_STANDARD, TDX_HYPERCALL_ARGS.r10);
      f.store(8, args.address, TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, TDX_HYPERCALL_ARGS.r11);
      f.store(8, args.address, 1, TDX_HYPERCALL_ARGS.r12);
      const status = f.call("__tdx_hypercall", args.address, TDX_HCALL_HAS_OUTPUT);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      for (const reg of OUTPUTS) {
        const value = f.load(8, args.address, TDX_HYPERCALL_ARGS[reg]);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", value));
      }
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_get_td_vmcall_info_leaf1"] });
    const filled = [hostTdxCapabilities().userTdvmcallinfo1R11, 0x12n, 0x13n, 0x14n];

    const exit = tdxRun(td);
    testAssert(
      exit.kind === "other" && exit.reason === KvmExit.TDX,
      `expected KVM_EXIT_TDX (40), got ${describe(exit)}`,
    );
    const tdx = td.vcpus[0]!.vcpu.run.tdx;
    testAssertEq(tdx.nr, TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, "kvm_run.tdx.nr");
    testAssertEq(tdx.data[0]!, 1n, "kvm_run.tdx.get_tdvmcall_info.leaf");
    tdx.ret = 0n;
    tdx.data = [1n, ...filled];

    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      0n,
      "status the guest got",
    );
    OUTPUTS.forEach((reg, i) => {
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        filled[i]!,
        `${reg} the guest got`,
      );
    });
    tdxTestAssertSuccess(tdxRun(td));
  },
};
