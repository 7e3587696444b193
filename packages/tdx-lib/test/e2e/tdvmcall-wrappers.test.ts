// The TDVMCALL layer of the guest library end to end through KVM_RUN: the generic
// __tdx_hypercall and each wrapper the tests call (Instruction.IO, ReportFatalError,
// GetTdVmCallInfo, Instruction.CPUID, #VE.RequestMMIO read and write). The MSR and HLT
// wrappers are in msr-hlt.test.ts, MapGPA in test/host/td-run.test.ts.
import { describe, expect, it } from "vitest";
import {
  MMIO_REQUEST_GPA,
  setMmioReadData,
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_HCALL_HAS_OUTPUT,
  TDX_HYPERCALL_ARGS,
  TDX_IOEXIT_TEST_PORT,
  TDX_MMIO_TEST_ADDR,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestSetIoInData,
} from "../../src/index.js";
import { bootGuest, read64 } from "./boot-td.js";

describe("TDVMCALL routines end to end", () => {
  it("tdg_vp_vmcall_instruction_io: a write then a read of port 0x50; the host's IN data reaches *data", () => {
    const td = bootGuest((f) => {
      const out = f.local(0xab);
      const io = (direction: number, data: ReturnType<typeof f.local>) =>
        f.call("tdg_vp_vmcall_instruction_io", TDX_IOEXIT_TEST_PORT, 1, direction, f.addrOf(data));
      f.call("tdx_assert_error", io(TDG_VP_VMCALL_INSTRUCTION_IO_WRITE, out));
      const input = f.local(0);
      f.call("tdx_assert_error", io(TDG_VP_VMCALL_INSTRUCTION_IO_READ, input));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", input));
      f.call("tdx_test_success");
    });
    const write = tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    expect(write.data[0]).toBe(0xab);
    tdxTestSetIoInData(
      tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_READ),
      0xac,
    );
    expect(read64(td)).toBe(0xacn);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("__tdx_hypercall with TDX_HCALL_HAS_OUTPUT: an Instruction.IO read built by hand, R11 stored back", () => {
    const td = bootGuest((f) => {
      const args = f.array(TDX_HYPERCALL_ARGS.size);
      const fields: [keyof typeof TDX_HYPERCALL_ARGS, number][] = [
        ["r10", 0],
        ["r11", TDG_VP_VMCALL_INSTRUCTION_IO],
        ["r12", 2],
        ["r13", TDG_VP_VMCALL_INSTRUCTION_IO_READ],
        ["r14", TDX_IOEXIT_TEST_PORT],
        ["r15", 0],
      ];
      for (const [reg, value] of fields) f.store(8, args.address, value, TDX_HYPERCALL_ARGS[reg]);
      f.call("tdx_assert_error", f.call("__tdx_hypercall", args.address, TDX_HCALL_HAS_OUTPUT));
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, args.address, TDX_HYPERCALL_ARGS.r11));
      f.call("tdx_test_success");
    });
    tdxTestSetIoInData(
      tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 2, TDG_VP_VMCALL_INSTRUCTION_IO_READ),
      0xbeef,
    );
    expect(read64(td)).toBe(0xbeefn);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_report_fatal_error(code, data_gpa) called directly: SYSTEM_EVENT TDX_FATAL", () => {
    const td = bootGuest((f) => {
      f.call("tdg_vp_vmcall_report_fatal_error", 0x1234n, 0);
      f.call("tdx_test_success");
    });
    tdxTestAssertFatal(tdVcpuRun(td), 0x1234n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_get_td_vmcall_info: SUCCESS, R11–R14 all zero (KVM 6.16 answers leaf 0 itself)", () => {
    const td = bootGuest((f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      f.call("tdx_assert_error", f.call("tdg_vp_vmcall_get_td_vmcall_info", ...regs.map((r) => f.addrOf(r))));
      for (const r of regs) f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", r));
      f.call("tdx_test_success");
    });
    expect([read64(td), read64(td), read64(td), read64(td)]).toEqual([0n, 0n, 0n, 0n]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_cpuid: leaf 0 through the VMM's CPUID model (max basic leaf, 'Genu')", () => {
    const td = bootGuest((f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      f.call(
        "tdx_assert_error",
        f.call("tdg_vp_vmcall_instruction_cpuid", 0, 0, ...regs.map((r) => f.addrOf(r))),
      );
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", regs[1]!));
      f.call("tdx_test_success");
    });
    expect(read64(td)).toBe(0x756e_6547n); // "Genu"
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_ve_request_mmio_read of 1/2/4/8 bytes; size 10 is INVALID_OPERAND", () => {
    const values = [
      [1, 0x12n],
      [2, 0x1234n],
      [4, 0x1234_5678n],
      [8, 0x1234_5678_90ab_cdefn],
    ] as const;
    const td = bootGuest((f) => {
      const data = f.local(0);
      for (const [size, value] of values) {
        f.call(
          "tdx_assert_error",
          f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, size, f.addrOf(data)),
        );
        f.if(f.ne(data, value), () => f.call("tdx_test_fatal", size));
      }
      f.call(
        "tdx_assert_error",
        f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, 10, f.addrOf(data)),
      );
      f.call("tdx_test_success");
    });
    for (const [size, value] of values) {
      const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, size, false);
      setMmioReadData(exit, value, size);
    }
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_ve_request_mmio_write: KVM_EXIT_MMIO write with the guest's bytes", () => {
    const td = bootGuest((f) => {
      f.call(
        "tdx_assert_error",
        f.call("tdg_vp_vmcall_ve_request_mmio_write", MMIO_REQUEST_GPA, 4, 0xdead_beef),
      );
      f.call("tdx_test_success");
    });
    const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, true);
    expect([...exit.data.subarray(0, 4)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
