// Beyond the series, groups 7 and 8: TDCALLs the TDX module refuses before anything reaches KVM.
// - TDCALL with an unknown leaf (RAX = 99) → TDX_OPERAND_INVALID (RAX);
// - TDG.VP.VMCALL whose RCX exposure mask sets forbidden bits (bit 0: RAX; bit 4: RSP) or
//   reserved bits 63:32 → TDX_OPERAND_INVALID (RCX) in RAX, and no exit to the host.
// The guest issues them through __tdx_module_call (RAX = leaf, RCX = mask) and reports each RAX.
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestRead64bitReportFromGuest } from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import { TDX_OPERAND_INVALID_RAX, TDX_OPERAND_INVALID_RCX } from "./tdx-status.js";

const TDG_VP_VMCALL_LEAF = 0;
const UNKNOWN_TDCALL_LEAF = 99;
/** R10–R15 exposed, as the library does. */
const STANDARD_EXPOSE_MASK = 0xfc00n;

interface RefusedTdcall {
  leaf: number;
  rcx: bigint;
  expected: bigint;
  what: string;
}

function refusedTdcalls(name: string, calls: readonly RefusedTdcall[]): TdxVmTestCase {
  return {
    name,
    run() {
      const guest = new GuestProgram().fn("guest_refused_tdcalls", (f) => {
        for (const { leaf, rcx } of calls) {
          const status = f.call("__tdx_module_call", leaf, rcx, 0, 0, 0, 0);
          f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
        }
        f.call("tdx_test_success");
      });
      const { td } = bootTd(guest, { entries: ["guest_refused_tdcalls"] });
      for (const { expected, what } of calls) {
        // tdxRun's first exit must be the report: a TDVMCALL that reached KVM would show up here.
        testAssertEq(
          tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
          expected,
          what,
        );
      }
      tdxTestAssertSuccess(tdxRun(td));
    },
  };
}

export const verifyTdcallUnknownLeaf = refusedTdcalls("verify_tdcall_unknown_leaf", [
  { leaf: UNKNOWN_TDCALL_LEAF, rcx: 0n, expected: TDX_OPERAND_INVALID_RAX, what: "TDCALL leaf 99" },
]);

export const verifyTdvmcallForbiddenExposureMask = refusedTdcalls("verify_tdvmcall_forbidden_exposure_mask", [
  {
    leaf: TDG_VP_VMCALL_LEAF,
    rcx: STANDARD_EXPOSE_MASK | 1n,
    expected: TDX_OPERAND_INVALID_RCX,
    what: "TDG.VP.VMCALL exposing RAX (RCX bit 0)",
  },
  {
    leaf: TDG_VP_VMCALL_LEAF,
    rcx: STANDARD_EXPOSE_MASK | (1n << 4n),
    expected: TDX_OPERAND_INVALID_RCX,
    what: "TDG.VP.VMCALL exposing RSP (RCX bit 4)",
  },
  {
    leaf: TDG_VP_VMCALL_LEAF,
    rcx: STANDARD_EXPOSE_MASK | (1n << 32n),
    expected: TDX_OPERAND_INVALID_RCX,
    what: "TDG.VP.VMCALL with reserved RCX bit 32",
  },
]);
