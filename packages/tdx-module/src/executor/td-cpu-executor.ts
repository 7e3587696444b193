// The real TdGuestExecutor: one @tdxsim/x86 Cpu per TD vCPU, running guest code under the TDX
// module's rules (tdx-abi.md §1.1, §2.1, §3, §4, §6). TDCALL goes to vcpu.tdcall(); CPUID to the
// module's CPUID virtualisation; HLT, I/O, VMCALL and MSRs to the module's disposition tables (#VE
// with VE_INFO, #GP or #UD); second-stage refusals become #VE or TD exits.
//
// Register consistency: the Cpu's register file is the live copy while run() executes; TDCALL
// handlers work on it directly (a TdGuestRegs view over the Cpu's arrays, no copies). vcpu.regs
// (the TDVPS copy, which TDH.VP.ENTER's VMCALL completion and the debug VP.RD/WR use) is copied
// into the Cpu at every entry and back at every exit: 96 int32 moves per boundary.
import { Cpu, type CpuStop, cpl } from "@tdxsim/x86";
import { ExitReason, Vector } from "../abi/vmx.js";
import { NATIVE_CPUID1_EAX } from "../cpuid.js";
import type { TdGuestRegs } from "../guest-regs.js";
import { type TdGuestExecutor, TdRunResult } from "../host/vp-enter.js";
import {
  crWriteDisposition,
  Disposition,
  instructionDisposition,
  msrDisposition,
  xcr0AllowedMask,
} from "../td-exits.js";
import { FaultKind } from "../td-memory.js";
import type { TdVcpu } from "../td-vcpu.js";
import { TdcallOutcome } from "../tdcall.js";
import { loadInitialState } from "./initial-state.js";
import { instructionLength, interceptedInstruction, ioQualification } from "./instruction-info.js";
import { TdGuestPhysicalMap } from "./td-physical-map.js";

const RIP_LO = 32;
const RIP_HI = 33;
const CR4_OSXSAVE = 1 << 18;
const TDG_MEM_PAGE_ACCEPT = 6;
/** GLA-valid and final-translation bits of an EPT-violation qualification (the MMU sets them). */
const QUAL_GLA_BITS = 0x180;
/** Cache instructions the TD never runs: #VE with their exit reasons (INVD 13, WBINVD/WBNOINVD 54). */
const CACHE_INSTRUCTIONS: ReadonlyMap<string, number> = new Map([
  ["WBINVD", ExitReason.WBINVD],
  ["WBNOINVD", ExitReason.WBINVD],
  ["INVD", ExitReason.INVD],
]);

/** The core's crWrite answer for a module disposition: #VE needs the stop (VE_INFO is filled here). */
function crWriteAction(d: number): "native" | "gp" | "stop" {
  return d === Disposition.VE ? "stop" : d === Disposition.GP ? "gp" : "native";
}

export interface TdCpuExecutorOptions {
  /** Software TLB entries per vCPU (power of two, 256..4096). */
  tlbSize?: number;
}

/** One TD vCPU on the x86 core. */
export class TdVcpuCpu {
  readonly cpu: Cpu;
  readonly map: TdGuestPhysicalMap;
  /** What vcpu.tdcall() reads and writes: the Cpu's own registers. */
  readonly regs: TdGuestRegs;
  private readonly cpuidOut = new Uint32Array(4);

  constructor(
    readonly vcpu: TdVcpu,
    options: TdCpuExecutorOptions,
  ) {
    this.map = new TdGuestPhysicalMap(vcpu);
    const td = vcpu.state.td;
    const cpu: Cpu = new Cpu({
      map: this.map,
      tlbSize: options.tlbSize,
      // What the TD's CPUID says: MAXPHYADDR 52 (0x80000008.EAX[7:0], tdx-abi.md §3.2), the native
      // F/M/S the module samples, vCPU 0 as the BSP.
      config: { maxPhysAddr: 52, signature: NATIVE_CPUID1_EAX, bsp: vcpu.vcpuIndex === 0 },
      // Every MSR access is checked against the TD's MSR table; #VE stays with the module.
      // and the TD's instruction rules (tdx-abi.md §3.2): cache instructions stop (→ #VE), CR0/CR4
      // writes follow the module's CR rules, XSETBV is limited to XFAM.
      exits: {
        cpuid: "stop",
        allMsrs: true,
        ve: "stop",
        stopInstructions: new Set(CACHE_INSTRUCTIONS.keys()),
        crWrite: (cr, lo, hi) => crWriteAction(crWriteDisposition(td, cr, lo, hi, cpu.st.cr0, cpu.st.cr4)),
        xcr0Allowed: xcr0AllowedMask(td),
      },
    });
    this.cpu = cpu;
    vcpu.setInterruptCheck(() => this.acceptInterrupted());
    loadInitialState(cpu, vcpu.initialState());
    const gpr = cpu.r.subarray(0, 32);
    const xmm = cpu.st.xmm.i32.subarray(0, 64);
    this.regs = {
      gpr,
      xmm,
      get cpl() {
        return cpl(cpu.st);
      },
      get longMode64() {
        return cpu.mode64;
      },
    };
  }

