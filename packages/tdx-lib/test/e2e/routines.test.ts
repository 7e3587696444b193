// More guest routines end to end through the host half and KVM_RUN on kvm's x86 executor:
// MMIO write, ReportFatalError with data, TDG.VP.VEINFO.GET without a pending #VE, the
// CPUID and RDMSR TDVMCALL wrappers, TDG.MEM.PAGE.ACCEPT.
import { KvmProcess } from "@tdxsim/kvm";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  type GuestFunctionBody,
  GuestProgram,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_FATAL_ERROR_GPA_VALID,
  TDX_MMIO_TEST_ADDR,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "../../src/index.js";
import { supportedCpuid } from "../host/td-fixture.js";

/** 6.16 accepts only shared GPAs in #VE.RequestMMIO (see guest-half.test.ts). */
const MMIO_REQUEST_GPA = (1n << 47n) | BigInt(TDX_MMIO_TEST_ADDR);

function run(body: GuestFunctionBody) {
  const image = assembleGuestImage({ origin: 0x40_0000, program: new GuestProgram().fn("guest_code", body) });
  const td = tdCreate({ process: new KvmProcess({ supportedCpuid: supportedCpuid() }) });
  tdInitialize(td, { image: image.chunks, idtEntries: image.idtEntries, memorySize: 16 << 20 });
  tdVcpuAdd(td, 0, image.symbol("guest_code"));
  tdFinalize(td);
  return td;
}

describe("guest routines end to end", () => {
  it("tdg_vp_vmcall_ve_request_mmio_write: KVM_EXIT_MMIO write with the guest's bytes", () => {
    const td = run((f) => {
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_write", MMIO_REQUEST_GPA, 4, 0xdead_beef);
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_success");
    });
    const exit = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, true);
    expect([...exit.data.subarray(0, 4)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdx_test_fatal_with_data: SYSTEM_EVENT TDX_FATAL with the code (bit 63: GPA valid) and the data GPA", () => {
    const td = run((f) => {
      f.call("tdx_test_fatal_with_data", 0x0baa_aaad_0000_0000n, 0x1000);
      f.call("tdx_test_success");
    });
    tdxTestAssertFatal(tdVcpuRun(td), TDX_FATAL_ERROR_GPA_VALID | 0x0baa_aaad_0000_0000n, 0x1000n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_veinfo_get without a pending #VE: TDX_NO_VALID_VE_INFO", () => {
    const td = run((f) => {
      const ve = f.array(48);
      const status = f.call("tdg_vp_veinfo_get", ve.address);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      f.call("tdx_test_success");
    });
    expect(tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td))).toBe(0xc000_0704_0000_0000n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_cpuid: leaf 0 through the VMM's CPUID model (max basic leaf, 'Genu')", () => {
    const td = run((f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      const ret = f.call("tdg_vp_vmcall_instruction_cpuid", 0, 0, ...regs.map((r) => f.addrOf(r)));
      f.call("tdx_assert_error", ret);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", regs[1]!));
      f.call("tdx_test_success");
    });
    const ebx = tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
    expect(ebx).toBe(0x756e_6547n); // "Genu"
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_vp_vmcall_instruction_rdmsr of an MSR outside KVM's TDX list: TDVMCALL_INVALID_OPERAND", () => {
    const td = run((f) => {
      const value = f.local(0);
      const ret = f.call("tdg_vp_vmcall_instruction_rdmsr", 0xc001_1234, f.addrOf(value));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", ret));
      f.call("tdx_test_success");
    });
    expect(tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td))).toBe(TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("tdg_mem_page_accept of an unused private page: KVM adds it on the EPT violation, ACCEPT succeeds", () => {
    const spare = (16 << 20) - 0x1000; // last page of memslot 0: private, never loaded
    const td = run((f) => {
      const status = f.call("tdg_mem_page_accept", spare, 0);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", status));
      f.call("tdx_test_success");
    });
    expect(tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td))).toBe(0n);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
