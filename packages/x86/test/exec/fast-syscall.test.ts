import { describe, expect, it } from "vitest";
import { getMsr, getRegs, getSregs, setMsr, setRegs } from "../../src/exec/api.js";
import { EventKind } from "../../src/exec/deliver.js";
import { nextEvent, PendingEvents } from "../../src/exec/events.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import { swapgs, syscall, sysret } from "../../src/exec/fast-syscall.js";
import { EFER_LMA, EFER_LME, EFER_SCE, MSR } from "../../src/exec/msr.js";
import { SEG_CS, SEG_SS, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE, CR0_PG, CR4_PAE, codeBits, cpl } from "../../src/exec/state.js";

function kernel(): CpuState {
  const cpu = new CpuState();
  cpu.cr0 = CR0_PE | CR0_PG | 0;
  cpu.cr4 = CR4_PAE;
  cpu.efer = EFER_LME | EFER_LMA | EFER_SCE;
  setSegment(cpu.seg, SEG_CS, 0x10, 0, 0, -1, 0xa09b);
  setSegment(cpu.seg, SEG_SS, 0x18, 0, 0, -1, 0xc093);
  // Linux layout: STAR[47:32] = __KERNEL_CS (0x10), STAR[63:48] = __USER32_CS (0x23) - 3 … 0x20|3
  setMsr(cpu, MSR.IA32_STAR, 0x0023001000000000n);
  setMsr(cpu, MSR.IA32_LSTAR, 0xffffffff81e00000n);
  setMsr(cpu, MSR.IA32_FMASK, 0x47700n);
  return cpu;
}

function vector(f: () => void): number {
  try {
    f();
  } catch (e) {
    if (e instanceof X86Exception) return e.vector;
    throw e;
  }
  return -1;
}

describe("SYSCALL / SYSRET / SWAPGS", () => {
  it("round-trips user → kernel → user with the STAR selectors and FMASK", () => {
    const cpu = kernel();
    setRegs(cpu, { ...getRegs(cpu), rip: 0x40100an, rflags: 0x246n, rcx: 1n, r11: 2n });
    sysret(cpu, true); // enter user mode at RCX=1 first to set up CPL 3
    setRegs(cpu, { ...getRegs(cpu), rip: 0x40100an, rflags: 0x10346n });
    expect(cpl(cpu)).toBe(3);
    syscall(cpu);
    let regs = getRegs(cpu);
    expect(regs.rcx).toBe(0x40100an);
    expect(regs.r11).toBe(0x10346n);
    expect(regs.rip).toBe(0xffffffff81e00000n);
    expect(regs.rflags).toBe(0x46n); // IF, TF, DF, AC, NT masked; RF cleared
    const s = getSregs(cpu);
    expect([s.cs.selector, s.ss.selector, cpl(cpu), codeBits(cpu)]).toEqual([0x10, 0x18, 0, 64]);
    setRegs(cpu, { ...regs, r11: 0x246n });
    sysret(cpu, true);
    regs = getRegs(cpu);
    const u = getSregs(cpu);
    expect([u.cs.selector, u.ss.selector, cpl(cpu), codeBits(cpu)]).toEqual([0x33, 0x2b, 3, 64]);
    expect(regs.rip).toBe(0x40100an);
    expect(regs.rflags).toBe(0x246n);
  });

  it("returns to compatibility mode with SYSRETL and checks RCX canonicality for SYSRETQ", () => {
    const cpu = kernel();
    setRegs(cpu, { ...getRegs(cpu), rcx: 0x1_0000_1000n, r11: 0x202n });
    sysret(cpu, false);
    expect(getRegs(cpu).rip).toBe(0x1000n);
    expect(getSregs(cpu).cs.selector).toBe(0x23);
    expect(codeBits(cpu)).toBe(32);
    const k = kernel();
    setRegs(k, { ...getRegs(k), rcx: 0x0100_0000_0000_0000n });
    expect(vector(() => sysret(k, true))).toBe(Vector.GP);
  });

  it("raises #UD without EFER.SCE and #GP for SWAPGS/SYSRET at CPL 3", () => {
    const cpu = kernel();
    cpu.efer &= ~EFER_SCE;
    expect(vector(() => syscall(cpu))).toBe(Vector.UD);
    const k = kernel();
    setMsr(k, MSR.IA32_KERNEL_GS_BASE, 0xffff888000000000n);
    setMsr(k, MSR.IA32_GS_BASE, 0x7f0000000000n);
    swapgs(k);
    expect(getMsr(k, MSR.IA32_GS_BASE)).toBe(0xffff888000000000n);
    expect(getMsr(k, MSR.IA32_KERNEL_GS_BASE)).toBe(0x7f0000000000n);
    sysret(k, true);
    expect(vector(() => swapgs(k))).toBe(Vector.GP);
    expect(vector(() => sysret(k, true))).toBe(Vector.GP);
  });
});

describe("pending events", () => {
  it("orders NMI before INTR, honours IF, the interrupt shadow and NMI blocking", () => {
    const cpu = kernel();
    const p = new PendingEvents();
    p.injectInterrupt(0x30);
    p.injectNmi();
    p.shadow = 1;
    expect(nextEvent(cpu, p)).toBeNull();
    p.retire();
    expect(nextEvent(cpu, p)).toEqual({ vector: 2, kind: EventKind.Nmi });
    expect(nextEvent(cpu, p)).toBeNull(); // IF = 0
    setRegs(cpu, { ...getRegs(cpu), rflags: 0x202n });
    expect(nextEvent(cpu, p)).toEqual({ vector: 0x30, kind: EventKind.External });
    cpu.nmiBlocked = true;
    p.injectNmi();
    expect(nextEvent(cpu, p)).toBeNull();
    expect(() => p.injectInterrupt(8)).toThrow(/vector 8/);
  });
});
