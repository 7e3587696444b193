// Test double for the x86 CPU: a TdGuestExecutor that plays a guest program as a list of steps,
// each doing what guest code would at that point (a TDCALL, a memory access through translate(),
// a halt, a runaway loop). Steps run in order within one TDH.VP.ENTER until one stops the vCPU;
// a step whose TDCALL left RIP on the instruction (ACCEPT exit, EPT violation) runs again on the
// next entry. Lives in test/ only: src/ never contains a fake CPU.
import {
  FaultKind,
  getReg,
  setReg,
  TdcallOutcome,
  type TdGuestExecutor,
  TdRunResult,
  type TdVcpu,
} from "@tdxsim/tdx-module";

/** Returned by a step that finished and lets the next step run in the same entry. */
export const NEXT = -1;
/** Returned by a step that stopped the vCPU without finishing (it runs again on re-entry). */
const RETRY = -2;

export type GuestStep = (v: TdVcpu) => number;

export class ScriptedGuest implements TdGuestExecutor {
  private readonly steps: GuestStep[] = [];
  private pc = 0;
  /** What steps recorded (values the guest saw). */
  readonly seen: bigint[] = [];
  entries = 0;
  lastBudget = 0;

  script(...steps: GuestStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  get done(): boolean {
    return this.pc >= this.steps.length;
  }

  run(v: TdVcpu, budget: number): number {
    this.entries++;
    this.lastBudget = budget;
    v.regs.longMode64 = true;
    v.regs.cpl = 0;
    for (;;) {
      const step = this.steps[this.pc];
      if (!step) return TdRunResult.BUDGET_EXHAUSTED; // the guest spins forever
      const r = step(v);
      if (r === RETRY) return TdRunResult.TD_EXIT;
      this.pc++;
      if (r !== NEXT) return r;
    }
  }
}

const EXPOSE_R10_R15 = 0xfc00n;

/** TDG.VP.VMCALL with R10..R15 (standard TDVMCALL: R10 = 0, R11 = leaf). */
export function tdvmcall(leaf: number | bigint, r12 = 0n, r13 = 0n, r14 = 0n, r15 = 0n, r10 = 0n): GuestStep {
  return (v) => {
    const g = v.regs.gpr;
    setReg(g, 0, 0n);
    setReg(g, 1, EXPOSE_R10_R15);
    setReg(g, 10, r10);
    setReg(g, 11, BigInt(leaf));
    setReg(g, 12, r12);
    setReg(g, 13, r13);
    setReg(g, 14, r14);
    setReg(g, 15, r15);
    const o = v.tdcall();
    if (o !== TdcallOutcome.TD_EXIT) throw new Error(`TDG.VP.VMCALL did not exit (outcome ${o})`);
    return TdRunResult.TD_EXIT;
  };
}

/** Records the guest's R10 and R11 after the host answered the previous TDVMCALL. */
export function recordR10R11(guest: ScriptedGuest): GuestStep {
  return (v) => {
    guest.seen.push(getReg(v.regs.gpr, 10), getReg(v.regs.gpr, 11));
    return NEXT;
  };
}

/** TDG.MEM.PAGE.ACCEPT of a 4 KiB page; records RAX. A TD exit (not AUGed yet) retries it. */
export function accept(guest: ScriptedGuest, gpa: number): GuestStep {
  return (v) => {
    setReg(v.regs.gpr, 0, 6n);
    setReg(v.regs.gpr, 1, BigInt(gpa));
    const o = v.tdcall();
    if (o === TdcallOutcome.TD_EXIT) return RETRY;
    guest.seen.push(getReg(v.regs.gpr, 0));
    return NEXT;
  };
}

/** A guest load or store at `gpa`: the page through translate(), or the fault the CPU would take. */
export function touch(guest: ScriptedGuest, gpa: number, write?: number): GuestStep {
  return (v) => {
    const page = v.translate(gpa, write === undefined ? 1 : 2);
    if (page) {
      if (write !== undefined) page[gpa % 4096] = write;
      else guest.seen.push(BigInt(page[gpa % 4096]!));
      return NEXT;
    }
    const f = v.memory.fault;
    if (f.kind === FaultKind.VE) {
      const vector = v.deliverEptVe(f, 0, 0, false);
      if (vector >= 0) {
        guest.seen.push(BigInt(1000 + vector)); // #VE (20) delivered: the guest's handler would run
        return NEXT;
      }
    }
    v.exitFromFault(f, false);
    return RETRY;
  };
}

export const tripleFault: GuestStep = () => TdRunResult.TRIPLE_FAULT;
export const spin: GuestStep = () => TdRunResult.BUDGET_EXHAUSTED;
