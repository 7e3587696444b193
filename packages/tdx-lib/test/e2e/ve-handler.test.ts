// The library's #VE path end to end through KVM_RUN: guest_ve_entry (IDT vector 20), the
// default handler's emulation (MMIO MOV, CPUID, IN/OUT) and its records (guest_ve_count,
// guest_ve_status, guest_ve_info), and a handler the host installs in guest_ve_hook (the role
// of vm_install_exception_handler). Native HLT/RDMSR/WRMSR are in msr-hlt.test.ts.
import { describe, expect, it } from "vitest";
import {
  bootTd,
  EX_REGS,
  EXIT_REASON_CPUID,
  EXIT_REASON_IO_INSTRUCTION,
  GuestProgram,
  setMmioReadData,
  syncGlobalToGuest,
  TDX_MMIO_TEST_ADDR,
  type TdVm,
  tdxRun,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestReadReport,
  VE_INFO,
  virtMapShared,
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

describe("the #VE handler end to end", () => {
  it("a plain MOV load of a shared MMIO GVA: #VE, guest_ve_emulate_mmio issues #VE.RequestMMIO", () => {
    // Binbin Wu's requested case on patch 17: touch the shared MMIO alias with a real load.
    const td = bootGuest(
      (f) => {
        f.call("tdx_test_report_to_user_space", f.load(4, TDX_MMIO_TEST_ADDR));
        f.call("tdx_test_success");
      },
      { beforeFinalize: (t) => virtMapShared(t, TDX_MMIO_TEST_ADDR, TDX_MMIO_TEST_ADDR, 1) },
    );
    setMmioReadData(tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, false), 0xcafe_f00dn, 4);
    expect(tdxTestReadReport(tdxRun(td))).toBe(0xcafe_f00d);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("native CPUID of a hypervisor leaf: emulated through Instruction.CPUID; count, status and VE info recorded", () => {
    const td = bootGuest(
      (f) => {
        f.call("tdx_test_report_64bit_to_user_space", f.cpuid(0x4000_0000).ebx);
        f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("guest_ve_count"));
        f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("guest_ve_status"));
        const info = f.symbol("guest_ve_info");
        f.call("tdx_test_report_64bit_to_user_space", f.load(4, info, VE_INFO.exitReason));
        f.call("tdx_test_report_64bit_to_user_space", f.load(4, info, VE_INFO.instrLen));
        f.call("tdx_test_success");
      },
      { beforeFinalize: addKvmSignatureLeaf },
    );
    expect(read64(td)).toBe(0x4b4d_564bn); // "KVMK": KVM's CPUID model answered Instruction.CPUID
    expect([read64(td), read64(td), read64(td), read64(td)]).toEqual([1n, 0n, BigInt(EXIT_REASON_CPUID), 2n]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("without a hook, a native OUT is emulated by the default handler: KVM_EXIT_IO on port 0x99", () => {
    const td = bootGuest((f) => {
      f.outb(0x5a, 0x99);
      f.call("tdx_test_success");
    });
    const exit = tdxRun(td);
    expect(exit.kind === "io" && [exit.port, exit.size, exit.direction, exit.data[0]]).toEqual([
      0x99, 1, 1, 0x5a,
    ]);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("a host-installed guest_ve_hook owns the #VE: reads VE info itself, skips the OUT, counts in a global", () => {
    const program = new GuestProgram()
      .global("hook_calls", { size: 8 })
      .fn("test_ve_handler", { params: 1 }, (f, regs) => {
        const ve = f.array(VE_INFO.size);
        f.call("tdx_assert_error", f.call("tdg_vp_veinfo_get", ve.address));
        f.call("tdx_test_report_to_user_space", f.load(4, ve.address, VE_INFO.exitReason));
        f.call("tdx_test_report_to_user_space", f.load(4, ve.address, VE_INFO.instrLen));
        f.store(
          8,
          regs,
          f.add(f.load(8, regs, EX_REGS.rip), f.load(4, ve.address, VE_INFO.instrLen)),
          EX_REGS.rip,
        );
        f.storeGlobal("hook_calls", f.add(f.loadGlobal("hook_calls"), 1));
      })
      .fn("guest_code", (f) => {
        f.outb(0x5a, 0x99); // a native OUT: #VE (exit reason 30), no IO exit if the hook skips it
        f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.loadGlobal("hook_calls")));
        f.call("tdx_test_success");
      });
    const { td } = bootTd(program, {
      beforeFinalize: (t, image) =>
        syncGlobalToGuest(t, image, "guest_ve_hook", image.symbol("test_ve_handler")),
    });
    expect(tdxTestReadReport(tdxRun(td))).toBe(EXIT_REASON_IO_INSTRUCTION);
    expect(tdxTestReadReport(tdxRun(td))).toBe(1); // OUT DX, AL is one byte (EE)
    expect(read64(td)).toBe(1n);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
