import { describe, expect, it } from "vitest";
import { getMsr, getRegs, getSregs, setMsr, setRegs, setSregs } from "../../src/exec/api.js";
import { CrEffect, writeCr0, writeCr3, writeCr4, writeCr8, xsetbv } from "../../src/exec/control.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import {
  checkFpuUsable,
  checkSseUsable,
  getDebugRegs,
  getFpu,
  readDr,
  setDebugRegs,
  setFpu,
  writeDr,
  writeMxcsr,
} from "../../src/exec/fpu-debug.js";
import { EFER_LMA, EFER_LME, MSR, readMsr, writeMsr } from "../../src/exec/msr.js";
import { clts, lmsw, movFromCr, movToCr, rdtsc, tscAux } from "../../src/exec/privileged.js";
import { OUT_HI } from "../../src/exec/regs.js";
import { AR_L, SEG_CS, setSegment } from "../../src/exec/segment.js";
import {
  CpuState,
  CR0_PE,
  CR0_PG,
  CR4_DE,
  CR4_PAE,
  CR4_PCIDE,
  codeBits,
  cpl,
  cpuMode,
} from "../../src/exec/state.js";

function gp(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof X86Exception) return e.vector === Vector.GP ? e.errorCode : -100 - e.vector;
    throw e;
  }
  return -1;
}

