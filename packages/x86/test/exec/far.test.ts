import { describe, expect, it } from "vitest";
import { getRegs, getSregs, setRegs } from "../../src/exec/api.js";
import { writeCr0, writeCr4 } from "../../src/exec/control.js";
import { loadDataSegment } from "../../src/exec/descriptor.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import { farCall, farJump, farReturn, lldt, loadDescriptorTable, ltr } from "../../src/exec/far.js";
import { fxrstor, fxsave, fxsaveImage } from "../../src/exec/fxsave.js";
import { EFER_LMA, EFER_LME, MSR, writeMsr } from "../../src/exec/msr.js";
import { SEG_CS, SEG_DS, SEG_SS, SEG_TR, segAttr, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE, CR0_PG, CR4_PAE, codeBits, cpl, cpuMode } from "../../src/exec/state.js";
import { xgetbv, xrstor, xsave } from "../../src/exec/xsave.js";
import { TestMemory } from "./test-memory.js";

const GDT = 0x1000n;

/** The bench guest's GDT (boot64.S) plus user segments and a 64-bit TSS at 0x28. */
function multibootCpu(): { cpu: CpuState; mem: TestMemory } {
  const cpu = new CpuState();
  const mem = new TestMemory();
  const gdt = [
    0n,
    0x00209a0000000000n, // 0x08 64-bit code
    0x0000920000000000n, // 0x10 data
    0x00cffa000000ffffn, // 0x18 32-bit user code (0x1b)
    0x00cff2000000ffffn, // 0x20 user data (0x23)
    0x0000890050000067n, // 0x28 available 64-bit TSS at 0x5000, limit 0x67 ...
    0x00000000n, // ... upper half: base[63:32] = 0
    0x00cf9a000000ffffn, // 0x38 32-bit kernel code (the multiboot entry CS)
  ];
  for (const [i, d] of gdt.entries()) mem.write64(GDT + BigInt(i) * 8n, d);
  cpu.cr0 = CR0_PE | 0x10;
  loadDescriptorTable(cpu, "gdt", Number(GDT), 0, gdt.length * 8 - 1);
  setSegment(cpu.seg, SEG_CS, 0x38, 0, 0, -1, 0xc09b);
  setSegment(cpu.seg, SEG_SS, 0x10, 0, 0, -1, 0xc093);
  return { cpu, mem };
}

function fault(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof X86Exception) return `${e.vector}:${e.errorCode < 0 ? "-1" : e.errorCode.toString(16)}`;
    throw e;
  }
  return "none";
}

