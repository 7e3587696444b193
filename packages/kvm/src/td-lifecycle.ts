// The TD's KVM-side state machine and which operations each state refuses, with the errno of
// Linux 6.16 (spec/kvm-api.md §1.11; arch/x86/kvm/vmx/tdx.c): UNINITIALIZED → (KVM_TDX_INIT_VM)
// INITIALIZED → (KVM_TDX_FINALIZE_VM) RUNNABLE, and DEAD after KVM_TDX_TERMINATE_VM or a KVM bug
// (every ioctl then fails with EIO). The vCPU layer asks before acting and reports transitions.
import { KvmError } from "./errors.js";

export type TdState = "uninitialized" | "initialized" | "runnable" | "dead";

export class TdLifecycle {
  state: TdState = "uninitialized";

  /** kvm->vm_dead: everything fails with EIO. */
  checkAlive(): void {
    if (this.state === "dead")
      throw new KvmError("EIO", "the TD is dead (terminated or bugged); only close() is left");
  }

  /** KVM_TDX_INIT_VM: once, before any vCPU. */
  checkInitVm(createdVcpus: number): void {
    this.checkAlive();
    if (this.state !== "uninitialized") {
      throw new KvmError("EINVAL", `KVM_TDX_INIT_VM was already done (TD state ${this.state})`);
    }
    if (createdVcpus > 0)
      throw new KvmError("EBUSY", `${createdVcpus} vCPU(s) exist; KVM_TDX_INIT_VM must come first`);
  }

  initialized(): void {
    this.state = "initialized";
  }

  /** KVM_CREATE_VCPU on a TD (tdx_vcpu_create): only between INIT_VM and FINALIZE, with a split irqchip. */
  checkCreateVcpu(splitIrqchip: boolean): void {
    this.checkAlive();
    if (this.state !== "initialized") {
      throw new KvmError(
        "EIO",
        `KVM_CREATE_VCPU on a TD needs KVM_TDX_INIT_VM done and FINALIZE not yet (TD state ${this.state})`,
      );
    }
    if (!splitIrqchip) {
      throw new KvmError("EINVAL", "a TD vCPU needs KVM_CAP_SPLIT_IRQCHIP (the TDX module mandates APICv)");
    }
  }

  /** vCPU-fd KVM_MEMORY_ENCRYPT_OP (INIT_VCPU, INIT_MEM_REGION, GET_CPUID): after INIT_VM, before FINALIZE. */
  checkVcpuCommand(): void {
    this.checkAlive();
    if (this.state !== "initialized") {
      throw new KvmError(
        "EINVAL",
        this.state === "uninitialized"
          ? "the TD has no HKID yet: do KVM_TDX_INIT_VM first"
          : "the TD is already finalized (RUNNABLE)",
      );
    }
  }

  /** KVM_TDX_FINALIZE_VM: after INIT_VM, once, with no page mapped but not yet added. */
  checkFinalize(nrPremapped: number): void {
    this.checkAlive();
    if (this.state !== "initialized") {
      throw new KvmError(
        "EINVAL",
        this.state === "uninitialized"
          ? "KVM_TDX_INIT_VM was not done"
          : "KVM_TDX_FINALIZE_VM was already done",
      );
    }
    if (nrPremapped !== 0) {
      throw new KvmError("EINVAL", `${nrPremapped} page(s) were mapped for INIT_MEM_REGION but never added`);
    }
  }

  runnable(): void {
    this.state = "runnable";
  }

  /** KVM_RUN on a TD vCPU (tdx_vcpu_pre_run). */
  checkRun(vcpuInitialized: boolean): void {
    this.checkAlive();
    if (this.state !== "runnable") {
      throw new KvmError("EINVAL", `KVM_RUN needs a finalized TD (TD state ${this.state})`);
    }
    if (!vcpuInitialized) throw new KvmError("EINVAL", "KVM_RUN needs KVM_TDX_INIT_VCPU on this vCPU");
  }

  /** KVM_TDX_TERMINATE_VM: EBUSY if a vCPU is in use; afterwards the TD is dead. */
  terminate(vcpuBusy: boolean): void {
    this.checkAlive();
    if (vcpuBusy)
      throw new KvmError("EBUSY", "a vCPU is in use (KVM_TDX_TERMINATE_VM takes every vCPU mutex)");
    this.state = "dead";
  }

  /** A KVM_BUG_ON: the VM is marked dead. */
  bugged(): void {
    this.state = "dead";
  }
}

/** Register ioctls refused on a TD vCPU (protected state): KVM_GET/SET_REGS, SREGS, DEBUGREGS → EINVAL. */
export function refuseProtectedState(ioctl: string): never {
  throw new KvmError("EINVAL", `${ioctl}: a TD vCPU's registers are protected by the TDX module`);
}
