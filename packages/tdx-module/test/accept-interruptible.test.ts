// TDG.MEM.PAGE.ACCEPT of 2 MiB is interruptible: after each 4 KiB page the module asks whether an
// interrupt is pending; if so the TDCALL returns with RAX and RIP unchanged (TdcallOutcome.INTERRUPTED)
// and the SEPT entry keeps its progress, so the re-executed TDCALL continues where it stopped.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  getReg,
  longModeGuest,
  SeptState,
  statusToBigInt,
  TdCpuExecutor,
  TdcallOutcome,
  tdvmcallOut,
} from "../src/index.js";
import {
  addPage,
  buildTd,
  expectStatus,
  finalize,
  type Host,
  makeHost,
  mapSeptFor,
  OK,
  runnableTd,
  tdcall,
} from "./helpers.js";

const GPA = 0x400000;
const HPA = 0x30000000;
const ACCEPT_2M = BigInt(GPA) | 1n;

function pending2m(host: Host) {
  const { td, v } = runnableTd(host);
  mapSeptFor(host, td, GPA, 2);
  expectStatus(host.tdx.tdhMemPageAug(GPA, 1, td.tdr, HPA), OK);
  const state = () => Number(host.tdx.tdhMemSeptRd(GPA, 1, td.tdr).rdx! >> 8n);
  return { td, v, state };
}

describe("interruptible 2 MiB TDG.MEM.PAGE.ACCEPT", () => {
  it("stops after the page where an interrupt became pending; re-execution resumes; one page per call at least", () => {
    const host = makeHost();
    const { v, state } = pending2m(host);
    let checks = 0;
    let interruptAt = 100; // pending after the 100th page
    v.setInterruptCheck(() => ++checks === interruptAt);
    const first = tdcall(v, 6n, { rcx: ACCEPT_2M });
    expect(first.outcome).toBe(TdcallOutcome.INTERRUPTED);
    expect(first.rax).toBe(6n); // RAX unchanged (the leaf)
    expect(first.reg("rcx")).toBe(ACCEPT_2M);
    expect(state()).toBe(SeptState.PENDING);
    // Every later check says "pending": each re-execution still zeroes one page.
    interruptAt = -1;
    v.setInterruptCheck(() => {
      checks++;
      return true;
    });
    let calls = 0;
    let r = tdcall(v, 6n, { rcx: ACCEPT_2M });
    while (r.outcome === TdcallOutcome.INTERRUPTED) {
      calls++;
      r = tdcall(v, 6n, { rcx: ACCEPT_2M });
    }
    expectStatus(r.rax, OK);
    expect(calls).toBe(511 - 100); // pages 100..510 one call each; the call zeroing page 511 completes
    expect(state()).toBe(SeptState.MAPPED);
    for (const off of [0, 99 * 4096, 100 * 4096, 511 * 4096])
      expect(v.translate(GPA + off, 1)!.every((b) => b === 0)).toBe(true);
  });

  it("the progress survives RANGE.BLOCK/UNBLOCK (PENDING_BLOCKED keeps the counter); REMOVE + AUG starts again", () => {
    const host = makeHost();
    const { td, v, state } = pending2m(host);
    let checks = 0;
    v.setInterruptCheck(() => ++checks === 300);
    expect(tdcall(v, 6n, { rcx: ACCEPT_2M }).outcome).toBe(TdcallOutcome.INTERRUPTED);
    expectStatus(host.tdx.tdhMemRangeBlock(GPA, 1, td.tdr), OK);
    expect(state()).toBe(SeptState.PENDING_BLOCKED);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemRangeUnblock(GPA, 1, td.tdr), OK);
    checks = 0;
    v.setInterruptCheck(() => {
      checks++;
      return false;
    });
    expectStatus(tdcall(v, 6n, { rcx: ACCEPT_2M }).rax, OK);
    expect(checks).toBe(511 - 300); // continued from page 300

    // A fresh PENDING entry (removed and AUGed again) starts from page 0.
    const host2 = makeHost();
    const p = pending2m(host2);
    let n = 0;
    p.v.setInterruptCheck(() => ++n === 10);
    expect(tdcall(p.v, 6n, { rcx: ACCEPT_2M }).outcome).toBe(TdcallOutcome.INTERRUPTED);
    expectStatus(host2.tdx.tdhMemPageRemove(GPA, 1, p.td.tdr), OK);
    expectStatus(host2.tdx.tdhMemPageAug(GPA, 1, p.td.tdr, HPA), OK);
    n = 0;
    p.v.setInterruptCheck(() => {
      n++;
      return false;
    });
    expectStatus(tdcall(p.v, 6n, { rcx: ACCEPT_2M }).rax, OK);
    expect(n).toBe(511);
  });

  it("4 KiB ACCEPT is not interruptible", () => {
    const host = makeHost();
    const { td, v } = runnableTd(host);
    mapSeptFor(host, td, 0x8000);
    expectStatus(host.tdx.tdhMemPageAug(0x8000, 0, td.tdr, host.memory.allocPage()), OK);
    v.setInterruptCheck(() => true);
    expectStatus(tdcall(v, 6n, { rcx: 0x8000n }).rax, OK);
  });

  it("on the x86 core: the budget runs out mid-ACCEPT → external-interrupt exit; re-entry finishes the ACCEPT", () => {
    const image = longModeGuest(`
  mov eax, 6 ; mov ecx, ${GPA | 1} ; tdcall
  mov rbx, rax
  ${tdvmcallOut(0x20, "rbx")}
spin: jmp spin
ve_handler: gp_handler: ud_handler: jmp ve_handler`);
    const host = makeHost();
    const td = buildTd(host);
    for (let i = 0; i < GUEST_IMAGE_PAGES; i++)
      addPage(host, td, GUEST_IMAGE_BASE + i * 4096, image.subarray(i * 4096, (i + 1) * 4096));
    finalize(host, td);
    mapSeptFor(host, td, GPA, 2);
    expectStatus(host.tdx.tdhMemPageAug(GPA, 1, td.tdr, HPA), OK);
    host.tdx.setGuestExecutor(new TdCpuExecutor());
    host.tdx.enterBudget = 150; // the boot takes ~60 instructions; each page costs one
    const out = new Int32Array(32);
    let interrupts = 0;
    let status = statusToBigInt(host.tdx.enter(td.vcpus[0]!, undefined, out));
    while (status === BigInt(ExitReason.EXTERNAL_INTERRUPT)) {
      interrupts++;
      status = statusToBigInt(host.tdx.enter(td.vcpus[0]!, undefined, out));
    }
    expect(status).toBe(BigInt(ExitReason.TDCALL));
    expect(getReg(out, 14)).toBe(0x20n);
    expect(getReg(out, 15)).toBe(0n); // TDX_SUCCESS in the guest's RAX
    expect(interrupts).toBeGreaterThanOrEqual(3); // 512 pages at ≤ 150 per entry
    expect(Number(host.tdx.tdhMemSeptRd(GPA, 1, td.tdr).rdx! >> 8n)).toBe(SeptState.MAPPED);
  });
});
