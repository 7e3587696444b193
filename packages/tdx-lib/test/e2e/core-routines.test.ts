// The library's lowest layers called directly from a guest, end to end through KVM_RUN: the
// generic __tdx_hypercall and __tdx_module_call, ReportFatalError's own wrapper,
// tdx_test_send_64bit on a test port, and the default #VE handler's records (guest_ve_count,
// guest_ve_info, guest_ve_status) after it emulated a native CPUID.
import { describe, expect, it } from "vitest";
import {
  EXIT_REASON_CPUID,
  TDG_VP_INFO,
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDX_HCALL_HAS_OUTPUT,
  TDX_HYPERCALL_ARGS,
  TDX_IOEXIT_TEST_PORT,
  TDX_MODULE_OUTPUT,
  type TdVm,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
  tdxTestRead64bit,
  tdxTestSetIoInData,
  VE_INFO,
} from "../../src/index.js";
import { bootGuest, read64 } from "./boot-td.js";

/** The VMM adds KVM's signature leaf (0x40000000, "KVMKVMKVM") to the vCPU's CPUID, as QEMU does. */
function addKvmSignatureLeaf(td: TdVm): void {
  const vcpu = td.vcpus[0]!.vcpu;
  const signature = {
    function: 0x4000_0000,
    index: 0,
    flags: 0,
    eax: 0x4000_0001,
    ebx: 0x4b4d_564b,
    ecx: 0x564b_4d56,
    edx: 0x4d,
    padding: [0, 0, 0],
  };
  vcpu.setCpuid2([...vcpu.tdxGetCpuid(), signature]);
}

describe("core guest routines end to end", () => {
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

  it("__tdx_module_call(TDG.VP.INFO) with a tdx_module_output: status 0, RCX = GPAW 48, R9 = vCPU index 0", () => {
    const td = bootGuest((f) => {
      const out = f.array(TDX_MODULE_OUTPUT.size);
      const status = f.call("__tdx_module_call", TDG_VP_INFO, 0, 0, 0, 0, out.address);
      f.call("tdx_test_report_64bit_to_user_space", status);
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, out.address, TDX_MODULE_OUTPUT.rcx));
      f.call("tdx_test_report_64bit_to_user_space", f.load(8, out.address, TDX_MODULE_OUTPUT.r9));
      f.call("tdx_test_success");
    });
    expect([read64(td), read64(td), read64(td)]).toEqual([0n, 48n, 0n]);
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

  it("tdx_test_send_64bit on a test port: two 4-byte OUTs there, low half first", () => {
    const td = bootGuest((f) => {
      f.call("tdx_assert_error", f.call("tdx_test_send_64bit", TDX_IOEXIT_TEST_PORT, 0x0123_4567_89ab_cdefn));
      f.call("tdx_test_success");
    });
    expect(tdxTestRead64bit(tdxRun(td), TDX_IOEXIT_TEST_PORT, () => tdxRun(td))).toBe(0x0123_4567_89ab_cdefn);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("native CPUID of a hypervisor leaf: the default #VE handler emulates it and records count, status and VE info", () => {
    const td = bootGuest(
      (f) => {
        const { ebx } = f.cpuid(0x4000_0000);
        f.call("tdx_test_report_64bit_to_user_space", ebx);
        f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("guest_ve_count"));
        f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("guest_ve_status"));
        f.call(
          "tdx_test_report_64bit_to_user_space",
          f.load(4, f.symbol("guest_ve_info"), VE_INFO.exitReason),
        );
        f.call("tdx_test_report_64bit_to_user_space", f.load(4, f.symbol("guest_ve_info"), VE_INFO.instrLen));
        f.call("tdx_test_success");
      },
      { beforeFinalize: addKvmSignatureLeaf },
    );
    expect(read64(td)).toBe(0x4b4d_564bn); // "KVMK": KVM's CPUID model answered Instruction.CPUID
    expect([read64(td), read64(td), read64(td), read64(td)]).toEqual([1n, 0n, BigInt(EXIT_REASON_CPUID), 2n]);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
