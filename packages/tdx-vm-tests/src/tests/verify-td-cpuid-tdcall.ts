// Patch 19: TDG.VP.VMCALL<Instruction.CPUID> leaf 1. KVM answers it from the vCPU's CPUID (what
// td_vcpu_add gave KVM_SET_CPUID2: KVM_TDX_GET_CPUID's values on 6.16); the guest reports EAX, EBX,
// ECX, EDX and the host compares them with that entry, EBX without the initial APIC ID (31:24).
// v5 compared with KVM_GET_SUPPORTED_CPUID, which equals the vCPU's CPUID only because v5's library
// set it from there; the 2025 revision compares with the vCPU's entry (vcpu_get_cpuid_entry), as here.
import { GuestProgram, tdxRun, tdxTestAssertSuccess, tdxTestReadReport } from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyTdCpuidTdcall: TdxVmTestCase = {
  name: "verify_td_cpuid_tdcall",
  run() {
    const guest = new GuestProgram().fn("guest_code_cpuid_tdcall", (f) => {
      const regs = [f.local(0), f.local(0), f.local(0), f.local(0)];
      const ret = f.call("tdg_vp_vmcall_instruction_cpuid", 1, 0, ...regs.map((r) => f.addrOf(r)));
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      for (const r of regs) f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", r));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code_cpuid_tdcall"] });
    const [eax, ebx, ecx, edx] = [0, 1, 2, 3].map(() => tdxTestReadReport(tdxRun(td)));
    tdxTestAssertSuccess(tdxRun(td));

    // vcpu_get_cpuid_entry(vcpu, 1): KVM_GET_CPUID2 of the vCPU
    const ref = td.vcpus[0]!.vcpu.getCpuid2().find((e) => e.function === 1 && e.index === 0);
    testAssert(ref !== undefined, "CPUID entry missing");
    testAssertEq(eax!, ref!.eax >>> 0, "EAX");
    testAssertEq(ebx! & 0x00ff_ffff, ref!.ebx & 0x00ff_ffff, "EBX without the initial APIC ID");
    testAssertEq(ecx!, ref!.ecx >>> 0, "ECX");
    testAssertEq(edx!, ref!.edx >>> 0, "EDX");
  },
};
