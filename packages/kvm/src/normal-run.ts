// KVM_RUN for a normal (KVM_X86_DEFAULT_VM) vCPU (kvm_arch_vcpu_ioctl_run / vcpu_run / the VMX exit
// handlers, 6.16) on the @tdxsim/x86 Cpu: complete what userspace answered, check the guest state
// once it was changed from outside (KVM_EXIT_FAIL_ENTRY), run the CPU with the instruction budget,
// and turn its stops into KVM's exits or in-kernel work:
//   io → KVM_EXIT_IO (data at run + 4096; OUTS one element per exit, INS read-ahead as the
//        emulator does, OUT 0x7e advances RIP first: KVM_X86_QUIRK_OUT_7E_INC_RIP)
//   mmio → KVM_EXIT_MMIO in fragments of ≤ 8 bytes; a read completes on the next KVM_RUN
//   hlt → KVM_EXIT_HLT without an in-kernel LAPIC; with one, mp_state HALTED (-EINTR)
//   rdmsr/wrmsr → filter, then the core's MSRs; a failure exits (KVM_CAP_X86_USER_SPACE_MSR) or #GPs
//   vmcall → KVM hypercalls (-KVM_ENOSYS unless handled; KVM_HC_MAP_GPA_RANGE exits when enabled)
//   shutdown → KVM_EXIT_SHUTDOWN; unsupported → KVM_EXIT_INTERNAL_ERROR (EMULATION)
//   budget → KVM_EXIT_INTR + -EINTR, as a signal would.
import type { Cpu, CpuStop } from "@tdxsim/x86";
import { DF, FLAGS_REST, IF, RDI } from "@tdxsim/x86";
import { emulationFailureData } from "./emulation-failure.js";
import { KvmError } from "./errors.js";
import { VMX_ENTRY_FAILURE_INVALID_GUEST_STATE } from "./guest-state.js";
import { KvmMsrRet, type KvmMsrRetValue, msrFailureOutcome } from "./msr-exits.js";
import { kvmHypercall } from "./normal-hypercall.js";
import type { NormalVcpu } from "./normal-vcpu.js";
import {
  KVM_EXIT_HYPERCALL_LONG_MODE,
  KvmExit,
  KvmExitIo,
  KvmInternalError,
  KvmMpState,
  uapiName,
} from "./uapi/constants.js";
import { KVM_PIO_DATA_OFFSET } from "./uapi/kvm-run-layout.js";
import type { QueuedException } from "./vcpu-events.js";

/** Default instruction budget of one KVM_RUN (a runaway guest returns -EINTR after it). */
export const DEFAULT_RUN_BUDGET = 1_000_000;

const M64 = (1n << 64n) - 1n;
/** sizeof(struct read_cache.data): the emulator reads string INs ahead into 1 KiB. */
const PIO_READ_AHEAD = 1024;
/** KVM_X86_QUIRK_OUT_7E_INC_RIP (on by default): OUT to this port exits with RIP already advanced. */
const QUIRK_PORT_0X7E = 0x7e;
/** MMIO data travels in kvm_run.mmio.data[8]: longer accesses exit once per 8-byte fragment. */
const MMIO_FRAGMENT = 8;

type Pending =
  | { kind: "pioIn"; size: number; count: number }
  | { kind: "pioOut" }
  | { kind: "mmio"; isWrite: boolean; gpa: number; data: Uint8Array; done: number }
  | { kind: "msr"; read: boolean }
  | { kind: "hypercall"; longMode: boolean };

/** In-kernel outcome of a stop: exit to userspace, keep running, or handle another stop now. */
type Handled = "exit" | "continue" | CpuStop;

const lo32 = (v: bigint) => Number(v & 0xffffffffn) | 0;
const hi32 = (v: bigint) => Number((v >> 32n) & 0xffffffffn) | 0;

export class NormalRun {
  budget = DEFAULT_RUN_BUDGET;
  private pending: Pending | undefined;
  /** String-IN elements read ahead (pio_in_emulated's read_cache), served without an exit. */
  private readAhead: { port: number; size: number; data: Uint8Array; pos: number } | undefined;
  /** What injecting an event on completion produced (e.g. SHUTDOWN), reported at the next entry. */
  private injected: CpuStop | undefined;
  /** An exception KVM_SET_VCPU_EVENTS queued: delivered when the guest is next entered. */
  queuedException: QueuedException | undefined;

  constructor(private readonly vcpu: NormalVcpu) {}

  private get cpu(): Cpu {
    return this.vcpu.cpu;
  }

  /** KVM_RUN: 0 with an exit in kvm_run, or throws KvmError (EINTR). */
  run(): number {
    try {
      return this.runInner();
    } finally {
      this.vcpu.saveRunState();
    }
  }

