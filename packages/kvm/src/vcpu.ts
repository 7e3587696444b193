// A vCPU file (rust-vmm's VcpuFd / kvm-ioctls vcpu.rs): the state KVM itself keeps for a vCPU —
// its id, the kvm_run mapping, mp_state, whether KVM_TDX_INIT_VCPU ran — and the refusals that
// need no CPU: register ioctls on a TD (protected state), the TD state rules of spec §1.11, and
// kvm_tdx_cmd checks. Running and the register state live elsewhere: a TD vCPU's in td-run.ts
// (the TDX module), a normal vCPU's in NormalVcpu / NormalRun (normal-*.ts, the x86 core).
import { asKvmError, KvmError } from "./errors.js";
import type { KvmDebugregs } from "./extra-state.js";
import { IoctlFile } from "./file.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { KvmRun } from "./kvm-run.js";
import { msrIo } from "./msrs.js";
import { NORMAL_VCPU_IOCTLS, normalVcpuIoctl } from "./normal-ioctls.js";
import { NormalVcpu } from "./normal-vcpu.js";
import type { TdControl } from "./td.js";
import { refuseProtectedState } from "./td-lifecycle.js";
import { getMsrs, type MsrEntry, msrIoctl, setMsrs } from "./td-msr-ioctls.js";
import { TdVcpuRunState } from "./td-run.js";
import { parseTdxCmd } from "./tdx-cmd.js";
import { decodeCpuid2, encodeTdxInitMemRegion, scratch, type TdxInitMemRegionArgs } from "./tdx-typed.js";
import { KVMIO, KvmExit, KvmMpState, KvmTdx, uapiName } from "./uapi/constants.js";
import { decodeIoctl } from "./uapi/ioc.js";
import {
  ioctlName,
  KVM_GET_CPUID2,
  KVM_GET_DEBUGREGS,
  KVM_GET_MP_STATE,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_RUN,
  KVM_SET_CPUID2,
  KVM_SET_DEBUGREGS,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
} from "./uapi/ioctls.js";
import type { StructDef } from "./uapi/struct.js";
import {
  KVM_MAX_CPUID_ENTRIES,
  type KvmCpuidEntry2,
  type KvmFpu,
  type KvmMsrEntry,
  type KvmRegs,
  type KvmSregs,
  type KvmVcpuEvents,
  type KvmXcrs,
  type KvmXsave,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmDebugregs,
  kvmFpu,
  kvmMpState,
  kvmMsrEntry,
  kvmRegs,
  kvmSregs,
  kvmTdxCmd,
  kvmVcpuEvents,
  kvmXcrs,
  kvmXsave,
} from "./uapi/structs.js";
import { VcpuCpuid } from "./vcpu-cpuid.js";
import { decodeExit, type VcpuExit } from "./vcpu-exit.js";
import type { Vm } from "./vm.js";

/** mp_state values KVM_SET_MP_STATE accepts on x86. */
const X86_MP_STATES: ReadonlySet<number> = new Set([
  KvmMpState.RUNNABLE,
  KvmMpState.UNINITIALIZED,
  KvmMpState.INIT_RECEIVED,
  KvmMpState.HALTED,
  KvmMpState.SIPI_RECEIVED,
  KvmMpState.AP_RESET_HOLD,
]);

export class Vcpu extends IoctlFile {
  readonly kind = "kvm-vcpu" as const;
  /** kvm_arch_vcpu_ioctl() answers unknown requests with EINVAL on x86. */
  protected readonly unknownIoctlErrno = "EINVAL" as const;
  fd = -1;
  /** The shared kvm_run mapping (what mmap(vcpu_fd) returns). */
  readonly run = new KvmRun();
  /**
   * vcpu->arch.mp_state: RUNNABLE without an in-kernel LAPIC or for the BSP (id 0), else
   * UNINITIALIZED. A TD vCPU is taken as UNINITIALIZED until KVM_TDX_INIT_VCPU makes it RUNNABLE
   * (spec §1.6; what tdx_vcpu_create leaves there is UNCONFIRMED).
   */
  mpState: number;
  /** KVM_TDX_INIT_VCPU done (vcpu_tdx state INITIALIZED). */
  tdInitialized = false;
  private tdRunState: TdVcpuRunState | undefined;
  private normalState: NormalVcpu | undefined;
  /** KVM_SET_CPUID2's model (kvm_cpuid emulation, the x2APIC check of KVM_TDX_INIT_VCPU). */
  readonly cpuidModel = new VcpuCpuid();
  /** kvm_vcpu_has_run(): the vCPU entered the guest at least once. */
  hasRun = false;

