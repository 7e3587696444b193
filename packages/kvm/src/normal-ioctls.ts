// The raw faces of a normal vCPU's register and event ioctls: the argument structs as bytes at
// their real offsets, then NormalVcpu. (TD vCPUs refuse these before they get here.)
import { KvmError } from "./errors.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { msrIoRaw } from "./msrs.js";
import type { NormalVcpu } from "./normal-vcpu.js";
import {
  ioctlName,
  KVM_GET_DEBUGREGS,
  KVM_GET_FPU,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_INTERRUPT,
  KVM_NMI,
  KVM_SET_DEBUGREGS,
  KVM_SET_FPU,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
} from "./uapi/ioctls.js";
import {
  kvmDebugregs,
  kvmFpu,
  kvmInterrupt,
  kvmRegs,
  kvmSregs,
  kvmVcpuEvents,
  kvmXcrs,
  kvmXsave,
} from "./uapi/structs.js";

/** The requests this module answers for a normal vCPU. */
export const NORMAL_VCPU_IOCTLS: readonly number[] = [
  KVM_GET_REGS,
  KVM_SET_REGS,
  KVM_GET_SREGS,
  KVM_SET_SREGS,
  KVM_GET_MSRS,
  KVM_SET_MSRS,
  KVM_INTERRUPT,
  KVM_NMI,
  KVM_GET_DEBUGREGS,
  KVM_SET_DEBUGREGS,
  KVM_GET_FPU,
  KVM_SET_FPU,
  KVM_GET_XCRS,
  KVM_SET_XCRS,
  KVM_GET_VCPU_EVENTS,
  KVM_SET_VCPU_EVENTS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_SET_XSAVE,
];

export function normalVcpuIoctl(vcpu: NormalVcpu, request: number, arg: IoctlArg): number {
  switch (request) {
    case KVM_GET_REGS:
      arg.write(kvmRegs.encode(vcpu.getRegs()), "kvm_regs");
      return 0;
    case KVM_SET_REGS:
      vcpu.setRegs(kvmRegs.decode(arg.read(kvmRegs.size, "kvm_regs")));
      return 0;
    case KVM_GET_SREGS:
      arg.write(kvmSregs.encode(vcpu.getSregs()), "kvm_sregs");
      return 0;
    case KVM_SET_SREGS:
      vcpu.setSregs(kvmSregs.decode(arg.read(kvmSregs.size, "kvm_sregs")));
      return 0;
    case KVM_GET_MSRS:
      return msrIoRaw(vcpu, arg, false);
    case KVM_SET_MSRS:
      return msrIoRaw(vcpu, arg, true);
    case KVM_INTERRUPT:
      vcpu.interrupt(kvmInterrupt.decode(arg.read(kvmInterrupt.size, "kvm_interrupt")).irq);
      return 0;
    case KVM_NMI:
      vcpu.nmi();
      return 0;
    case KVM_GET_FPU:
      arg.write(kvmFpu.encode(vcpu.getFpu()), "kvm_fpu");
      return 0;
    case KVM_SET_FPU:
      vcpu.setFpu(kvmFpu.decode(arg.read(kvmFpu.size, "kvm_fpu")));
      return 0;
    case KVM_GET_VCPU_EVENTS:
      arg.write(kvmVcpuEvents.encode(vcpu.getVcpuEvents()), "kvm_vcpu_events");
      return 0;
    case KVM_SET_VCPU_EVENTS:
      vcpu.setVcpuEvents(kvmVcpuEvents.decode(arg.read(kvmVcpuEvents.size, "kvm_vcpu_events")));
      return 0;
    case KVM_GET_XSAVE:
    case KVM_GET_XSAVE2: // KVM_CAP_XSAVE2 says 4096 bytes: the same image
      arg.write(kvmXsave.encode(vcpu.getXsave()), "kvm_xsave");
      return 0;
    case KVM_SET_XSAVE:
      vcpu.setXsave(kvmXsave.decode(arg.read(kvmXsave.size, "kvm_xsave")));
      return 0;
    case KVM_GET_XCRS:
      arg.write(kvmXcrs.encode(vcpu.getXcrs()), "kvm_xcrs");
      return 0;
    case KVM_SET_XCRS:
      vcpu.setXcrs(kvmXcrs.decode(arg.read(kvmXcrs.size, "kvm_xcrs")));
      return 0;
    case KVM_GET_DEBUGREGS:
      arg.write(kvmDebugregs.encode(vcpu.getDebugRegs()), "kvm_debugregs");
      return 0;
    case KVM_SET_DEBUGREGS:
      vcpu.setDebugRegs(kvmDebugregs.decode(arg.read(kvmDebugregs.size, "kvm_debugregs")));
      return 0;
    default:
      throw new KvmError("EINVAL", `${ioctlName(request)} is not implemented for normal vCPUs`);
  }
}