  private runInner(): number {
    const owner = this.vcpu.owner;
    const run = owner.run;
    if (this.pending && this.complete()) return 0;
    if (run.immediateExit !== 0) throw new KvmError("EINTR", "KVM_RUN: immediate_exit is set");
    const cpu = this.cpu;
    if (owner.mpState !== KvmMpState.RUNNABLE && owner.mpState !== KvmMpState.HALTED) {
      // an AP waiting for INIT/SIPI blocks in KVM_RUN; without a LAPIC nothing sends them
      return this.interrupted(`the vCPU is ${uapiName(KvmMpState, owner.mpState)} (waiting for INIT/SIPI)`);
    }
    if (owner.mpState === KvmMpState.HALTED) {
      if (!this.vcpu.eventPending()) return this.interrupted("the vCPU is halted and nothing can wake it");
      owner.mpState = KvmMpState.RUNNABLE;
    } else if (cpu.st.halted) {
      cpu.st.halted = false; // KVM_SET_MP_STATE(RUNNABLE) ended the HLT
    }
    const bad = this.vcpu.entryCheck();
    owner.hasRun = true;
    if (bad !== undefined) {
      run.exitReason = KvmExit.FAIL_ENTRY;
      run.failEntry.hardwareEntryFailureReason = VMX_ENTRY_FAILURE_INVALID_GUEST_STATE;
      run.failEntry.cpu = 0;
      this.vcpu.lastExitDetail = `VM entry failed: ${bad}`;
      return 0;
    }
    const queued = this.queuedException;
    if (queued) {
      this.queuedException = undefined;
      this.injected ??= cpu.injectException(queued.vector, queued.errorCode);
    }
    const st = cpu.st;
    const start = st.retired;
    // request_interrupt_window (dm_request_for_irq_injection: no in-kernel PIC): exit with
    // KVM_EXIT_IRQ_WINDOW_OPEN at the first instruction boundary where an interrupt could be
    // injected — found by stepping one instruction at a time while the window is closed
    const wantWindow = run.requestInterruptWindow !== 0 && owner.vm.irqchipMode !== "kernel";
    for (;;) {
      if (wantWindow && this.vcpu.readyForInterrupt()) {
        run.exitReason = KvmExit.IRQ_WINDOW_OPEN;
        return 0;
      }
      const left = this.budget - (st.retired - start);
      if (left <= 0) return this.interrupted("the instruction budget ran out");
      let stop: Handled = this.injected ?? cpu.run(wantWindow ? 1 : left);
      this.injected = undefined;
      while (typeof stop === "object") stop = this.handle(stop);
      if (stop === "exit") return 0;
    }
  }

  /** A signal-like return: KVM_EXIT_INTR in kvm_run, -EINTR from the ioctl. */
  private interrupted(why: string): never {
    this.vcpu.owner.run.exitReason = KvmExit.INTR;
    throw new KvmError("EINTR", `KVM_RUN interrupted: ${why}`);
  }

  private handle(stop: CpuStop): Handled {
    switch (stop.reason) {
      case "io":
        return this.io(stop);
      case "mmio":
        return this.mmio(stop.gpa, stop.isWrite, stop.data);
      case "hlt":
        return this.hlt();
      case "rdmsr":
        return this.msr(true, stop.index, 0n);
      case "wrmsr":
        return this.msr(false, stop.index, stop.value);
      case "vmcall":
        return this.hypercall();
      case "cpuid": {
        // not reached (the CPU asks the KVM_SET_CPUID2 model itself); answered the same way
        const [a, b, c, d] = this.vcpu.owner.cpuidModel.cpuid(stop.leaf, stop.subleaf);
        this.cpu.completeCpuid(a, b, c, d);
        return "continue";
      }
      case "tdcall":
      case "seamcall":
        // VM exits KVM answers with #UD outside a TD (handle_tdx_instruction)
        return this.cpu.injectException(6) ?? "continue";
      case "shutdown":
        this.vcpu.owner.run.exitReason = KvmExit.SHUTDOWN;
        this.vcpu.lastExitDetail = stop.detail;
        return "exit";
      case "budget-exhausted":
        return "continue"; // the loop sees the budget spent
      case "unsupported":
        return this.emulationFailure(stop.message);
      case "instruction":
      case "cr-access":
        // TD exit controls (stopInstructions / crWrite): a normal VM's CPU never enables them
        return this.internalError(
          KvmInternalError.UNEXPECTED_EXIT_REASON,
          `unexpected CPU stop ${stop.reason}`,
          [0n, 0n],
        );
      default:
        // gpa-fault / ve need an EPT with private pages: no normal-VM second stage produces them
        return this.internalError(
          KvmInternalError.UNEXPECTED_EXIT_REASON,
          `unexpected CPU stop ${stop.reason}`,
          [BigInt(stop.gpa), BigInt(stop.qualification)],
        );
    }
  }

