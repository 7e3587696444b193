// Patch 16: TDG.VP.VMCALL<Instruction.HLT> with interrupt_blocked_flag 0 halts the vCPU in KVM.
// tdxsim has no wall clock, so the alarm signal of the original is modelled by KVM_RUN itself:
// a halted vCPU with nothing to wake it returns -EINTR. The host then checks KVM_GET_MP_STATE
// is HALTED, makes the vCPU RUNNABLE and re-runs; the guest resumes with status 0 and succeeds.
// The HALTED check sits on the only path to success (Yan Zhao's false-pass point): a KVM that
// returned from HLT without halting gives the success exit first and fails the test.
import { KvmExit, KvmMpState } from "@tdxsim/kvm";
import { GuestProgram, tdVcpuRun, tdxRun, tdxTestAssertSuccess } from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

export const verifyGuestHlt: TdxVmTestCase = {
  name: "verify_guest_hlt",
  run() {
    const guest = new GuestProgram().fn("guest_hlt", (f) => {
      const ret = f.call("tdg_vp_vmcall_instruction_hlt", 0);
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_hlt"] });
    const vcpu = td.vcpus[0]!.vcpu;
    // KVM_RUN must come back interrupted (kvm_run.exit_reason KVM_EXIT_INTR, the ioctl's -EINTR),
    // not with the success exit a non-halting KVM would give; only then is the HALTED check done.
    const interrupted = tdVcpuRun(td);
    testAssert(
      interrupted.kind === "other" && interrupted.reason === KvmExit.INTR,
      `KVM_RUN after TDVMCALL<HLT>: expected KVM_EXIT_INTR (the vCPU halted), got ${JSON.stringify(interrupted.kind === "other" ? interrupted : { kind: interrupted.kind })}`,
    );
    testAssertEq(vcpu.getMpState(), KvmMpState.HALTED, "mp_state after TDVMCALL<HLT>");
    vcpu.setMpState(KvmMpState.RUNNABLE);
    tdxTestAssertSuccess(tdxRun(td));
  },
};