  /** vcpu.regs → Cpu (at entry); the XMMs only when the module changed them while the vCPU was out. */
  loadRegs(): void {
    const v = this.vcpu;
    this.regs.gpr.set(v.regs.gpr);
    if (v.xmmDirty || !this.loaded) {
      this.regs.xmm.set(v.regs.xmm);
      v.xmmDirty = false;
      this.loaded = true;
    }
  }
  /** This Cpu has had the vCPU's registers loaded once (its XMMs are the live copy since). */
  private loaded = false;

  /** Cpu → vcpu.regs (at exit). */
  storeRegs(): void {
    const v = this.vcpu.regs;
    v.gpr.set(this.regs.gpr);
    v.xmm.set(this.regs.xmm);
    v.cpl = cpl(this.cpu.st);
    v.longMode64 = this.cpu.mode64;
  }

  /** Instructions left in the current TDH.VP.ENTER. */
  private budgetLeft = 0;

  /**
   * A 2 MiB ACCEPT charges one instruction of budget per 4 KiB page it zeroes: when the budget runs
   * out mid-way (the simulator's host interrupt) or a virtual interrupt is pending, the TDCALL stops
   * and re-executes later from the SEPT entry's progress counter.
   */
  private acceptInterrupted(): boolean {
    this.budgetLeft--;
    return this.budgetLeft <= 0 || this.vcpu.state.vmxip;
  }

  run(budget: number): number {
    const cpu = this.cpu;
    this.map.enter();
    this.loadRegs();
    this.budgetLeft = budget;
    let result: number | undefined;
    while (result === undefined) {
      const before = cpu.st.retired;
      let stop: CpuStop | undefined = cpu.run(this.budgetLeft);
      this.budgetLeft -= cpu.st.retired - before;
      // A stop can lead to another without running (an injected exception that faults).
      while (stop !== undefined && result === undefined) {
        const next = this.handle(stop);
        if (typeof next === "number") result = next;
        else stop = next;
      }
    }
    this.storeRegs();
    return result;
  }

  /** A TdRunResult to leave the TD, a follow-up stop, or undefined to keep running. */
  private handle(stop: CpuStop): number | CpuStop | undefined {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    const td = vcpu.state.td;
    switch (stop.reason) {
      case "tdcall":
        return this.tdcall();
      case "cpuid": {
        const cr4 = cpu.st.cr4;
        const out = this.cpuidOut;
        if (vcpu.cpuid(stop.leaf, stop.subleaf, cpl(cpu.st), (cr4 & CR4_OSXSAVE) !== 0, out)) {
          cpu.completeCpuid(out[0] | 0, out[1] | 0, out[2] | 0, out[3] | 0);
          return undefined;
        }
        return this.injectVe(ExitReason.CPUID, 0, this.exitLength(2));
      }
      case "io": {
        const q = ioQualification(cpu, stop.port, stop.size, stop.direction === "in", stop.string, stop.rep);
        return this.byDisposition(
          instructionDisposition(td, ExitReason.IO_INSTRUCTION),
          ExitReason.IO_INSTRUCTION,
          q.qualification,
          q.length,
        );
      }
      case "hlt": {
        // The CPU stopped after HLT with the vCPU halted; in a TD HLT never runs: #VE at the HLT.
        cpu.st.halted = false;
        cpu.r[RIP_LO] = (cpu.r[RIP_LO] - 1) | 0; // HLT is F4 (a prefixed HLT is not handled)
        if (cpu.r[RIP_LO] === -1) cpu.r[RIP_HI] = (cpu.r[RIP_HI] - 1) | 0;
        return this.byDisposition(instructionDisposition(td, ExitReason.HLT), ExitReason.HLT, 0, 1);
      }
      case "vmcall":
        return this.byDisposition(
          instructionDisposition(td, ExitReason.VMCALL),
          ExitReason.VMCALL,
          0,
          this.exitLength(3),
        );
      case "seamcall":
        return this.byDisposition(instructionDisposition(td, 66), 66, 0, this.exitLength(4));
      case "instruction": {
        const reason = CACHE_INSTRUCTIONS.get(stop.mnemonic);
        if (reason === undefined) throw new Error(`TD guest executor: unexpected ${stop.mnemonic} stop`);
        return this.byDisposition(instructionDisposition(td, reason), reason, 0, this.exitLength(2));
      }
      case "cr-access":
        // The CPU stopped before writing: #VE CR_ACCESS with the VMX CR-access qualification.
        return this.injectVe(ExitReason.CR_ACCESS, stop.qualification, this.exitLength(3));
      case "rdmsr":
      case "wrmsr":
        return this.msr(stop);
      case "gpa-fault":
        return this.eptFault(stop.gpa, stop.qualification);
      case "ve":
        return this.eptVe(stop.gpa, stop.qualification, stop.gla);
      case "shutdown":
        return TdRunResult.TRIPLE_FAULT;
      case "budget-exhausted":
        return TdRunResult.BUDGET_EXHAUSTED;
      case "mmio":
        throw new Error(
          `TD guest executor: MMIO stop at GPA 0x${stop.gpa.toString(16)} (the TD map has no MMIO)`,
        );
      case "unsupported": {
        // VMX/SGX/SMM instructions, MWAIT/MONITOR, RDPMC: the CPU does not run them; the TD's rule does.
        const insn = interceptedInstruction(cpu);
        if (insn !== null) {
          const d = instructionDisposition(td, insn[0]);
          if (d !== Disposition.NATIVE) return this.byDisposition(d, insn[0], 0, insn[1]);
        }
        throw new Error(`TD guest executor: vCPU ${vcpu.vcpuIndex}: ${stop.message}`);
      }
    }
  }