  // ---- completion on the next KVM_RUN (complete_userspace_io) ----

  /** Returns true when KVM_RUN returns at once with another exit (the next MMIO fragment). */
  private complete(): boolean {
    const p = this.pending!;
    this.pending = undefined;
    const run = this.vcpu.owner.run;
    const cpu = this.cpu;
    switch (p.kind) {
      case "pioIn": {
        const bytes = run.pioData(p.size * p.count).slice();
        if (p.count > 1) this.readAhead = { port: run.io.port, size: p.size, data: bytes, pos: 1 };
        cpu.completeIo(readLe(bytes, 0, p.size));
        return false;
      }
      case "pioOut":
        cpu.skipInstruction();
        return false;
      case "mmio": {
        const n = Math.min(MMIO_FRAGMENT, p.data.length - p.done);
        if (!p.isWrite) p.data.set(run.mmio.data.subarray(0, n), p.done);
        p.done += n;
        if (p.done < p.data.length) {
          this.mmioExit(p);
          return true;
        }
        if (!p.isWrite) cpu.completeMmioRead(p.data);
        return false;
      }
      case "msr": {
        const m = run.msr;
        if (m.error !== 0) {
          this.deferredStop(cpu.injectException(13, 0));
          return false;
        }
        if (p.read) cpu.completeRdmsr(m.data);
        else cpu.skipInstruction();
        return false;
      }
      case "hypercall":
        this.setRax(p.longMode ? run.hypercall.ret : run.hypercall.ret & 0xffffffffn);
        cpu.skipInstruction();
        return false;
    }
  }

  /** A stop raised while completing (a #GP that triple-faults) is handled before the guest runs on. */
  private deferredStop(stop: CpuStop | undefined): void {
    this.injected = stop;
  }

  // ---- port I/O ----

  private io(stop: Extract<CpuStop, { reason: "io" }>): Handled {
    const run = this.vcpu.owner.run;
    const cpu = this.cpu;
    const { size, port } = stop;
    if (stop.direction === "in") {
      const ra = this.readAhead;
      if (stop.string && ra && ra.port === port && ra.size === size && ra.pos * size < ra.data.length) {
        cpu.completeIo(readLe(ra.data, ra.pos * size, size));
        ra.pos++;
        return "continue";
      }
      this.readAhead = undefined;
      const count = stop.string ? this.insCount(stop) : 1;
      this.ioExit(KvmExitIo.IN, size, port, count);
      this.pending = { kind: "pioIn", size, count };
      return "exit";
    }
    this.readAhead = undefined;
    this.ioExit(KvmExitIo.OUT, size, port, 1);
    writeLe(run.pioData(size), 0, size, stop.data);
    if (!stop.string && port === QUIRK_PORT_0X7E) cpu.skipInstruction();
    else this.pending = { kind: "pioOut" };
    return "exit";
  }

  /**
   * Elements one string-IN exit asks for (pio_in_emulated): min(bytes left in RDI's page, what
   * fits in the 1 KiB read-ahead, the REP count), at least 1 — the kernel compares the page
   * remainder in bytes with element counts, and so does this.
   */
  private insCount(stop: Extract<CpuStop, { reason: "io" }>): number {
    if (!stop.rep) return 1;
    const r = this.cpu.r;
    const rdiPage = r[RDI << 1]! & 4095;
    const down = (r[FLAGS_REST]! & DF) !== 0;
    const inPage = down ? rdiPage : 4096 - rdiPage;
    return Math.max(1, Math.min(inPage, Math.floor(PIO_READ_AHEAD / stop.size), stop.count));
  }

  private ioExit(direction: number, size: number, port: number, count: number): void {
    const run = this.vcpu.owner.run;
    run.exitReason = KvmExit.IO;
    const io = run.io;
    io.direction = direction;
    io.size = size;
    io.port = port;
    io.count = count;
    io.dataOffset = KVM_PIO_DATA_OFFSET;
  }

  // ---- MMIO ----

  private mmio(gpa: number, isWrite: boolean, data: Uint8Array): Handled {
    this.readAhead = undefined;
    const p: Pending = {
      kind: "mmio",
      isWrite,
      gpa,
      data: isWrite ? data : new Uint8Array(data.length),
      done: 0,
    };
    this.mmioExit(p);
    return "exit";
  }

  private mmioExit(p: Extract<Pending, { kind: "mmio" }>): void {
    const run = this.vcpu.owner.run;
    const n = Math.min(MMIO_FRAGMENT, p.data.length - p.done);
    run.exitReason = KvmExit.MMIO;
    const m = run.mmio;
    m.physAddr = BigInt(p.gpa + p.done);
    m.len = n;
    m.isWrite = p.isWrite ? 1 : 0;
    m.data.fill(0);
    if (p.isWrite) m.data.set(p.data.subarray(p.done, p.done + n));
    this.pending = p;
  }