describe("far transfers and system segments", () => {
  it("enters 64-bit mode like the bench guest: PAE, EFER.LME, CR0.PG, then ljmp $0x08", () => {
    const { cpu, mem } = multibootCpu();
    expect(cpuMode(cpu)).toBe("protected");
    writeCr4(cpu, CR4_PAE | (1 << 9) | (1 << 10), 0);
    writeMsr(cpu, MSR.IA32_EFER, EFER_LME, 0);
    writeCr0(cpu, CR0_PE | CR0_PG | 0x10 | 0, 0);
    expect(cpu.efer & EFER_LMA).toBe(EFER_LMA);
    expect(cpuMode(cpu)).toBe("compatibility");
    farJump(cpu, mem, 0x08, 0x100123);
    expect(cpuMode(cpu)).toBe("64-bit");
    expect(codeBits(cpu)).toBe(64);
    expect(getRegs(cpu).rip).toBe(0x100123n);
    loadDataSegment(cpu, mem, SEG_DS, 0x10);
    expect(getSregs(cpu).ds.selector).toBe(0x10);
    expect(mem.read64(GDT + 8n) & (1n << 40n)).toBe(1n << 40n); // accessed
  });

  it("far CALL pushes CS:EIP and far RET returns; RET to CPL 3 loads SS:ESP from the stack", () => {
    const { cpu, mem } = multibootCpu();
    setRegs(cpu, { ...getRegs(cpu), rip: 0x2000n, rsp: 0x8000n });
    farCall(cpu, mem, 0x38, 0x3000, 0, 32);
    expect(getRegs(cpu).rsp).toBe(0x8000n - 8n);
    expect(mem.read32(0x7ff8n)).toBe(0x2000);
    expect(mem.read32(0x7ffcn)).toBe(0x38);
    farReturn(cpu, mem, 32);
    expect(getRegs(cpu).rip).toBe(0x2000n);
    expect(getRegs(cpu).rsp).toBe(0x8000n);

    // Outer-level return: EIP, CS=0x1b, ESP, SS=0x23 on the kernel stack.
    for (const [i, v] of [0x08048000, 0x1b, 0xbfff0000, 0x23].entries())
      mem.writeU32(0x7000 + 4 * i, 0, v, false);
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x7000n });
    loadDataSegment(cpu, mem, SEG_DS, 0x10);
    farReturn(cpu, mem, 32);
    expect(cpl(cpu)).toBe(3);
    expect(getRegs(cpu).rsp).toBe(0xbfff0000n);
    expect(getSregs(cpu).ss.selector).toBe(0x23);
    expect(getSregs(cpu).ds.unusable).toBe(1); // DPL-0 data is nulled on the way out
  });

  it("refuses bad far targets with the SDM error codes", () => {
    const { cpu, mem } = multibootCpu();
    expect(fault(() => farJump(cpu, mem, 0, 0))).toBe(`${Vector.GP}:0`);
    expect(fault(() => farJump(cpu, mem, 0x10, 0))).toBe(`${Vector.GP}:10`); // data segment
    expect(fault(() => farJump(cpu, mem, 0x1b, 0))).toBe(`${Vector.GP}:18`); // DPL 3 != CPL 0
    expect(fault(() => farJump(cpu, mem, 0x40, 0))).toBe(`${Vector.GP}:40`); // beyond the GDT
    mem.write64(GDT + 0x38n, 0x00cf1a000000ffffn); // not present
    expect(fault(() => farJump(cpu, mem, 0x38, 0))).toBe(`${Vector.NP}:38`);
  });

  it("LTR marks the 64-bit TSS busy and refuses a busy one; LLDT refuses a TSS", () => {
    const { cpu, mem } = multibootCpu();
    cpu.efer = EFER_LME | EFER_LMA;
    ltr(cpu, mem, 0x28);
    expect(segAttr(cpu.seg, SEG_TR) & 0xf).toBe(0xb);
    expect(getSregs(cpu).tr.base).toBe(0x5000n);
    expect(getSregs(cpu).tr.limit).toBe(0x67);
    expect((mem.read64(GDT + 0x28n) >> 40n) & 0xfn).toBe(0xbn);
    expect(fault(() => ltr(cpu, mem, 0x28))).toBe(`${Vector.GP}:28`);
    expect(fault(() => lldt(cpu, mem, 0x28))).toBe(`${Vector.GP}:28`);
    expect(fault(() => ltr(cpu, mem, 0x2c))).toBe(`${Vector.GP}:2c`); // TI=1: the error code keeps TI
    lldt(cpu, mem, 0);
    expect(getSregs(cpu).ldt.unusable).toBe(1);
  });
});