  constructor(
    readonly vm: Vm,
    readonly id: number,
  ) {
    super();
    this.mpState = vm.isTd
      ? KvmMpState.UNINITIALIZED
      : vm.irqchipMode === "none" || id === 0
        ? KvmMpState.RUNNABLE
        : KvmMpState.UNINITIALIZED;
    this.on(KVM_GET_MP_STATE, (arg) => {
      arg.write(kvmMpState.encode({ mp_state: this.getMpState() }), "kvm_mp_state");
      return 0;
    });
    this.on(KVM_SET_MP_STATE, (arg) => {
      this.setMpState(kvmMpState.decode(arg.read(kvmMpState.size, "kvm_mp_state")).mp_state);
      return 0;
    });
    for (const request of NORMAL_VCPU_IOCTLS) {
      this.on(request, (arg) => this.registerIoctl(request, arg));
    }
    this.on(KVM_RUN, (arg) => this.runRaw(arg));
    this.on(KVM_SET_CPUID2, (arg) => {
      this.cpuidModel.setRaw(this.vm.process.userMemory, arg.value, this.hasRun);
      this.normalState?.cpuidChanged();
      return 0;
    });
    this.on(KVM_GET_CPUID2, (arg) => {
      this.cpuidModel.getRaw(this.vm.process.userMemory, arg.value);
      return 0;
    });
    this.on(KVM_MEMORY_ENCRYPT_OP, (arg) => this.memoryEncryptOpRaw(arg));
    // TD vCPUs: KVM's emulated TDX MSRs; normal vCPUs: the core's MSR file (normal-ioctls.ts)
    this.on(KVM_GET_MSRS, (arg) =>
      this.vm.isTd ? msrIoctl(this, arg, false) : this.registerIoctl(KVM_GET_MSRS, arg),
    );
    this.on(KVM_SET_MSRS, (arg) =>
      this.vm.isTd ? msrIoctl(this, arg, true) : this.registerIoctl(KVM_SET_MSRS, arg),
    );
  }

  /** KVM_GET_MSRS (typed): the values of `indices` in order; stops at the first MSR that cannot be read. */
  getMsrs(indices: readonly number[]): MsrEntry[] {
    if (!this.vm.isTd) return this.normalGetMsrs(indices);
    this.vm.checkAlive();
    const entries = indices.map((index) => ({ index, data: 0n }));
    const n = asKvmError("KVM_GET_MSRS", () => getMsrs(this, entries));
    return entries.slice(0, n);
  }

  /** KVM_SET_MSRS (typed): how many entries were written (it stops at the first refused one). */
  setMsrs(entries: readonly MsrEntry[]): number {
    if (!this.vm.isTd) return this.normalSetMsrs(entries);
    this.vm.checkAlive();
    return asKvmError("KVM_SET_MSRS", () => setMsrs(this, entries));
  }

  /** kvm_vcpu_ioctl(): a dead VM gives EIO, a request of another ioctl type EINVAL, before any handler. */
  override ioctl(request: number, arg: IoctlArg): number {
    this.vm.checkAlive();
    if (decodeIoctl(request).type !== KVMIO) {
      throw new KvmError(
        "EINVAL",
        `ioctl 0x${(request >>> 0).toString(16)} is not a KVM ioctl (type ≠ 0xAE)`,
      );
    }
    return super.ioctl(request, arg);
  }

  getMpState(): number {
    this.vm.checkAlive();
    return this.mpState;
  }

  /** KVM_SET_MP_STATE: one of the x86 states (else EINVAL); needs an in-kernel LAPIC for anything but RUNNABLE. */
  setMpState(state: number): void {
    this.vm.checkAlive();
    if (!X86_MP_STATES.has(state)) {
      throw new KvmError("EINVAL", `kvm_mp_state.mp_state ${state} is not an x86 vCPU state`, {
        field: "kvm_mp_state.mp_state",
      });
    }
    if (this.vm.irqchipMode === "none" && state !== KvmMpState.RUNNABLE) {
      throw new KvmError(
        "EINVAL",
        `kvm_mp_state.mp_state ${uapiName(KvmMpState, state)} needs an in-kernel local APIC (irqchip)`,
        { field: "kvm_mp_state.mp_state" },
      );
    }
    // SIPI_RECEIVED is recorded as INIT_RECEIVED with a pending SIPI
    this.mpState = state === KvmMpState.SIPI_RECEIVED ? KvmMpState.INIT_RECEIVED : state;
  }