describe("RESET and INIT state (SDM Table 10-1)", () => {
  it("starts at F000:FFF0 with CS base FFFF0000 in real mode", () => {
    const cpu = new CpuState();
    const regs = getRegs(cpu);
    const sregs = getSregs(cpu);
    expect(regs.rip).toBe(0xfff0n);
    expect(regs.rflags).toBe(2n);
    expect(regs.rdx).toBe(0x806f8n);
    expect(sregs.cs.selector).toBe(0xf000);
    expect(sregs.cs.base).toBe(0xffff0000n);
    expect(sregs.cs.limit).toBe(0xffff);
    expect(sregs.cr0).toBe(0x60000010n);
    expect(sregs.apicBase).toBe(0xfee00900n);
    expect(getMsr(cpu, MSR.IA32_PAT)).toBe(0x0007040600070406n);
    expect(cpuMode(cpu)).toBe("real");
    expect(codeBits(cpu)).toBe(16);
    expect(cpu.mxcsr).toBe(0x1f80);
  });

  it("INIT keeps MSRs, XMM, CR2 and CR0.CD/NW but clears EFER", () => {
    const cpu = new CpuState();
    setMsr(cpu, MSR.IA32_LSTAR, 0xffffffff81000000n);
    cpu.xmm.i32[5] = 42;
    cpu.cr2Lo = 0x1234;
    cpu.cr0 = CR0_PE; // CD/NW cleared
    cpu.efer = 0x500;
    cpu.retired = 1000;
    cpu.init();
    expect(getMsr(cpu, MSR.IA32_LSTAR)).toBe(0xffffffff81000000n);
    expect(cpu.xmm.i32[5]).toBe(42);
    expect(cpu.cr2Lo).toBe(0x1234);
    expect(cpu.cr0).toBe(0x10);
    expect(cpu.efer).toBe(0);
    expect(getMsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toBe(1000n);
  });
});

describe("register access API", () => {
  it("round-trips 64-bit registers through BigInt", () => {
    const cpu = new CpuState();
    const regs = getRegs(cpu);
    regs.rax = 0xfedcba9876543210n;
    regs.r15 = 0x8000000000000001n;
    regs.rip = 0xffffffff80001000n;
    regs.rflags = 0x246n;
    setRegs(cpu, regs);
    expect(getRegs(cpu)).toEqual(regs);
  });

  it("refuses values that do not fit and names the field", () => {
    const cpu = new CpuState();
    const regs = getRegs(cpu);
    expect(() => setRegs(cpu, { ...regs, rbx: 1n << 64n })).toThrow(/rbx/);
    expect(() => setRegs(cpu, { ...regs, rflags: 1n << 40n })).toThrow(/rflags/);
    const sregs = getSregs(cpu);
    expect(() => setSregs(cpu, { ...sregs, cs: { ...sregs.cs, dpl: 4 } })).toThrow(/cs\.dpl/);
    expect(() => setSregs(cpu, { ...sregs, efer: 1n << 3n })).toThrow(/efer/);
  });

  it("round-trips segment registers with their hidden parts", () => {
    const cpu = new CpuState();
    const sregs = getSregs(cpu);
    sregs.cs = { ...sregs.cs, selector: 8, base: 0n, limit: 0xffffffff, type: 11, l: 1, db: 0, g: 1, dpl: 0 };
    sregs.efer = BigInt(EFER_LME | EFER_LMA);
    sregs.cr0 = BigInt((CR0_PE | CR0_PG) >>> 0);
    sregs.cr4 = BigInt(CR4_PAE);
    setSregs(cpu, sregs);
    expect(getSregs(cpu)).toEqual(sregs);
    expect(cpuMode(cpu)).toBe("64-bit");
    expect(codeBits(cpu)).toBe(64);
    expect(cpl(cpu)).toBe(0);
  });
});

describe("MSRs", () => {
  it("derives the TSC from retired instructions and honours writes", () => {
    const cpu = new CpuState();
    cpu.retired = 500;
    expect(getMsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toBe(500n);
    setMsr(cpu, MSR.IA32_TIME_STAMP_COUNTER, 0x1_0000_0000n);
    cpu.retired += 10;
    expect(getMsr(cpu, MSR.IA32_TIME_STAMP_COUNTER)).toBe(0x1_0000_000an);
    expect(getMsr(cpu, MSR.IA32_TSC_ADJUST)).toBe(0x1_0000_0000n - 500n);
  });

  it("raises #GP(0) on reserved bits, bad PAT types and non-canonical bases", () => {
    const cpu = new CpuState();
    expect(gp(() => writeMsr(cpu, MSR.IA32_EFER, 1 << 1, 0))).toBe(0);
    expect(gp(() => writeMsr(cpu, MSR.IA32_PAT, 0x02, 0))).toBe(0);
    expect(gp(() => writeMsr(cpu, MSR.IA32_LSTAR, 0, 0x01000000))).toBe(0); // bit 56 set, not sign-extended (LA57)
    expect(gp(() => writeMsr(cpu, MSR.IA32_TSC_AUX, 0, 1))).toBe(0);
    expect(gp(() => readMsr(cpu, MSR.IA32_PRED_CMD))).toBe(0);
    expect(gp(() => writeMsr(cpu, MSR.IA32_APIC_BASE, 0xfee00400 | 0, 0))).toBe(0); // x2APIC without EN
    writeMsr(cpu, MSR.IA32_FS_BASE, 0x1000, -1 >>> 8);
    expect(gp(() => writeMsr(cpu, MSR.IA32_FS_BASE, 0, 0x01000000))).toBe(0);
    expect(readMsr(cpu, MSR.IA32_FS_BASE)).toBe(0x1000);
    expect(cpu.r[OUT_HI]).toBe(-1 >>> 8);
  });

  it("keeps EFER.LMA read-only and refuses LME changes while paging", () => {
    const cpu = new CpuState();
    writeMsr(cpu, MSR.IA32_EFER, EFER_LME | EFER_LMA, 0);
    expect(cpu.efer).toBe(EFER_LME);
    cpu.cr0 = CR0_PE | CR0_PG;
    expect(gp(() => writeMsr(cpu, MSR.IA32_EFER, 0, 0))).toBe(0);
  });
});

describe("control registers", () => {
  it("enters long mode through CR4.PAE + EFER.LME + CR0.PG and refuses bad combinations", () => {
    const cpu = new CpuState();
    expect(gp(() => writeCr0(cpu, CR0_PG, 0))).toBe(0); // PG without PE
    expect(gp(() => writeCr0(cpu, 1 << 29, 0))).toBe(0); // NW without CD
    expect(gp(() => writeCr0(cpu, CR0_PE, 1))).toBe(0); // bits 63:32
    writeCr0(cpu, CR0_PE, 0);
    writeMsr(cpu, MSR.IA32_EFER, EFER_LME, 0);
    expect(gp(() => writeCr0(cpu, CR0_PE | CR0_PG, 0))).toBe(0); // PAE off
    writeCr4(cpu, CR4_PAE, 0);
    const effect = writeCr0(cpu, CR0_PE | CR0_PG, 0);
    expect(effect & CrEffect.FLUSH_TLB_ALL).toBeTruthy();
    expect(cpu.efer & EFER_LMA).toBe(EFER_LMA);
    expect(cpuMode(cpu)).toBe("compatibility");
    expect(gp(() => writeCr4(cpu, 0, 0))).toBe(0); // clear PAE in IA-32e mode
    setSegment(cpu.seg, SEG_CS, 8, 0, 0, -1, 0x9b | AR_L);
    expect(gp(() => writeCr0(cpu, CR0_PE, 0))).toBe(0); // clear PG in 64-bit mode
    expect(gp(() => writeCr8(cpu, 16, 0))).toBe(0);
    expect(gp(() => writeCr3(cpu, 0, 1 << 20))).toBe(0); // above MAXPHYADDR 52
    writeCr3(cpu, 0x5000, 0);
    expect(gp(() => writeCr4(cpu, CR4_PAE | CR4_PCIDE | (1 << 13), 0))).toBe(0); // VMXE unsupported
    writeCr4(cpu, CR4_PAE | CR4_PCIDE, 0);
    expect(writeCr3(cpu, 0x5001, 0x80000000 | 0)).toBe(CrEffect.NONE); // no-flush bit
    expect(cpu.cr3Hi).toBe(0);
  });

  it("checks XSETBV", () => {
    const cpu = new CpuState();
    expect(() => xsetbv(cpu, 0, 3, 0)).toThrow(/#UD/); // CR4.OSXSAVE=0
    cpu.cr4 |= 1 << 18;
    expect(gp(() => xsetbv(cpu, 1, 3, 0))).toBe(0);
    expect(gp(() => xsetbv(cpu, 0, 2, 0))).toBe(0);
    expect(gp(() => xsetbv(cpu, 0, 7, 0))).toBe(0); // AVX not supported by default
    xsetbv(cpu, 0, 3, 0);
    expect(cpu.xcr0).toBe(3);
  });
});

describe("XMM/MXCSR and debug registers", () => {
  it("round-trips XMM state and refuses reserved MXCSR bits", () => {
    const cpu = new CpuState();
    const fpu = getFpu(cpu);
    fpu.xmm[15] = (1n << 128n) - 2n;
    fpu.xmm[0] = 0x0123456789abcdef_fedcba9876543210n;
    setFpu(cpu, fpu);
    expect(getFpu(cpu)).toEqual(fpu);
    expect(() => setFpu(cpu, { ...fpu, mxcsr: 0x10000 })).toThrow(/mxcsr/);
    expect(gp(() => writeMxcsr(cpu, 1 << 17))).toBe(0);
  });

  it("keeps DR6/DR7 fixed bits, aliases DR4/DR5 and raises #UD for them with CR4.DE", () => {
    const cpu = new CpuState();
    expect(getDebugRegs(cpu).dr6).toBe(0xffff0ff0n);
    expect(getDebugRegs(cpu).dr7).toBe(0x400n);
    writeDr(cpu, 5, 0x3, 0); // DR7 alias
    expect(readDr(cpu, 7)).toEqual([0x403, 0]);
    writeDr(cpu, 6, 0, 0);
    expect(readDr(cpu, 6)[0] >>> 0).toBe(0xffff0ff0);
    expect(gp(() => writeDr(cpu, 7, 0, 1))).toBe(0);
    cpu.cr4 |= CR4_DE;
    expect(gp(() => readDr(cpu, 4))).toBe(-100 - Vector.UD);
    setDebugRegs(cpu, { db: [1n, 2n, 3n, 0xffffffff80000000n], dr6: 0x1n, dr7: 0x1n });
    expect(getDebugRegs(cpu)).toEqual({
      db: [1n, 2n, 3n, 0xffffffff80000000n],
      dr6: 0xffff0ff1n,
      dr7: 0x401n,
    });
  });
});

describe("privileged register instructions", () => {
  it("MOV CR: #UD for CR1/CR5-7, #GP at CPL 3, round trip at CPL 0", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE | 0x10;
    expect(() => movToCr(cpu, 1, 0, 0)).toThrow(/#UD/);
    expect(() => movFromCr(cpu, 5)).toThrow(/#UD/);
    movToCr(cpu, 2, 0xdead, 0x1);
    expect(movFromCr(cpu, 2)).toBe(0xdead);
    expect(cpu.r[OUT_HI]).toBe(1);
    setSegment(cpu.seg, SEG_CS, 0x1b, 0, 0, -1, 0xc0fb);
    expect(gp(() => movFromCr(cpu, 0))).toBe(0);
    expect(gp(() => clts(cpu))).toBe(0);
  });

  it("LMSW cannot clear PE; RDTSC honours CR4.TSD; RDPID returns TSC_AUX", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE | 0x10;
    lmsw(cpu, 0);
    expect(cpu.cr0 & CR0_PE).toBe(CR0_PE);
    lmsw(cpu, 0x8); // TS
    expect(cpu.cr0 & 0x8).toBe(0x8);
    clts(cpu);
    expect(cpu.cr0 & 0x8).toBe(0);
    cpu.retired = 77;
    expect(rdtsc(cpu)).toBe(77);
    setMsr(cpu, MSR.IA32_TSC_AUX, 5n);
    expect(tscAux(cpu)).toBe(5);
    cpu.cr4 |= 1 << 2; // TSD
    setSegment(cpu.seg, SEG_CS, 0x1b, 0, 0, -1, 0xc0fb);
    expect(gp(() => rdtsc(cpu))).toBe(0);
  });
});

describe("state copy", () => {
  it("copies every register class", () => {
    const a = new CpuState();
    setRegs(a, { ...getRegs(a), rax: 0x1234n, rip: 0xffffffff81000000n, rflags: 0x246n });
    setMsr(a, MSR.IA32_LSTAR, 0xffffffff81e00000n);
    a.xmm.i32[9] = 99;
    a.cr3Lo = 0x5000;
    a.retired = 1234;
    a.nmiBlocked = true;
    const b = new CpuState();
    b.copyFrom(a);
    expect(getRegs(b)).toEqual(getRegs(a));
    expect(getSregs(b)).toEqual(getSregs(a));
    expect(getFpu(b)).toEqual(getFpu(a));
    expect(getMsr(b, MSR.IA32_LSTAR)).toBe(0xffffffff81e00000n);
    expect(getMsr(b, MSR.IA32_TIME_STAMP_COUNTER)).toBe(1234n);
    expect(b.nmiBlocked).toBe(true);
    a.r[0] = 7;
    expect(b.r[0]).toBe(0x1234);
  });
});

describe("SSE/FPU availability", () => {
  it("raises #UD without CR4.OSFXSR or with CR0.EM, #NM with CR0.TS", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE | 0x10;
    expect(() => checkSseUsable(cpu)).toThrow(/#UD/);
    cpu.cr4 |= 1 << 9;
    checkSseUsable(cpu);
    cpu.cr0 |= 1 << 3; // TS
    expect(() => checkSseUsable(cpu)).toThrow(/#NM/);
    expect(() => checkFpuUsable(cpu)).toThrow(/#NM/);
    cpu.cr0 = CR0_PE | 0x10 | (1 << 2); // EM
    expect(() => checkSseUsable(cpu)).toThrow(/#UD/);
  });
});
