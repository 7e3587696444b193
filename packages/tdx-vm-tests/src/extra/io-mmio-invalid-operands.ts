// Beyond the series, group 9: requests KVM 6.16 refuses in the kernel with
// TDG_VP_VMCALL_INVALID_OPERAND and no exit to userspace:
// - Instruction.IO of sizes 0, 3 and 8 (only 1, 2 and 4 exist);
// - Instruction.IO with a direction (R13) other than 0 (read) and 1 (write): 2, and 1 with bit 32
//   set (the whole register counts, spec/kvm-api.md: "bad size/direction → INVALID_OPERAND");
// - #VE.RequestMMIO at a private GPA (TDX_MMIO_TEST_ADDR without the shared bit): tdx_emulate_mmio
//   accepts only shared GPAs.
import {
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_IO_WRITES_TEST_PORT,
  TDX_MMIO_TEST_ADDR,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const BAD_IO_SIZES = [0, 3, 8] as const;

export const verifyIoBadSizes: TdxVmTestCase = {
  name: "verify_io_bad_sizes",
  run() {
    const guest = new GuestProgram().fn("guest_io_bad_sizes", (f) => {
      const data = f.local(0xab);
      for (const size of BAD_IO_SIZES) {
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IO_WRITES_TEST_PORT,
          size,
          TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
          f.addrOf(data),
        );
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      }
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_io_bad_sizes"] });
    for (const size of BAD_IO_SIZES) {
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        TDG_VP_VMCALL_INVALID_OPERAND,
        `Instruction.IO status for size ${size}`,
      );
    }
    tdxTestAssertSuccess(tdxRun(td));
  },
};

const BAD_IO_DIRECTIONS = [2n, (1n << 32n) | 1n] as const;

export const verifyIoBadDirection: TdxVmTestCase = {
  name: "verify_io_bad_direction",
  run() {
    const guest = new GuestProgram().fn("guest_io_bad_direction", (f) => {
      const data = f.local(0xab);
      for (const direction of BAD_IO_DIRECTIONS) {
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          TDX_IO_WRITES_TEST_PORT,
          1,
          direction,
          f.addrOf(data),
        );
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      }
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_io_bad_direction"] });
    // Each status must be the next exit: a request KVM took as a read or write would exit here.
    for (const direction of BAD_IO_DIRECTIONS) {
      testAssertEq(
        tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
        TDG_VP_VMCALL_INVALID_OPERAND,
        `Instruction.IO status for direction 0x${direction.toString(16)}`,
      );
    }
    tdxTestAssertSuccess(tdxRun(td));
  },
};

export const verifyMmioPrivateGpa: TdxVmTestCase = {
  name: "verify_mmio_private_gpa",
  run() {
    const guest = new GuestProgram().fn("guest_mmio_private_gpa", (f) => {
      const data = f.local(0);
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", TDX_MMIO_TEST_ADDR, 4, f.addrOf(data));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_mmio_private_gpa"] });
    testAssertEq(
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
      TDG_VP_VMCALL_INVALID_OPERAND,
      "#VE.RequestMMIO status for a private GPA",
    );
    tdxTestAssertSuccess(tdxRun(td));
  },
};