  private tdcall(): number | CpuStop | undefined {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    const leaf = cpu.r[0];
    const leafHi = cpu.r[1];
    const accept = (leaf & 0xffff) === TDG_MEM_PAGE_ACCEPT && leafHi === 0;
    // ACCEPT's operand (RCX: GPA | level), read before the call writes its outputs.
    const acceptLo = cpu.r[2];
    const acceptHi = cpu.r[3];
    const outcome = vcpu.tdcall(this.regs);
    if (outcome === TdcallOutcome.COMPLETE) {
      cpu.skipInstruction();
      if (accept && cpu.r[0] === 0 && cpu.r[1] === 0) this.accepted(acceptLo, acceptHi);
      return undefined;
    }
    if (outcome === TdcallOutcome.INTERRUPTED) {
      // RAX and RIP unchanged: the TDCALL runs again, after the host's interrupt (budget) if that was it.
      this.cpu.abandonPendingExit();
      return this.budgetLeft <= 0 ? TdRunResult.BUDGET_EXHAUSTED : undefined;
    }
    const e = vcpu.exit;
    if (outcome === TdcallOutcome.TD_EXIT) {
      if (e.advanceRip) cpu.skipInstruction();
      else this.cpu.abandonPendingExit();
      return TdRunResult.TD_EXIT;
    }
    return this.inject(e.vector);
  }

  /**
   * ACCEPT zeroed the page(s) behind the CPU: decoded code from them (left from an earlier life of
   * the GPA, before the host removed and re-added it) is dropped page by page — a store the CPU
   * itself made would have done the same. Translations need no flush: a PENDING page never had one
   * (refusals are not cached), and the host's remove/AUG already bumped the SEPT generation.
   */
  private accepted(rcxLo: number, rcxHi: number): void {
    const level = rcxLo & 7;
    const bytes = level === 0 ? 0x1000 : level === 1 ? 0x20_0000 : 0;
    const gpa = (rcxHi >>> 0) * 0x1_0000_0000 + ((rcxLo & ~0xfff) >>> 0);
    const codePages = this.cpu.mmu.codePages;
    if (codePages.size === 0) return;
    for (let off = 0; off < bytes; off += 0x1000) codePages.noteStore(gpa + off);
  }

  /** Length of the instruction that stopped (VE_INFO's instruction length): the CPU knows it for a
   * pending exit; otherwise decode it at RIP (`fallback` if that fails). */
  private exitLength(fallback: number): number {
    return this.cpu.pendingExitLength ?? instructionLength(this.cpu, fallback);
  }

  private msr(stop: Extract<CpuStop, { reason: "rdmsr" | "wrmsr" }>): number | CpuStop | undefined {
    const cpu = this.cpu;
    const write = stop.reason === "wrmsr";
    const d = msrDisposition(this.vcpu.state.td, stop.index, write);
    if (d === Disposition.NATIVE) {
      try {
        if (stop.reason === "wrmsr") {
          cpu.setMsr(stop.index, stop.value);
          cpu.skipInstruction();
        } else cpu.completeRdmsr(cpu.getMsr(stop.index));
        return undefined;
      } catch (e) {
        // Not modelled by the core, or a value it refuses: #GP(0) as the hardware would for the latter.
        if (!(e instanceof RangeError)) throw e;
        return this.inject(Vector.GP);
      }
    }
    return this.byDisposition(d, write ? ExitReason.MSR_WRITE : ExitReason.MSR_READ, 0, this.exitLength(2));
  }

