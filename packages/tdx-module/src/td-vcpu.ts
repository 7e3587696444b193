// The guest side of one TD vCPU, as the x86 CPU uses it: the TDVPS register file, TDCALL dispatch,
// translate() for TLB fills, CPUID virtualisation, #VE bookkeeping and the reset state.

import { EptQual, ExitReason } from "./abi/vmx.js";
import type { ModuleContext } from "./context.js";
import { tdCpuid } from "./cpuid.js";
import { getReg, setReg, type TdGuestRegs } from "./guest-regs.js";
import { deliverEptVe, FaultKind, injectVe, TdMemory, type TranslateFault } from "./td-memory.js";
import type { VcpuStateData } from "./td-state.js";
import { TdcallHandler, TdExit } from "./tdcall.js";
import { initialVcpuState, type TdVcpuInitialState } from "./vcpu-init.js";

export class TdVcpu {
  readonly memory: TdMemory;
  readonly exit = new TdExit();
  /** TDVPS guest register file; the CPU may run directly on these arrays (it implements cpl/longMode64). */
  readonly regs: TdGuestRegs & { cpl: number; longMode64: boolean };
  private readonly handler: TdcallHandler;
  /**
   * Set when the module writes `regs.xmm` while the vCPU is out (reset, a VMCALL answer with XMMs):
   * a CPU that keeps its own copy across entries must reload it then.
   */
  xmmDirty = true;

  constructor(
    ctx: ModuleContext,
    readonly state: VcpuStateData,
  ) {
    this.memory = new TdMemory(ctx, state.td);
    this.handler = new TdcallHandler(ctx, state, this.memory, this.exit);
    this.regs = { gpr: new Int32Array(32), xmm: new Int32Array(64), cpl: 0, longMode64: false };
    this.reset();
  }

  /** Loads the reset-vector GPRs (done at creation and again by TDH.VP.INIT). */
  reset(): void {
    const init = initialVcpuState(this.state);
    for (let r = 0; r < 16; r++) setReg(this.regs.gpr, r, init.gpr[r]);
    this.regs.xmm.fill(0);
    this.xmmDirty = true;
    this.regs.cpl = 0;
    this.regs.longMode64 = false;
  }

  get vcpuIndex(): number {
    return this.state.vcpuIndex;
  }

  /** Handles the TDCALL in `regs` (default: the TDVPS register file); returns a TdcallOutcome. */
  tdcall(regs: TdGuestRegs = this.regs): number {
    return this.handler.tdcall(regs);
  }

  /** Completes a VP.VMCALL exit on re-entry: RAX = 0, RCX = control, exposed registers from the host. */
  resumeVmcall(hostGpr: Int32Array, hostXmm?: Int32Array, regs: TdGuestRegs = this.regs): void {
    this.handler.resumeVmcall(regs, hostGpr, hostXmm);
    if (hostXmm) this.xmmDirty = true;
  }

  /** What interruptible TDCALL leaves ask after each unit of work (see TdcallHandler.interruptPending). */
  setInterruptCheck(check: () => boolean): void {
    this.handler.interruptPending = check;
  }

  /** True while a VP.VMCALL exit waits for the host's answer. */
  get vmcallPending(): boolean {
    return this.state.pendingVmcall !== -1;
  }

  /** The 4 KiB host page holding `gpa` (TLB fill), or null with the reason in `memory.fault`. */
  translate(gpa: number, access: number): Uint8Array | null {
    return this.memory.translate(gpa, access);
  }

  /** CPUID as the TD sees it; false → the module injects #VE (exit reason 10) instead. */
  cpuid(
    leaf: number,
    subleaf: number,
    cpl: number,
    cr4OsXsave: boolean,
    out: Uint32Array | Int32Array,
  ): boolean {
    return tdCpuid(
      this.state.td,
      this.state.vcpuIndex,
      this.state.cpuidVe,
      cpl,
      leaf,
      subleaf,
      cr4OsXsave,
      out,
    );
  }

  /** Module-injected #VE; returns the vector to deliver (20, or 8 when VE_INFO was still valid). */
  injectVe(
    exitReason: number,
    qualification: number,
    glaLo: number,
    glaHi: number,
    gpa: number,
    instrLength: number,
    instrInfo: number,
  ): number {
    return injectVe(this.state, exitReason, qualification, glaLo, glaHi, gpa, instrLength, instrInfo);
  }

  /**
   * Fills `exit` for a translate() fault that leaves the TD (EPT violation or misconfiguration); the
   * executor then returns TdRunResult.TD_EXIT. RIP stays on the faulting instruction.
   */
  exitFromFault(fault: TranslateFault, glaValid: boolean): void {
    const e = this.exit;
    e.reason = fault.kind === FaultKind.EPT_MISCONFIG ? ExitReason.EPT_MISCONFIG : ExitReason.EPT_VIOLATION;
    e.advanceRip = false;
    e.exitQualification =
      fault.exitQualification | (glaValid ? EptQual.GLA_VALID | EptQual.GLA_TRANSLATION : 0);
    e.extExitQualification = fault.extExitQualification;
    e.gpa = fault.gpa;
  }

  /** Delivers a translate() fault of kind VE (see td-memory.ts); −1 means TD exit instead. */
  deliverEptVe(fault: TranslateFault, glaLo: number, glaHi: number, glaValid: boolean): number {
    return deliverEptVe(this.state, fault, glaLo, glaHi, glaValid);
  }

  /** The register state at the reset vector (spec §4). */
  initialState(): TdVcpuInitialState {
    return initialVcpuState(this.state);
  }

  /** @internal debug-TD register access for TDH.VP.RD/WR. */
  readGpr(reg: number): bigint {
    return getReg(this.regs.gpr, reg);
  }
  /** @internal */
  writeGpr(reg: number, value: bigint): void {
    setReg(this.regs.gpr, reg, value);
  }
}