  private registerIoctl(request: number, arg: IoctlArg): number {
    this.vm.checkAlive();
    const protectedState = [
      KVM_GET_REGS,
      KVM_SET_REGS,
      KVM_GET_SREGS,
      KVM_SET_SREGS,
      KVM_GET_DEBUGREGS,
      KVM_SET_DEBUGREGS,
    ];
    if (this.vm.isTd && protectedState.includes(request)) refuseProtectedState(ioctlName(request));
    if (this.vm.isTd) {
      throw new KvmError("EINVAL", `${ioctlName(request)} is not implemented in tdxsim yet for this vCPU`);
    }
    return normalVcpuIoctl(this.normal, request, arg);
  }

  /** A normal VM vCPU's CPU and register state (created on first use). */
  get normal(): NormalVcpu {
    if (this.vm.isTd) throw new KvmError("EINVAL", "a TD vCPU has no normal-VM register state");
    this.normalState ??= new NormalVcpu(this);
    return this.normalState;
  }

  private runRaw(arg: IoctlArg): number {
    if (arg.value !== 0n)
      throw new KvmError("EINVAL", "KVM_RUN takes no argument (arg must be 0)", { field: "arg" });
    return this.runOnce();
  }

  private runOnce(): number {
    this.vm.checkAlive();
    if (!this.vm.isTd) return this.normal.runner.run();
    this.vm.td.checkRun(this.tdInitialized);
    return this.tdRun.run();
  }

  /** The TD vCPU's KVM_RUN state (after KVM_TDX_INIT_VCPU). */
  get tdRun(): TdVcpuRunState {
    if (!this.tdInitialized) throw new KvmError("EINVAL", "KVM_RUN needs KVM_TDX_INIT_VCPU on this vCPU");
    this.tdRunState ??= new TdVcpuRunState(this, this.vm.tdx);
    return this.tdRunState;
  }

  /** Guest instructions one KVM_RUN may execute before it returns -EINTR / KVM_EXIT_INTR. */
  setRunBudget(instructions: number): void {
    if (!Number.isSafeInteger(instructions) || instructions < 1)
      throw new KvmError("EINVAL", `run budget ${instructions} is not a positive integer`, {
        field: "budget",
      });
    if (this.vm.isTd) this.tdRun.budget = instructions;
    else this.normal.runner.budget = instructions;
  }

  /**
   * KVM_RUN (typed): the exit as a VcpuExit. A memory fault comes back as its exit (KVM returns
   * -EFAULT with it); EINTR (budget, halt, immediate_exit) comes back as { kind: "intr" }.
   */
  kvmRun(): VcpuExit {
    try {
      asKvmError("KVM_RUN", () => this.runOnce());
    } catch (e) {
      if (!(e instanceof KvmError)) throw e;
      if (e.code === "EINTR") return { kind: "intr" };
      if (e.code === "EFAULT" && this.run.exitReason === KvmExit.MEMORY_FAULT) return decodeExit(this.run);
      throw e;
    }
    return decodeExit(this.run);
  }

  /** KVM_GET_REGS (typed). */
  getRegs(): KvmRegs {
    return this.normalTyped("KVM_GET_REGS", (n) => n.getRegs());
  }

  /** KVM_SET_REGS (typed). */
  setRegs(regs: KvmRegs): void {
    this.normalTyped("KVM_SET_REGS", (n) => n.setRegs(Vcpu.asStruct(kvmRegs, regs)));
  }

  /** KVM_GET_SREGS (typed). */
  getSregs(): KvmSregs {
    return this.normalTyped("KVM_GET_SREGS", (n) => n.getSregs());
  }

  /** KVM_SET_SREGS (typed). */
  setSregs(sregs: KvmSregs): void {
    this.normalTyped("KVM_SET_SREGS", (n) => n.setSregs(Vcpu.asStruct(kvmSregs, sregs)));
  }

