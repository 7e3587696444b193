// End to end: guest programs from the builder, built into TDs by the host half (tdCreate,
// tdInitialize, tdVcpuAdd, tdFinalize) and run by @tdxsim/kvm's KVM_RUN on the x86 CPU (kvm's
// default TD executor) with the real TDX module. Every guest body is the upstream one; where
// mainline 6.16 differs from the v5 series, the test follows 6.16 and says so.
import { KvmProcess } from "@tdxsim/kvm";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  GuestProgram,
  type MmioExit,
  type RunExit,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDX_IOEXIT_TEST_PORT,
  TDX_MMIO_TEST_ADDR,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
  tdxTestReadReport,
  tdxTestSetIoInData,
  virtMapShared,
} from "../../src/index.js";
import { supportedCpuid } from "../host/td-fixture.js";

const IMAGE_GVA = 0x40_0000;

function bootTd(program: GuestProgram, entry: string, beforeFinalize?: (td: TdVm) => void) {
  const image = assembleGuestImage({ origin: IMAGE_GVA, program });
  const td = tdCreate({ process: new KvmProcess({ supportedCpuid: supportedCpuid() }) });
  tdInitialize(td, {
    image: image.chunks,
    idtEntries: image.idtEntries,
    attributes: 0n,
    memorySize: 16 << 20,
  });
  tdVcpuAdd(td, 0, image.symbol(entry));
  beforeFinalize?.(td);
  tdFinalize(td);
  return { td, image };
}

/**
 * The MMIO GPA the guest asks for. Mainline 6.16 (tdx_emulate_mmio) refuses a private GPA in
 * #VE.RequestMMIO with INVALID_OPERAND, so the request carries the shared bit (GPAW 48: bit 47);
 * KVM strips it, and the exit's phys_addr is TDX_MMIO_TEST_ADDR. (The v5 series passed
 * 0x200000000 as is, which 6.16 refuses.)
 */
const MMIO_REQUEST_GPA = (1n << 47n) | BigInt(TDX_MMIO_TEST_ADDR);

