// KVM_RUN for a TD vCPU (tdx_vcpu_run / tdx_handle_exit, 6.16; spec/kvm-api.md §4): complete what
// userspace answered, then TDH.VP.ENTER through the TDX module — which runs the guest on whatever
// TdGuestExecutor the host attached (the x86 CPU) — and handle the TD exit: TDVMCALLs through the
// routing table (in-kernel answers re-enter at once), EPT violations through the private-memory
// path, the instruction budget as a signal (-EINTR / KVM_EXIT_INTR), triple fault → SHUTDOWN.
import { ExitReason, ExtExitQualType, S, statusHi, statusToBigInt } from "@tdxsim/tdx-module";
import { KvmError } from "./errors.js";
import { Gpr, GprFile } from "./gpr-file.js";
import { memoryFaultExit } from "./memory-args.js";
import { KvmMsrRet, type KvmMsrRetValue, msrFailureOutcome } from "./msr-exits.js";
import type { TdControl } from "./td.js";
import {
  applyTdVmCallResult,
  completeTdMsrExit,
  completeTdVmCall,
  cpuidResult,
  routeTdVmCall,
  type TdVmCallKernelOp,
  type TdVmCallPending,
} from "./tdvmcall.js";
import { tdMsrsOf } from "./tdx-msr-emulation.js";
import { KvmExit, KvmInternalError, KvmMpState } from "./uapi/constants.js";
import { TdVmCallStatus } from "./uapi/ghci.js";
import type { Vcpu } from "./vcpu.js";
import { encodeExit } from "./vcpu-exit.js";

/** Default instruction budget of one KVM_RUN (a runaway guest returns -EINTR after it). */
export const DEFAULT_TD_RUN_BUDGET = 1_000_000;

/** -KVM_ENOSYS: the answer to an unknown KVM hypercall. */
const KVM_ENOSYS = 1000n;
const TWO32 = 0x1_0000_0000;

/** What the next KVM_RUN must complete first: nothing, a forwarded TDVMCALL, or a user-space MSR exit. */
const enum PendingKind {
  NONE,
  TDVMCALL,
  MSR_READ,
  MSR_WRITE,
}

/** What KVM keeps per TD vCPU across KVM_RUNs. */
export class TdVcpuRunState {
  /** The TDCALL-exposed GPRs: TDH.VP.ENTER's output, and on re-entry the host's answers. */
  readonly gprs = new GprFile();
  private readonly hostGpr = new Int32Array(this.gprs.words.buffer);
  private readonly out = new Int32Array(32);
  private pendingKind = PendingKind.NONE;
  private pendingCall: TdVmCallPending | undefined;
  /** Guest instructions one KVM_RUN may execute before it returns -EINTR. */
  budget = DEFAULT_TD_RUN_BUDGET;
  /** The routing context, reused by every TDVMCALL (the hot path allocates nothing). */
  private readonly routeCtx = {
    sharedBit: 47,
    maxPhysAddr: 48,
    hypercallExitEnabled: 0,
    /** TDH.VP.ENTER's return, as a number; ReportFatalError's data[0] asks for it as a u64 */
    status: 0,
    get vpEnterRet(): bigint {
      return statusToBigInt(this.status);
    },
  };

  constructor(
    private readonly vcpu: Vcpu,
    private readonly td: TdControl,
  ) {}

  /** KVM_RUN: 0 with an exit in kvm_run, or throws (EINTR, EFAULT for a memory fault, EIO). */
  run(): number {
    const vcpu = this.vcpu;
    const run = vcpu.run;
    const kind = this.pendingKind;
    if (kind !== PendingKind.NONE) {
      this.pendingKind = PendingKind.NONE;
      if (kind === PendingKind.TDVMCALL) {
        const next = completeTdVmCall(this.pendingCall!, run, this.gprs, false);
        if (next) {
          this.setPendingCall(next);
          return 0;
        }
      } else {
        applyTdVmCallResult(this.gprs, completeTdMsrExit(kind === PendingKind.MSR_READ, run));
      }
    }
    // after completing userspace I/O, as kvm_arch_vcpu_ioctl_run; exit_reason is left alone here
    if (run.immediateExit !== 0) throw new KvmError("EINTR", "KVM_RUN: immediate_exit is set");
    if (vcpu.mpState === KvmMpState.HALTED) {
      return this.interrupted("the vCPU is halted and nothing can wake it (no interrupt pending)");
    }
    if (!this.td.tdx.hasExecutor) {
      throw new KvmError("ENXIO", "no CPU is attached to run TD vCPUs (KvmHostOptions.tdGuestExecutor)");
    }
    const pages = this.td.vcpuPages.get(vcpu.id)!;
    const module = this.td.module;
    // The executor does not report instructions retired, so each in-kernel round trip is charged
    // one instruction: a guest looping on in-kernel TDVMCALLs still returns -EINTR eventually.
    for (let remaining = this.budget; ; remaining--) {
      if (remaining <= 0) return this.interrupted("the instruction budget ran out");
      module.enterBudget = remaining;
      const status = module.enter(pages.tdvpr, this.hostGpr, this.out);
      vcpu.hasRun = true;
      if (statusHi(status) !== 0) return this.failedEntry(status);
      const reason = status % TWO32;
      if (reason === ExitReason.TDCALL) {
        this.gprs.words.set(this.out);
        if (this.tdvmcall(status)) return 0;
      } else if (reason === ExitReason.EXTERNAL_INTERRUPT) {
        return this.interrupted("the instruction budget ran out");
      } else if (reason === ExitReason.EPT_VIOLATION) {
        this.eptViolation();
      } else {
        return this.internalError(status);
      }
    }
  }

