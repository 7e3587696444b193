// What run() returns: the reason the vCPU stopped, for the layer above (KVM / TDX module).
// On every stop RIP is exact: at the stopped instruction for exits that wait for completion
// (io, cpuid, rdmsr, wrmsr, vmcall, tdcall, seamcall, instruction, cr-access, mmio, gpa-fault, ve),
// after it for hlt.

export type CpuStop =
  | {
      reason: "io";
      port: number;
      /** 1, 2 or 4 bytes per element. */
      size: number;
      direction: "in" | "out";
      /** OUT/OUTS: the value written (one element); IN: 0. */
      data: number;
      /** INS/OUTS. */
      string: boolean;
      /** REP prefix present; `count` = RCX (elements left, this one included). */
      rep: boolean;
      count: number;
    }
  | { reason: "mmio"; gpa: number; size: number; isWrite: boolean; data: Uint8Array }
  | { reason: "hlt" }
  | { reason: "cpuid"; leaf: number; subleaf: number }
  | { reason: "rdmsr"; index: number }
  | { reason: "wrmsr"; index: number; value: bigint }
  | { reason: "vmcall" }
  | { reason: "tdcall" }
  | { reason: "seamcall" }
  /** An instruction listed in ExitControls.stopInstructions (at CPL 0: privilege faults come first). */
  | { reason: "instruction"; mnemonic: string }
  /**
   * MOV to CR0/CR4 that ExitControls.crWrite stopped (nothing written). `qualification` is the VMX
   * CR-access exit qualification: CR number (bits 3:0), access type 0 = MOV to CR (bits 5:4), source
   * GPR (bits 11:8).
   */
  | { reason: "cr-access"; cr: number; gpr: number; qualification: number }
  | { reason: "gpa-fault"; gpa: number; qualification: number; gla: bigint }
  | { reason: "ve"; gpa: number; qualification: number; gla: bigint }
  | { reason: "shutdown"; detail: string }
  | { reason: "budget-exhausted" }
  | { reason: "unsupported"; message: string };

export type StopReason = CpuStop["reason"];

/** Thrown by handlers to stop the run loop (not an Error: no stack trace). */
export class StopSignal {
  constructor(
    readonly stop: CpuStop,
    /** The instruction retires when the host completes it (exits), or it is re-executed (mmio). */
    readonly exit: boolean,
  ) {}
}

/**
 * Which instructions stop to the host (like VMX exiting controls). Instructions that are not
 * configured to stop are handled inside the CPU: CPUID through `cpuid`, MSRs the core owns
 * through the architectural MSR file.
 */
export interface ExitControls {
  /** CPUID: stop (default), or answer with this function (e.g. a TD's CPUID virtualisation). */
  cpuid: "stop" | ((leaf: number, subleaf: number) => [number, number, number, number]);
  /** RDMSR/WRMSR of MSRs the core owns stop too (default false: only unknown MSRs stop). */
  allMsrs: boolean;
  /** #VE from the second stage: "stop" to let the layer fill VE_INFO and inject it, or "deliver" through the IDT. */
  ve: "stop" | "deliver";
  /**
   * Mnemonics of instructions that stop with reason "instruction" instead of running: the cache
   * instructions WBINVD, WBNOINVD and INVD (default none: they run as no-ops, there are no caches).
   */
  stopInstructions: ReadonlySet<string>;
  /**
   * MOV to CR0/CR4 at CPL 0, asked before the core's own checks with the new value: "native" runs
   * the write (the core's #GP checks included), "gp" raises #GP(0), "stop" stops with reason
   * "cr-access" and writes nothing (e.g. a TD's CR writes the TDX module refuses). Default: none.
   */
  crWrite: ((cr: number, lo: number, hi: number) => "native" | "gp" | "stop") | undefined;
  /**
   * XCR0 bits XSETBV may set besides what the core supports (e.g. a TD's XFAM): any other bit is
   * #GP(0). Default all (-1).
   */
  xcr0Allowed: number;
}

/** HLT always stops with "hlt" while nothing can wake it (an injected interrupt or NMI resumes it). */
export const DEFAULT_EXITS: ExitControls = {
  cpuid: "stop",
  allMsrs: false,
  ve: "stop",
  stopInstructions: new Set(),
  crWrite: undefined,
  xcr0Allowed: -1,
};
