// Beyond the series, group 12: KVM_GET_REGS and the other register ioctls on a TD vCPU. The
// vCPU state is protected by the TDX module, so KVM 6.16 refuses KVM_GET/SET_REGS,
// KVM_GET/SET_SREGS and KVM_GET/SET_DEBUGREGS with EINVAL (spec/kvm-api.md, "Generic x86
// behavior that applies because TDX VMs have protected state"; the v13 cover letter: "KVM_GET_REGS
// currently does not support TDX VMs and returns -EINVAL"). Checked through the raw ioctl, before
// and after the guest ran, with a buffer that must come back untouched, and with KVM_GET_MP_STATE
// on the same fd as the control (it works on a TD vCPU).
import {
  KVM_GET_DEBUGREGS,
  KVM_GET_MP_STATE,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_SET_DEBUGREGS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KvmMpState,
  type KvmProcess,
  kvmDebugregs,
  kvmMpState,
  kvmRegs,
  kvmSregs,
} from "@tdxsim/kvm";
import { GuestProgram, tdVcpuRun, tdxTestAssertSuccess } from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const EINVAL = 22;
/** A user buffer in the VMM's address space for the ioctl argument (above mmap_min_addr). */
const ARG_BUFFER = 0x20_0000;
const SENTINEL = 0xa5;

const REGISTER_IOCTLS = [
  { name: "KVM_GET_REGS", request: KVM_GET_REGS, size: kvmRegs.size },
  { name: "KVM_SET_REGS", request: KVM_SET_REGS, size: kvmRegs.size },
  { name: "KVM_GET_SREGS", request: KVM_GET_SREGS, size: kvmSregs.size },
  { name: "KVM_SET_SREGS", request: KVM_SET_SREGS, size: kvmSregs.size },
  { name: "KVM_GET_DEBUGREGS", request: KVM_GET_DEBUGREGS, size: kvmDebugregs.size },
  { name: "KVM_SET_DEBUGREGS", request: KVM_SET_DEBUGREGS, size: kvmDebugregs.size },
] as const;

function expectRegisterIoctlsRefused(process: KvmProcess, vcpuFd: number, when: string): void {
  for (const { name, request, size } of REGISTER_IOCTLS) {
    process.userMemory.writeBytes(ARG_BUFFER, new Uint8Array(size).fill(SENTINEL));
    process.errno = 0;
    const r = process.ioctl(vcpuFd, request, ARG_BUFFER);
    testAssertEq(r, -1, `${name} on a TD vCPU ${when}: return value`);
    testAssertEq(process.errno, EINVAL, `${name} on a TD vCPU ${when}: errno (EINVAL = 22)`);
    const after = process.userMemory.readBytes(ARG_BUFFER, size);
    testAssert(
      after.every((b) => b === SENTINEL),
      `${name} on a TD vCPU ${when}: the refused ioctl wrote to its argument buffer`,
    );
  }
  // Control: the fd is a live vCPU fd and KVM_GET_MP_STATE, which TDX allows, succeeds on it.
  testAssertEq(process.ioctl(vcpuFd, KVM_GET_MP_STATE, ARG_BUFFER), 0, `KVM_GET_MP_STATE ${when}`);
  const mpState = kvmMpState.decode(process.userMemory.readBytes(ARG_BUFFER, kvmMpState.size)).mp_state;
  testAssertEq(mpState, KvmMpState.RUNNABLE, `KVM_GET_MP_STATE ${when}: mp_state`);
}

export const verifyTdVcpuRegisterIoctlsRefused: TdxVmTestCase = {
  name: "verify_td_vcpu_register_ioctls_refused",
  run() {
    const guest = new GuestProgram().fn("guest_code", (f) => {
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_code"] });
    const vcpuFd = td.vcpus[0]!.vcpu.fd;
    testAssert(vcpuFd >= 0, `the TD vCPU has no fd (${vcpuFd})`);
    expectRegisterIoctlsRefused(td.process, vcpuFd, "before KVM_RUN");
    tdxTestAssertSuccess(tdVcpuRun(td));
    expectRegisterIoctlsRefused(td.process, vcpuFd, "after the guest ran");
  },
};