  private normalGetMsrs(indices: readonly number[]): MsrEntry[] {
    return this.normalTyped("KVM_GET_MSRS", (n) => {
      const entries = Vcpu.asList(indices, "kvm_msrs.entries").map((index) =>
        Vcpu.asStruct(kvmMsrEntry, { index, reserved: 0, data: 0n }),
      );
      return entries.slice(0, msrIo(n, entries, false)).map(({ index, data }) => ({ index, data }));
    });
  }

  private normalSetMsrs(entries: readonly MsrEntry[]): number {
    return this.normalTyped("KVM_SET_MSRS", (n) =>
      msrIo(
        n,
        Vcpu.asList(entries, "kvm_msrs.entries").map((e) =>
          Vcpu.asStruct(kvmMsrEntry, (e && { index: e.index, reserved: 0, data: e.data }) as KvmMsrEntry),
        ),
        true,
      ),
    );
  }

  /** KVM_GET_FPU (typed). */
  getFpu(): KvmFpu {
    return this.normalTyped("KVM_GET_FPU", (n) => n.getFpu());
  }

  /** KVM_SET_FPU (typed). */
  setFpu(fpu: KvmFpu): void {
    this.normalTyped("KVM_SET_FPU", (n) => n.setFpu(Vcpu.asStruct(kvmFpu, fpu)));
  }

  /** KVM_GET_VCPU_EVENTS (typed). */
  getVcpuEvents(): KvmVcpuEvents {
    return this.normalTyped("KVM_GET_VCPU_EVENTS", (n) => n.getVcpuEvents());
  }

  /** KVM_SET_VCPU_EVENTS (typed). */
  setVcpuEvents(events: KvmVcpuEvents): void {
    this.normalTyped("KVM_SET_VCPU_EVENTS", (n) => n.setVcpuEvents(Vcpu.asStruct(kvmVcpuEvents, events)));
  }

  /** KVM_GET_XSAVE (typed). */
  getXsave(): KvmXsave {
    return this.normalTyped("KVM_GET_XSAVE", (n) => n.getXsave());
  }

  /** KVM_SET_XSAVE (typed). */
  setXsave(xsave: KvmXsave): void {
    this.normalTyped("KVM_SET_XSAVE", (n) => n.setXsave(Vcpu.asStruct(kvmXsave, xsave)));
  }

  /** KVM_GET_XCRS (typed). */
  getXcrs(): KvmXcrs {
    return this.normalTyped("KVM_GET_XCRS", (n) => n.getXcrs());
  }

  /** KVM_SET_XCRS (typed). */
  setXcrs(xcrs: KvmXcrs): void {
    this.normalTyped("KVM_SET_XCRS", (n) => n.setXcrs(Vcpu.asStruct(kvmXcrs, xcrs)));
  }

  /** KVM_GET_DEBUGREGS (typed). */
  getDebugRegs(): KvmDebugregs {
    return this.normalTyped("KVM_GET_DEBUGREGS", (n) => n.getDebugRegs());
  }

  /** KVM_SET_DEBUGREGS (typed). */
  setDebugRegs(regs: KvmDebugregs): void {
    this.normalTyped("KVM_SET_DEBUGREGS", (n) => n.setDebugRegs(Vcpu.asStruct(kvmDebugregs, regs)));
  }

  /** KVM_INTERRUPT (typed, userspace irqchip): queue external interrupt `irq`. */
  interrupt(irq: number): void {
    this.normalTyped("KVM_INTERRUPT", (n) => n.interrupt(irq));
  }

  /** KVM_NMI (typed). */
  nmi(): void {
    this.normalTyped("KVM_NMI", (n) => n.nmi());
  }