  private setPendingCall(call: TdVmCallPending): void {
    this.pendingKind = PendingKind.TDVMCALL;
    this.pendingCall = call;
  }

  /** A signal-like return: KVM_EXIT_INTR in kvm_run, -EINTR from the ioctl. */
  private interrupted(why: string): never {
    this.vcpu.run.exitReason = KvmExit.INTR;
    throw new KvmError("EINTR", `KVM_RUN interrupted: ${why}`);
  }

  /** Non-success VP.ENTER: triple fault → SHUTDOWN; anything else → INTERNAL_ERROR (suberror 4). */
  private failedEntry(status: number): number {
    if (status === S.TDX_NON_RECOVERABLE_VCPU + ExitReason.TRIPLE_FAULT) {
      encodeExit(this.vcpu.run, { kind: "shutdown" });
      return 0;
    }
    return this.internalError(status);
  }

  private internalError(status: number): number {
    encodeExit(this.vcpu.run, {
      kind: "internalError",
      suberror: KvmInternalError.UNEXPECTED_EXIT_REASON,
      data: [statusToBigInt(status), 0n],
    });
    return 0;
  }

  /** Returns true when KVM_RUN returns to userspace (an exit is in kvm_run). */
  private tdvmcall(status: number): boolean {
    const vm = this.vcpu.vm;
    const ctx = this.routeCtx;
    ctx.sharedBit = this.td.sharedBit;
    ctx.maxPhysAddr = this.td.gpaw;
    ctx.hypercallExitEnabled = vm.hypercallExitEnabled;
    ctx.status = status;
    const route = routeTdVmCall(this.gprs, ctx, this.vcpu.run);
    if (route.kind === "complete") {
      applyTdVmCallResult(this.gprs, route.result);
      return false;
    }
    if (route.kind === "exit") {
      this.setPendingCall(route.pending);
      return true;
    }
    return this.kernelOp(route.call);
  }

  private kernelOp(call: TdVmCallKernelOp): boolean {
    const gprs = this.gprs;
    switch (call.op) {
      case "cpuid":
        // kvm_cpuid() on the vCPU's KVM_SET_CPUID2 model (only leaves the module does not virtualise get here)
        applyTdVmCallResult(gprs, cpuidResult(...this.vcpu.cpuidModel.cpuid(call.leaf, call.subleaf)));
        return false;
      case "hlt":
        // the HLT completes when the vCPU wakes; with no interrupt source it sleeps until
        // KVM_SET_MP_STATE(RUNNABLE): KVM_RUN returns -EINTR as a signal would
        applyTdVmCallResult(gprs, { r10: TdVmCallStatus.SUCCESS });
        this.vcpu.mpState = KvmMpState.HALTED;
        this.interrupted("the vCPU halted (TDVMCALL<Instruction.HLT>) and nothing can wake it");
        return true;
      case "rdmsr":
      case "wrmsr":
        return this.msr(call.op === "rdmsr", call.index, call.op === "wrmsr" ? call.value : 0n);
      case "vmcall":
        // no PV hypercall is emulated in tdxsim: -KVM_ENOSYS, as KVM answers an unknown nr
        gprs.set(Gpr.R10, -KVM_ENOSYS);
        return false;
    }
  }