  private byDisposition(d: number, exitReason: number, qualification: number, length: number) {
    if (d === Disposition.VE) return this.injectVe(exitReason, qualification, length);
    if (d === Disposition.UD) return this.inject(Vector.UD);
    if (d === Disposition.GP) return this.inject(Vector.GP);
    throw new Error(`TD guest executor: exit reason ${exitReason} has no native path in the CPU`);
  }

  private injectVe(exitReason: number, qualification: number, length: number): number | CpuStop | undefined {
    const vector = this.vcpu.injectVe(exitReason, qualification, 0, 0, 0, length, 0);
    return this.inject(vector);
  }

  /** Delivers `vector` through the guest IDT (#GP and #DF with error code 0). */
  private inject(vector: number): number | CpuStop | undefined {
    const errorCode = vector === Vector.GP || vector === Vector.DF ? 0 : -1;
    const s = this.cpu.injectException(vector, errorCode);
    if (s === undefined) return undefined;
    if (s.reason === "shutdown") return TdRunResult.TRIPLE_FAULT;
    return s;
  }

  private staleRetries = 0;
  private staleRetiredAt = -1;

  /** The MMU saw a refusal the module no longer gives: flush its TLB and retry (at most twice per instruction). */
  private retryStale(gpa: number): undefined {
    const retired = this.cpu.st.retired;
    this.staleRetries = retired === this.staleRetiredAt ? this.staleRetries + 1 : 0;
    this.staleRetiredAt = retired;
    if (this.staleRetries >= 2)
      throw new Error(
        `TD guest executor: GPA 0x${gpa.toString(16)} keeps faulting in the MMU but translates`,
      );
    this.map.flush();
    return undefined;
  }

  /** A second-stage refusal that leaves the TD: EPT violation / misconfiguration (RIP at the access). */
  private eptFault(gpa: number, qualification: number): number | undefined {
    const vcpu = this.vcpu;
    if (vcpu.translate(gpa, qualification & 7) !== null) return this.retryStale(gpa);
    const f = vcpu.memory.fault;
    if (f.kind === FaultKind.VE) f.kind = FaultKind.EPT_VIOLATION; // #VE refused (VE_INFO valid)
    vcpu.exitFromFault(f, false);
    vcpu.exit.exitQualification |= qualification & QUAL_GLA_BITS;
    return TdRunResult.TD_EXIT;
  }

  /** A second-stage #VE: VE_INFO (exit reason 48) and vector 20, #DF, or a TD exit. */
  private eptVe(gpa: number, qualification: number, gla: bigint): number | CpuStop | undefined {
    const vcpu = this.vcpu;
    if (vcpu.translate(gpa, qualification & 7) !== null) return this.retryStale(gpa);
    const f = vcpu.memory.fault;
    if (f.kind !== FaultKind.VE) return this.eptFault(gpa, qualification);
    // VE_INFO.GPA is the exact address (the guest's MMIO emulation needs the offset).
    f.gpa = gpa;
    const glaLo = Number(gla & 0xffffffffn) | 0;
    const glaHi = Number((gla >> 32n) & 0xffffffffn) | 0;
    const vector = vcpu.deliverEptVe(f, glaLo, glaHi, (qualification & 0x80) !== 0);
    if (vector < 0) {
      vcpu.exitFromFault(f, false);
      vcpu.exit.exitQualification |= qualification & QUAL_GLA_BITS;
      return TdRunResult.TD_EXIT;
    }
    return this.inject(vector);
  }
}

/** The TdGuestExecutor TDH.VP.ENTER calls: creates each vCPU's Cpu at its first entry. */
export class TdCpuExecutor implements TdGuestExecutor {
  private readonly cpus = new WeakMap<TdVcpu, TdVcpuCpu>();

  constructor(private readonly options: TdCpuExecutorOptions = {}) {}

  run(vcpu: TdVcpu, budget: number): number {
    let c = this.cpus.get(vcpu);
    if (c === undefined) {
      c = new TdVcpuCpu(vcpu, this.options);
      this.cpus.set(vcpu, c);
    }
    return c.run(budget);
  }

  /** The x86 core of `vcpu`, once it has been entered (for debuggers and tests). */
  cpuOf(vcpu: TdVcpu): Cpu | undefined {
    return this.cpus.get(vcpu)?.cpu;
  }
}
