// Beyond the series, group 1 (Binbin Wu on patch 12): GetTdVmCallInfo with a leaf KVM 6.16 does
// not know — R12 = 2 and R12 = 0xFFFFFFFFFFFFFFFF — returns TDG_VP_VMCALL_INVALID_OPERAND to the
// guest without an exit. The library wrapper hard-codes R12 = 0, so the guest fills the
// __tdx_hypercall argument block itself.
import {
  GuestProgram,
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_HCALL_HAS_OUTPUT,
  TDX_HYPERCALL_ARGS,
  TDX_HYPERCALL_STANDARD,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const LEAVES = [2n, 0xffff_ffff_ffff_ffffn] as const;

export const verifyGetTdVmcallInfoInvalidLeaf: TdxVmTestCase = {
  name: "verify_get_td_vmcall_info_invalid_leaf",
  run() {
    const guest = new GuestProgram().fn("guest_get_td_vmcall_info_invalid_leaf", (f) => {
      for (const leaf of LEAVES) {
        const args = f.array(TDX_HYPERCALL_ARGS.size);
        f.store(8, args.address, TDX_HYPERCALL_STANDARD, TDX_HYPERCALL_ARGS.r10);
        f.store(8, args.address, TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, TDX_HYPERCALL_ARGS.r11);
        f.store(8, args.address, leaf, TDX_HYPERCALL_ARGS.r12);
        const status = f.call("__tdx_hypercall", args.address, TDX_HCALL_HAS_OUTPUT);
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      }
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_get_td_vmcall_info_invalid_leaf"] });
    for (const leaf of LEAVES) {
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        TDG_VP_VMCALL_INVALID_OPERAND,
        `GetTdVmCallInfo status for R12 = 0x${leaf.toString(16)}`,
      );
    }
    tdxTestAssertSuccess(tdxRun(td));
  },
};