  // ---- HLT ----

  private hlt(): Handled {
    const owner = this.vcpu.owner;
    if (owner.vm.irqchipMode === "none") {
      // kvm_emulate_halt without an in-kernel LAPIC: userspace decides; the HLT has retired
      this.cpu.st.halted = false;
      owner.run.exitReason = KvmExit.HLT;
      return "exit";
    }
    owner.mpState = KvmMpState.HALTED;
    return this.interrupted("the vCPU halted and nothing can wake it (no interrupt pending)");
  }

  // ---- MSRs ----

  /** Guest RDMSR/WRMSR (kvm_emulate_rdmsr/wrmsr): filter, then the core's MSR file. */
  private msr(read: boolean, index: number, value: bigint): Handled {
    const owner = this.vcpu.owner;
    const cpu = this.cpu;
    let ret: KvmMsrRetValue = KvmMsrRet.OK;
    let result = 0n;
    if (!owner.vm.msrFilter.allows(index, read ? "read" : "write")) ret = KvmMsrRet.FILTERED;
    else {
      const r = this.vcpu.accessMsr(index, read ? undefined : value);
      if (typeof r === "bigint") result = r;
      else ret = r;
    }
    if (ret === KvmMsrRet.OK) {
      if (read) cpu.completeRdmsr(result);
      else cpu.skipInstruction();
      return "continue";
    }
    const outcome = msrFailureOutcome(ret, owner.vm.userSpaceMsrMask);
    if (outcome.kind === "fault") return cpu.injectException(13, 0) ?? "continue";
    const run = owner.run;
    run.exitReason = read ? KvmExit.X86_RDMSR : KvmExit.X86_WRMSR;
    const m = run.msr;
    m.error = 0;
    run.bytes.fill(0, 33, 40); // msr.pad[7]
    m.reason = outcome.reason;
    m.index = index;
    m.data = value;
    this.pending = { kind: "msr", read };
    return "exit";
  }

  // ---- hypercalls ----

  private hypercall(): Handled {
    const outcome = kvmHypercall(this.cpu, this.vcpu.owner.vm.hypercallExitEnabled);
    if (outcome.kind === "exit") {
      const run = this.vcpu.owner.run;
      run.exitReason = KvmExit.HYPERCALL;
      const h = run.hypercall;
      h.nr = outcome.nr;
      h.args = outcome.args;
      h.ret = 0n;
      h.flags = outcome.longMode ? KVM_EXIT_HYPERCALL_LONG_MODE : 0n;
      this.pending = { kind: "hypercall", longMode: outcome.longMode };
      return "exit";
    }
    this.setRax(outcome.ret);
    this.cpu.skipInstruction();
    return "continue";
  }

  private setRax(v: bigint): void {
    const value = v & M64;
    this.cpu.r[0] = lo32(value);
    this.cpu.r[1] = hi32(value);
  }

  // ---- internal errors ----

  /** An instruction the CPU cannot execute: KVM's emulation-failure exit (emulation-failure.ts). */
  private emulationFailure(message: string): Handled {
    return this.internalError(KvmInternalError.EMULATION, message, emulationFailureData(this.cpu));
  }

  private internalError(suberror: number, message: string, data: bigint[]): Handled {
    const run = this.vcpu.owner.run;
    run.exitReason = KvmExit.INTERNAL_ERROR;
    run.internal.suberror = suberror;
    run.internal.ndata = data.length;
    run.internal.data = data;
    this.vcpu.lastExitDetail = message;
    return "exit";
  }

  /**
   * KVM_SET_REGS moved RIP while a port I/O waited for completion: complete_fast_pio_in/out see
   * the RIP changed and drop it (the instruction is not retired, IN data is not written).
   */
  dropPioCompletion(): void {
    const kind = this.pending?.kind;
    if (kind !== "pioIn" && kind !== "pioOut") return;
    this.vcpu.abandonExit();
    this.pending = undefined;
    this.readAhead = undefined;
  }

  /** An exit is waiting for userspace's answer. */
  get hasPending(): boolean {
    return this.pending !== undefined;
  }
}

function readLe(bytes: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = (v * 256 + bytes[at + i]!) >>> 0;
  return v | 0;
}

function writeLe(bytes: Uint8Array, at: number, size: number, value: number): void {
  for (let i = 0; i < size; i++) bytes[at + i] = (value >>> (8 * i)) & 0xff;
}

/** EFLAGS.IF, for kvm_run.if_flag. */
export function ifFlag(cpu: Cpu): number {
  return (cpu.r[FLAGS_REST]! & IF) !== 0 ? 1 : 0;
}
