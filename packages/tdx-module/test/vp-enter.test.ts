// TDH.VP.ENTER with a scripted stand-in for the x86 core: the executor plays a guest that issues one
// TDCALL per entry, as the CPU will when it reaches a TDCALL instruction.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  getReg,
  setReg,
  TdxStatus as T,
  TdcallOutcome,
  type TdGuestExecutor,
  TdRunResult,
  type TdVcpu,
} from "../src/index.js";
import { addPage, buildTd, expectStatus, finalize, makeHost, mapSeptFor } from "./helpers.js";

/** A guest "program": each entry runs the next step on the vCPU's registers. */
function scripted(steps: ((v: TdVcpu) => number)[]): TdGuestExecutor {
  let i = 0;
  return {
    run(v) {
      v.regs.longMode64 = true;
      const step = steps[i++];
      if (!step) return TdRunResult.BUDGET_EXHAUSTED;
      return step(v);
    },
  };
}
/** The guest executes TDCALL with the given registers; returns like the CPU would. */
function guestTdcall(v: TdVcpu, regs: Record<number, bigint>): number {
  for (const [r, val] of Object.entries(regs)) setReg(v.regs.gpr, Number(r), val);
  const outcome = v.tdcall();
  if (outcome === TdcallOutcome.TD_EXIT) return TdRunResult.TD_EXIT;
  return TdRunResult.BUDGET_EXHAUSTED;
}

describe("TDH.VP.ENTER", () => {
  it("a TDVMCALL round trip: exposed registers to the host, the host's answer back to the guest", () => {
    const host = makeHost();
    const td = buildTd(host);
    const seen: bigint[] = [];
    host.tdx.setGuestExecutor(
      scripted([
        (v) =>
          guestTdcall(v, {
            0: 0n,
            1: 0xffccn,
            10: 0n,
            11: 0x1en,
            12: 1n,
            13: 0n,
            14: 0x3f8n,
            15: 0x41n,
            6: 0x5151n,
          }),
        (v) => {
          seen.push(
            getReg(v.regs.gpr, 0),
            getReg(v.regs.gpr, 1),
            getReg(v.regs.gpr, 10),
            getReg(v.regs.gpr, 11),
          );
          return TdRunResult.BUDGET_EXHAUSTED;
        },
      ]),
    );
    expectStatus(host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) }).rax, T.TDX_OP_STATE_INCORRECT);
    finalize(host, td);
    const exit = host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) });
    expect(exit.rax).toBe(BigInt(ExitReason.TDCALL));
    expect(exit.rcx).toBe(0xffccn);
    expect(exit.r11).toBe(0x1en);
    expect(exit.r14).toBe(0x3f8n);
    expect(exit.rsi).toBe(0x5151n);
    // KVM answers: R10 = 0 (success), R11 = data
    const back = host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]), r10: 0n, r11: 0x99n });
    expect(back.rax).toBe(BigInt(ExitReason.EXTERNAL_INTERRUPT));
    expect(seen).toEqual([0n, 0xffccn, 0n, 0x99n]);
  });
  it("EPT violation exits carry qualification, extended qualification and GPA in RCX/RDX/R8", () => {
    const host = makeHost();
    const td = buildTd(host);
    addPage(host, td, 0x1000);
    finalize(host, td);
    mapSeptFor(host, td, 0x5000);
    host.tdx.setGuestExecutor(scripted([(v) => guestTdcall(v, { 0: 6n, 1: 0x5000n })]));
    const exit = host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) });
    expect(exit.rax).toBe(BigInt(ExitReason.EPT_VIOLATION));
    expect(exit.rcx).toBe(2n);
    expect(exit.rdx & 0xfn).toBe(1n); // ACCEPT
    expect(exit.r8).toBe(0x5000n);
  });
  it("triple fault → TDX_NON_RECOVERABLE_VCPU, then the vCPU cannot be entered", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    host.tdx.setGuestExecutor(scripted([() => TdRunResult.TRIPLE_FAULT]));
    const out = new Int32Array(32);
    expectStatus(
      host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) }).rax,
      T.TDX_NON_RECOVERABLE_VCPU + 2n,
    );
    expect(host.tdx.enter(td.vcpus[0], undefined, out)).not.toBe(0);
    expectStatus(host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) }).rax, T.TDX_VCPU_STATE_INCORRECT);
    expectStatus(host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.tdr) }).rax, T.TDX_PAGE_METADATA_INCORRECT + 1n);
  });
  it("without an executor it says so", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    expect(() => host.tdx.seamcall({ rax: 0n, rcx: BigInt(td.vcpus[0]) })).toThrow(/no guest executor/);
  });
});