/** Answers an MMIO read exit: the value in kvm_run.mmio.data, little-endian. */
function setMmioReadData(exit: RunExit, value: bigint, size: number): void {
  const mmio = exit as MmioExit;
  for (let i = 0; i < size; i++) mmio.data[i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

describe("guest half end to end through KVM_RUN", () => {
  it("verify_td_lifecycle: td_boot reaches the entry in 64-bit mode and tdx_test_success exits on port 0x30", () => {
    const g = new GuestProgram().fn("guest_code_lifecycle", (f) => {
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_code_lifecycle");
    tdxTestAssertSuccess(tdVcpuRun(td));
  });

  it("verify_report_fatal_error: ReportFatalError with 0x0BAAAAAD00000000, then success on re-entry", () => {
    const g = new GuestProgram().fn("guest_code_report_fatal_error", (f) => {
      f.call("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_code_report_fatal_error");
    tdxTestAssertFatal(tdVcpuRun(td), 0x0baa_aaad_0000_0000n);
    tdxTestAssertSuccess(tdVcpuRun(td));
  });

  it("verify_td_ioexit: IO write then read of port 0x50 through tdg_vp_vmcall_instruction_io", () => {
    const g = new GuestProgram().fn("guest_ioexit", (f) => {
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
    const { td } = bootTd(g, "guest_ioexit");
    let exit = tdxRun(td);
    tdxTestAssertIo(exit, TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    exit = tdxRun(td);
    tdxTestAssertIo(exit, TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_READ);
    if (exit.kind === "io") tdxTestSetIoInData(exit, 0xac);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("verify_td_cpuid: native CPUID leaf 1 (handled by the TDX module), EBX and ECX reported", () => {
    const g = new GuestProgram().fn("guest_code_cpuid", (f) => {
      const { ebx, ecx } = f.cpuid(1);
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ebx));
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", ecx));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_code_cpuid");
    const ebx = tdxTestReadReport(tdxRun(td));
    expect((ebx >>> 8) & 0xff).toBe(8); // CLFLUSH line size, "Fixed"
    expect(ebx >>> 24).toBe(0); // initial APIC ID = vCPU index 0
    const ecx = tdxTestReadReport(tdxRun(td));
    expect(ecx & 1).toBe(1); // SSE3
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("verify_get_td_vmcall_info: four 64-bit reports, low halves first", () => {
    const g = new GuestProgram().fn("guest_code_get_td_vmcall_info", (f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      const ret = f.call("tdg_vp_vmcall_get_td_vmcall_info", ...regs.map((r) => f.addrOf(r)));
      f.call("tdx_assert_error", ret);
      for (const r of regs) f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", r));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_code_get_td_vmcall_info");
    const values = [0, 1, 2, 3].map(() => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)));
    expect(values).toEqual([0n, 0n, 0n, 0n]); // KVM 6.16 answers leaf 0 with R11–R14 = 0
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("verify_mmio_reads: #VE.RequestMMIO reads of 1/2/4/8 bytes; size 10 is INVALID_OPERAND", () => {
    const g = new GuestProgram().fn("guest_mmio_reads", (f) => {
      const data = f.local(0);
      const expected: [number, bigint, number][] = [
        [1, 0x12n, 1],
        [2, 0x1234n, 2],
        [4, 0x1234_5678n, 4],
        [8, 0x1234_5678_90ab_cdefn, 8],
      ];
      for (const [size, value, code] of expected) {
        const ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, size, f.addrOf(data));
        f.call("tdx_assert_error", ret);
        f.if(f.ne(data, value), () => f.call("tdx_test_fatal", code));
      }
      const ret = f.call("tdg_vp_vmcall_ve_request_mmio_read", MMIO_REQUEST_GPA, 10, f.addrOf(data));
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_mmio_reads");
    for (const [size, value] of [
      [1, 0x12n],
      [2, 0x1234n],
      [4, 0x1234_5678n],
      [8, 0x1234_5678_90ab_cdefn],
    ] as const) {
      const exit = tdxRun(td);
      tdxTestAssertMmio(exit, TDX_MMIO_TEST_ADDR, size, false);
      setMmioReadData(exit, value, size);
    }
    tdxTestAssertFatal(tdVcpuRun(td), TDG_VP_VMCALL_INVALID_OPERAND);
    tdxTestAssertSuccess(tdVcpuRun(td));
  });

  it("#VE from a plain MOV load of an MMIO GPA: the library handler emulates it and counts the #VE", () => {
    // Binbin Wu's requested case on patch 17: touch the shared MMIO alias with a real load.
    const g = new GuestProgram().fn("guest_mmio_via_ve", (f) => {
      // GVA TDX_MMIO_TEST_ADDR, mapped by virt_map_shared to the shared alias of the same GPA
      const value = f.load(4, TDX_MMIO_TEST_ADDR);
      f.call("tdx_test_report_to_user_space", value);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_mmio_via_ve", (t) =>
      virtMapShared(t, TDX_MMIO_TEST_ADDR, TDX_MMIO_TEST_ADDR, 1),
    );
    const mmio = tdxRun(td);
    tdxTestAssertMmio(mmio, TDX_MMIO_TEST_ADDR, 4, false);
    setMmioReadData(mmio, 0xcafe_f00dn, 4);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0xcafe_f00d);
    tdxTestAssertSuccess(tdxRun(td));
    // guest_ve_count / guest_ve_info are private memory of a finalized TD: the host cannot read
    // them (readGuestMemory refuses); the guest would report them through the test port instead.
  });

  it("TDG.VP.INFO: GPAW 48, attributes 0, one vCPU, index 0", () => {
    const g = new GuestProgram().fn("guest_tdcall_vp_info", (f) => {
      const out = [0, 1, 2, 3, 4, 5].map(() => f.local(0));
      f.call("tdx_assert_error", f.call("tdg_vp_info", ...out.map((o) => f.addrOf(o))));
      for (const o of out) f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", o));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(g, "guest_tdcall_vp_info");
    const [gpaw, attributes, vcpus, index] = [0, 1, 2, 3].map(() =>
      tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td)),
    );
    expect({ gpaw, attributes, vcpus: vcpus & 0xffff_ffffn, index }).toEqual({
      gpaw: 48n,
      attributes: 0n,
      vcpus: 1n,
      index: 0n,
    });
  });
});