describe("FXSAVE / FXRSTOR", () => {
  it("round-trips MXCSR, FCW, XMM0-15 and the raw x87 bytes through memory in 64-bit mode", () => {
    const { cpu, mem } = multibootCpu();
    cpu.efer = EFER_LME | EFER_LMA;
    setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xa09b);
    for (let i = 0; i < cpu.xmm.u8.length - 16; i++) cpu.xmm.u8[i] = (i * 37) & 0xff;
    cpu.mxcsr = 0x9fc0;
    cpu.fcw = 0x37f;
    cpu.x87Image[2] = 0x12; // FSW low byte
    fxsave(cpu, mem, 0x6000, 0, false);
    expect(mem.read32(0x6000n)).toBe(0x0012037f); // FCW, then FSW
    expect(mem.read32(0x6018n)).toBe(0x9fc0);
    expect(mem.read32(0x601cn)).toBe(0xffff);
    const b = (i: number) => (i * 37) & 0xff;
    const x15 = 15 * 16;
    expect(mem.read32(BigInt(0x6000 + 160 + x15))).toBe(
      (b(x15) | (b(x15 + 1) << 8) | (b(x15 + 2) << 16) | (b(x15 + 3) << 24)) >>> 0,
    );
    const saved = fxsaveImage(cpu);
    const other = new CpuState();
    other.efer = cpu.efer;
    setSegment(other.seg, SEG_CS, 0x08, 0, 0, -1, 0xa09b);
    fxrstor(other, mem, 0x6000, 0, false);
    expect(fxsaveImage(other)).toEqual(saved);
    mem.writeU32(0x6018, 0, 0x10000, false);
    expect(fault(() => fxrstor(other, mem, 0x6000, 0, false))).toBe(`${Vector.GP}:0`);
  });
});

describe("XSAVE / XRSTOR / XGETBV", () => {
  function xcpu(): { cpu: CpuState; mem: TestMemory } {
    const { cpu, mem } = multibootCpu();
    cpu.cr4 |= 1 << 18; // OSXSAVE
    cpu.xcr0 = 3;
    return { cpu, mem };
  }

  it("saves x87+SSE with XSTATE_BV and restores, putting absent components in their initial state", () => {
    const { cpu, mem } = xcpu();
    expect(xgetbv(cpu, 0)).toBe(3);
    for (let i = 0; i < 128; i++) cpu.xmm.u8[i] = i + 1; // XMM0-7: outside 64-bit mode XSAVE covers 8 registers
    cpu.mxcsr = 0x1fa0;
    xsave(cpu, mem, 0x6000, 0, 3, false);
    expect(mem.read32(0x6200n)).toBe(3);
    const other = xcpu().cpu;
    xrstor(other, mem, 0x6000, 0, 3, false);
    expect(Array.from(other.xmm.u8.subarray(0, 128))).toEqual(Array.from(cpu.xmm.u8.subarray(0, 128)));
    expect(other.mxcsr).toBe(0x1fa0);
    mem.writeU32(0x6200, 0, 1, false); // XSTATE_BV: SSE in its initial state
    xrstor(other, mem, 0x6000, 0, 3, false);
    expect(other.xmm.u8[0]).toBe(0);
    expect(other.mxcsr).toBe(0x1fa0); // MXCSR still loaded
  });

  it("raises #UD without CR4.OSXSAVE and #GP for misalignment, bad headers and XCR1", () => {
    const { cpu, mem } = multibootCpu();
    expect(fault(() => xsave(cpu, mem, 0x6000, 0, 3, false))).toBe(`${Vector.UD}:-1`);
    const x = xcpu();
    expect(fault(() => xsave(x.cpu, x.mem, 0x6010, 0, 3, false))).toBe(`${Vector.GP}:0`);
    expect(fault(() => xgetbv(x.cpu, 1))).toBe(`${Vector.GP}:0`);
    xsave(x.cpu, x.mem, 0x6000, 0, 3, false);
    x.mem.writeU32(0x6200, 0, 7, false); // AVX bit, not in XCR0
    expect(fault(() => xrstor(x.cpu, x.mem, 0x6000, 0, 3, false))).toBe(`${Vector.GP}:0`);
    x.mem.writeU32(0x6200, 0, 3, false);
    x.mem.writeU32(0x6230, 0, 1, false); // reserved header byte
    expect(fault(() => xrstor(x.cpu, x.mem, 0x6000, 0, 3, false))).toBe(`${Vector.GP}:0`);
  });
});