  /**
   * RDMSR/WRMSR TDVMCALL (tdx_emulate_rdmsr/wrmsr): the MSR filter, then KVM's emulation of the TDX
   * allow-list (tdx_get_msr/tdx_set_msr); success → SUCCESS (RDMSR: the value in R11), a failure
   * faults (INVALID_OPERAND) or exits to userspace per KVM_CAP_X86_USER_SPACE_MSR.
   */
  private msr(read: boolean, index: number, value: bigint): boolean {
    const vm = this.vcpu.vm;
    let ret: KvmMsrRetValue;
    if (!vm.msrFilter.allows(index, read ? "read" : "write")) {
      ret = KvmMsrRet.FILTERED;
    } else if (read) {
      const r = tdMsrsOf(this.vcpu).get(index, false);
      if (r.ret === KvmMsrRet.OK) {
        applyTdVmCallResult(this.gprs, { r10: TdVmCallStatus.SUCCESS, r11: r.data });
        return false;
      }
      ret = r.ret;
    } else {
      ret = tdMsrsOf(this.vcpu).set(index, value, false);
      if (ret === KvmMsrRet.OK) {
        applyTdVmCallResult(this.gprs, { r10: TdVmCallStatus.SUCCESS });
        return false;
      }
    }
    const outcome = msrFailureOutcome(ret, vm.userSpaceMsrMask);
    if (outcome.kind === "fault") {
      applyTdVmCallResult(this.gprs, { r10: TdVmCallStatus.INVALID_OPERAND });
      return false;
    }
    encodeExit(this.vcpu.run, {
      kind: read ? "x86Rdmsr" : "x86Wrmsr",
      reason: outcome.reason,
      index,
      data: value,
      error: 0,
    });
    this.pendingKind = read ? PendingKind.MSR_READ : PendingKind.MSR_WRITE;
    return true;
  }

  /**
   * A shared access to a shared gfn: map the memslot's userspace page into the shared EPT and re-enter.
   * Without a memslot nothing is mapped: the retry finds the emulated-MMIO entry (#VE to the guest).
   */
  private sharedFault(page: number): void {
    const slot = this.vcpu.vm.memory.slots.find(page);
    if (slot?.readonly) {
      // 6.16 refuses KVM_MEM_READONLY for VMs with protected state, so a TD never maps one
      encodeExit(this.vcpu.run, memoryFaultExit(BigInt(page), false));
      throw new KvmError(
        "EFAULT",
        `KVM_EXIT_MEMORY_FAULT at gpa 0x${page.toString(16)}: memslot ${slot.slot} is read-only, which a TD cannot map`,
      );
    }
    this.td.sharedEpt.faultIn(page);
  }

  /**
   * EPT violation (R8 = GPA): an access whose kind (shared bit) disagrees with the gfn's attribute,
   * or a private access without guest_memfd backing → KVM_EXIT_MEMORY_FAULT and -EFAULT; a private
   * access to a private gfn → fault the guest_memfd page in, SEPT.ADD, PAGE.AUG (PENDING) and re-enter.
   */
  private eptViolation(): void {
    const out = this.out;
    const gpa = (out[16]! >>> 0) + (out[17]! >>> 0) * TWO32;
    const sharedValue = 2 ** this.td.sharedBit;
    const privateAccess = gpa < sharedValue;
    const canonical = privateAccess ? gpa : gpa - sharedValue;
    const page = canonical - (canonical % 4096);
    const memory = this.vcpu.vm.memory;
    const fault = () => {
      encodeExit(this.vcpu.run, memoryFaultExit(BigInt(page), privateAccess));
      throw new KvmError(
        "EFAULT",
        `KVM_EXIT_MEMORY_FAULT at gpa 0x${page.toString(16)} (${privateAccess ? "private" : "shared"} access)`,
      );
    };
    if (memory.attributes.isPrivate(page) !== privateAccess) fault();
    if (!privateAccess) {
      this.sharedFault(page);
      return;
    }
    if (this.td.mmu.privatePages.has(page)) {
      if ((out[4]! & 0xf) === ExtExitQualType.PENDING_EPT_VIOLATION) {
        // SEPT_VE_DISABLE: touching an AUGed page before TDG.MEM.PAGE.ACCEPT kills the TD
        this.td.bug();
        throw new KvmError(
          "EIO",
          `guest access before accepting 0x${page.toString(16)} on vCPU ${this.vcpu.id}`,
        );
      }
      return; // already mapped (the fault raced a mapping): retry the access
    }
    let hpa: number;
    try {
      hpa = memory.privatePfn(page);
    } catch {
      fault();
      return;
    }
    this.td.mmu.augPage(page, hpa);
  }
}