  /** A typed argument checked the way the raw face's struct decoding checks it: EINVAL naming the field. */
  private static asStruct<V>(def: StructDef<V>, value: V): V {
    try {
      return def.decode(def.encode(value as Partial<V>));
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError)
        throw new KvmError("EINVAL", `${def.name}: ${e.message}`, { field: def.name });
      throw e;
    }
  }

  private static asList<T>(list: readonly T[], field: string): readonly T[] {
    if (!Array.isArray(list)) throw new KvmError("EINVAL", `${field} must be an array`, { field });
    return list;
  }

  private normalTyped<T>(ioctl: string, body: (n: NormalVcpu) => T): T {
    return asKvmError(ioctl, () => {
      this.vm.checkAlive();
      if (this.vm.isTd) {
        if (/REGS$/.test(ioctl)) refuseProtectedState(ioctl);
        throw new KvmError("EINVAL", `${ioctl} is not implemented in tdxsim yet for TD vCPUs`);
      }
      return body(this.normal);
    });
  }

  /** KVM_SET_CPUID2 (typed). */
  setCpuid2(entries: readonly KvmCpuidEntry2[]): void {
    asKvmError("KVM_SET_CPUID2", () => {
      this.vm.checkAlive();
      if (entries.length > KVM_MAX_CPUID_ENTRIES)
        throw new KvmError("E2BIG", `${entries.length} entries > KVM_MAX_CPUID_ENTRIES (256)`);
      this.cpuidModel.set(entries, this.hasRun);
      this.normalState?.cpuidChanged();
    });
  }

  /** KVM_GET_CPUID2 (typed). */
  getCpuid2(): KvmCpuidEntry2[] {
    this.vm.checkAlive();
    return this.cpuidModel.entries.map((e) => ({ ...e }));
  }

  /** KVM_TDX_INIT_VCPU (typed): `rcx` is the guest's initial RCX (QEMU: the TD HOB's GPA). */
  tdxInitVcpu(rcx: bigint = 0n): void {
    this.tdxTyped("KVM_TDX_INIT_VCPU", (td) =>
      td.initVcpu(this, { id: KvmTdx.INIT_VCPU, flags: 0, data: rcx }),
    );
  }

  /** KVM_TDX_INIT_MEM_REGION (typed): `source` pages copied into the TD at `gpa`, measured if asked. */
  tdxInitMemRegion(args: TdxInitMemRegionArgs): void {
    const { mem, addr, flags } = encodeTdxInitMemRegion(args);
    this.tdxTyped("KVM_TDX_INIT_MEM_REGION", (td) =>
      td.initMemRegion(this, { id: KvmTdx.INIT_MEM_REGION, flags, data: addr }, mem),
    );
  }

  /** KVM_TDX_GET_CPUID (typed): the TD's CPUID entries. */
  tdxGetCpuid(): KvmCpuidEntry2[] {
    const room = KVM_MAX_CPUID_ENTRIES * kvmCpuidEntry2.size;
    const { mem, addr } = scratch(kvmCpuid2Header.encode({ nent: KVM_MAX_CPUID_ENTRIES, padding: 0 }), room);
    this.tdxTyped("KVM_TDX_GET_CPUID", (td) =>
      td.getCpuid(this, { id: KvmTdx.GET_CPUID, flags: 0, data: addr }, mem),
    );
    return decodeCpuid2(mem, addr);
  }

  private tdxTyped(ioctl: string, body: (td: TdControl) => void): void {
    asKvmError(ioctl, () => {
      this.vm.checkAlive();
      if (!this.vm.isTd) throw new KvmError("EINVAL", "KVM_MEMORY_ENCRYPT_OP on a vCPU needs a TD vCPU");
      this.vm.td.checkVcpuCommand();
      body(this.vm.tdx);
    });
  }

  /** A vCPU file closed: the VM may now be destroyed. */
  release(): void {
    this.vm.maybeDestroy();
  }

  /**
   * KVM_MEMORY_ENCRYPT_OP on a vCPU fd (tdx_vcpu_ioctl): EINVAL for a non-TD vCPU, then the TD
   * state rule (no HKID yet or already RUNNABLE → EINVAL), then the kvm_tdx_cmd checks.
   */
  private memoryEncryptOpRaw(arg: IoctlArg): number {
    this.vm.checkAlive();
    if (!this.vm.isTd) throw new KvmError("EINVAL", "KVM_MEMORY_ENCRYPT_OP on a vCPU needs a TD vCPU");
    this.vm.td.checkVcpuCommand();
    const cmd = parseTdxCmd(arg.read(kvmTdxCmd.size, "kvm_tdx_cmd"), "vcpu");
    const td = this.vm.tdx;
    switch (cmd.id) {
      case KvmTdx.INIT_VCPU:
        td.initVcpu(this, cmd);
        break;
      case KvmTdx.INIT_MEM_REGION:
        td.initMemRegion(this, cmd);
        break;
      default:
        td.getCpuid(this, cmd);
    }
    return 0;
  }
}
