import { beforeEach, describe, expect, it } from "vitest";
import { getRegs, setRegs } from "../../src/exec/api.js";
import { type DeliveryResult, deliverEvent, EventKind } from "../../src/exec/deliver.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import { IF, readRflags } from "../../src/exec/flags.js";
import { iret } from "../../src/exec/iret.js";
import { EFER_LMA, EFER_LME } from "../../src/exec/msr.js";
import { SEG_CS, SEG_SS, SEG_TR, segAttr, segSelector, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE, CR0_PG, CR4_PAE, cpl } from "../../src/exec/state.js";
import { gate32, gate64, TestMemory } from "./test-memory.js";

const GDT = 0x1000n;
const IDT = 0x2000n;
const TSS = 0x3000n;
const KSTACK = 0x9000n; // RSP0
const ISTACK = 0xa008n; // IST1 (deliberately misaligned: the frame is aligned down to 16)
const HANDLER = 0xffffffff81000000n;

function handlerFor(v: number): bigint {
  return HANDLER + BigInt(v) * 0x10n;
}

/** A 64-bit kernel: flat GDT, 64-bit TSS with RSP0 and IST1, IDT gates for every vector. */
function longModeCpu(): { cpu: CpuState; mem: TestMemory } {
  const cpu = new CpuState();
  const mem = new TestMemory();
  const gdt = [
    0n,
    0x00209a0000000000n, // 0x08 kernel code 64
    0x0000920000000000n, // 0x10 kernel data
    0x0000f20000000000n, // 0x18 user data (0x1b)
    0x0020fa0000000000n, // 0x20 user code 64 (0x23)
  ];
  for (const [i, d] of gdt.entries()) mem.write64(GDT + BigInt(i) * 8n, d);
  mem.write64(TSS + 4n, KSTACK); // RSP0
  mem.write64(TSS + 36n, ISTACK); // IST1
  for (let v = 0; v < 256; v++) {
    const type = v === 3 || v === 4 ? 0xf : 0xe;
    const [lo, hi] = gate64(handlerFor(v), 0x08, type, v === 3 ? 3 : 0, v === Vector.DF ? 1 : 0);
    mem.write64(IDT + BigInt(v) * 16n, lo);
    mem.write64(IDT + BigInt(v) * 16n + 8n, hi);
  }
  cpu.cr0 = CR0_PE | CR0_PG | 0;
  cpu.cr4 = CR4_PAE;
  cpu.efer = EFER_LME | EFER_LMA;
  cpu.gdtrBaseLo = Number(GDT);
  cpu.gdtrLimit = gdt.length * 8 - 1;
  cpu.idtrBaseLo = Number(IDT);
  cpu.idtrLimit = 256 * 16 - 1;
  setSegment(cpu.seg, SEG_TR, 0x28, Number(TSS), 0, 0x67, 0x8b);
  setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xa09b);
  setSegment(cpu.seg, SEG_SS, 0x10, 0, 0, -1, 0xc093);
  return { cpu, mem };
}

function enterUser(cpu: CpuState): void {
  setSegment(cpu.seg, SEG_CS, 0x23, 0, 0, -1, 0xa0fb);
  setSegment(cpu.seg, SEG_SS, 0x1b, 0, 0, -1, 0xc0f3);
}

function setRipRsp(cpu: CpuState, rip: bigint, rsp: bigint, rflags = 0x202n): void {
  setRegs(cpu, { ...getRegs(cpu), rip, rsp, rflags });
}

function frame64(mem: TestMemory, rsp: bigint, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => mem.read64(rsp + BigInt(i) * 8n));
}

describe("IA-32e event delivery", () => {
  let cpu: CpuState;
  let mem: TestMemory;
  beforeEach(() => {
    ({ cpu, mem } = longModeCpu());
  });

  it("delivers #GP with its error code on the current stack at CPL 0", () => {
    setRipRsp(cpu, 0xffffffff80001234n, 0x7ff8n);
    const res = deliverEvent(cpu, mem, { vector: Vector.GP, kind: EventKind.Exception, errorCode: 0x10 });
    expect(res).toBe<DeliveryResult>("delivered");
    const regs = getRegs(cpu);
    expect(regs.rip).toBe(handlerFor(13));
    expect(regs.rsp).toBe(0x7ff0n - 48n); // aligned to 16, then 6 quadwords
    // error code, RIP, CS, RFLAGS (RF set for a fault), RSP, SS
    expect(frame64(mem, regs.rsp, 6)).toEqual([0x10n, 0xffffffff80001234n, 0x08n, 0x10202n, 0x7ff8n, 0x10n]);
    expect(readRflags(cpu.r) & IF).toBe(0); // interrupt gate
  });

  it("switches to RSP0 on an external interrupt from CPL 3, with SS = null(RPL 0)", () => {
    enterUser(cpu);
    setRipRsp(cpu, 0x401000n, 0x7fffffffe000n);
    deliverEvent(cpu, mem, { vector: 0x20, kind: EventKind.External });
    const regs = getRegs(cpu);
    expect(cpl(cpu)).toBe(0);
    expect(regs.rsp).toBe(KSTACK - 40n);
    expect(frame64(mem, regs.rsp, 5)).toEqual([0x401000n, 0x23n, 0x202n, 0x7fffffffe000n, 0x1bn]);
    expect(segSelector(cpu.seg, SEG_SS)).toBe(0);
  });

  it("lets INT3 through a DPL-3 trap gate but turns INT 0x20 from CPL 3 into #GP(vector*8+2)", () => {
    enterUser(cpu);
    setRipRsp(cpu, 0x401001n, 0x7fffffffe000n);
    deliverEvent(cpu, mem, { vector: 3, kind: EventKind.SoftwareException });
    expect(getRegs(cpu).rip).toBe(handlerFor(3));
    expect(readRflags(cpu.r) & IF).toBe(IF); // trap gate keeps IF

    ({ cpu, mem } = longModeCpu());
    enterUser(cpu);
    setRipRsp(cpu, 0x401002n, 0x7fffffffe000n);
    deliverEvent(cpu, mem, { vector: 0x20, kind: EventKind.SoftwareInterrupt });
    const regs = getRegs(cpu);
    expect(regs.rip).toBe(handlerFor(13));
    expect(mem.read64(regs.rsp)).toBe(0x20n * 8n + 2n); // IDT bit, EXT=0
  });

  it("uses IST1 for #DF and reports #NP for a not-present gate with EXT=1", () => {
    const [lo] = gate64(handlerFor(0x30), 0x08, 0xe, 0, 0, false);
    mem.write64(IDT + 0x30n * 16n, lo);
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    deliverEvent(cpu, mem, { vector: 0x30, kind: EventKind.External });
    let regs = getRegs(cpu);
    expect(regs.rip).toBe(handlerFor(Vector.NP));
    expect(mem.read64(regs.rsp)).toBe(0x30n * 8n + 3n);

    ({ cpu, mem } = longModeCpu());
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    deliverEvent(cpu, mem, { vector: Vector.DF, kind: EventKind.Exception, errorCode: 0 });
    regs = getRegs(cpu);
    expect(regs.rsp).toBe((ISTACK & ~0xfn) - 48n);
  });

  it("escalates #PF whose delivery faults to #DF, and a faulting #DF to shutdown", () => {
    const [lo] = gate64(handlerFor(14), 0x08, 0xe, 0, 0, false);
    mem.write64(IDT + 14n * 16n, lo); // #PF gate not present → #NP during #PF delivery
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    const res = deliverEvent(cpu, mem, {
      vector: Vector.PF,
      kind: EventKind.Exception,
      errorCode: 2,
      cr2Lo: 0xdead000,
      cr2Hi: 0,
    });
    expect(res).toBe("delivered");
    expect(getRegs(cpu).rip).toBe(handlerFor(Vector.DF));
    expect(cpu.cr2Lo).toBe(0xdead000);

    ({ cpu, mem } = longModeCpu());
    cpu.idtrLimit = 0; // every vector is beyond the limit
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    expect(deliverEvent(cpu, mem, { vector: Vector.GP, kind: EventKind.Exception, errorCode: 0 })).toBe(
      "shutdown",
    );
  });

  it("delivers a #PF raised by the stack push serially after a contributory fault, then #DF", () => {
    mem.absent.push([0x7000n, 0x8000n]); // the current stack is not mapped
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    const res = deliverEvent(cpu, mem, { vector: Vector.GP, kind: EventKind.Exception, errorCode: 0 });
    // #GP → #PF on push (contributory then page fault: serial) → #PF on push again → #DF on IST1
    expect(res).toBe("delivered");
    expect(getRegs(cpu).rip).toBe(handlerFor(Vector.DF));
    expect(getRegs(cpu).rsp).toBe((ISTACK & ~0xfn) - 48n);
  });

  it("refuses a non-64-bit target code segment with #GP(selector+EXT)", () => {
    mem.write64(GDT + 8n, 0x00cf9a000000ffffn); // make 0x08 a 32-bit code segment
    setRipRsp(cpu, 0xffffffff80000000n, 0x8000n);
    // every gate now fails the same way → #GP → #DF → shutdown
    expect(deliverEvent(cpu, mem, { vector: 0x20, kind: EventKind.External })).toBe("shutdown");
  });
});

describe("32-bit protected-mode event delivery", () => {
  function pmCpu(): { cpu: CpuState; mem: TestMemory } {
    const cpu = new CpuState();
    const mem = new TestMemory();
    const gdt = [
      0n,
      0x00cf9a000000ffffn, // 0x08 code
      0x00cf92000000ffffn, // 0x10 data
      0x00cffa000000ffffn, // 0x18 user code (0x1b)
      0x00cff2000000ffffn, // 0x20 user data (0x23)
    ];
    for (const [i, d] of gdt.entries()) mem.write64(GDT + BigInt(i) * 8n, d);
    mem.writeU32(Number(TSS) + 4, 0, 0x9000, false); // ESP0
    mem.writeU32(Number(TSS) + 8, 0, 0x10, false); // SS0
    for (let v = 0; v < 64; v++) mem.write64(IDT + BigInt(v) * 8n, gate32(0xc0100000 + v * 16, 0x08, 0xe, 0));
    cpu.cr0 = CR0_PE;
    cpu.gdtrBaseLo = Number(GDT);
    cpu.gdtrLimit = gdt.length * 8 - 1;
    cpu.idtrBaseLo = Number(IDT);
    cpu.idtrLimit = 64 * 8 - 1;
    setSegment(cpu.seg, SEG_TR, 0x28, Number(TSS), 0, 0x67, 0x8b);
    setSegment(cpu.seg, SEG_CS, 0x1b, 0, 0, -1, 0xc0fb);
    setSegment(cpu.seg, SEG_SS, 0x23, 0, 0, -1, 0xc0f3);
    return { cpu, mem };
  }

  it("switches to SS0:ESP0 from CPL 3 and pushes SS, ESP, EFLAGS, CS, EIP, error code", () => {
    const { cpu, mem } = pmCpu();
    setRipRsp(cpu, 0x08048000n, 0xbffff000n);
    deliverEvent(cpu, mem, { vector: Vector.PF, kind: EventKind.Exception, errorCode: 6, cr2Lo: 0x1234 });
    const regs = getRegs(cpu);
    expect(regs.rip).toBe(0xc0100000n + 14n * 16n);
    expect(regs.rsp).toBe(0x9000n - 24n);
    const f = Array.from({ length: 6 }, (_, i) => mem.read32(regs.rsp + BigInt(i * 4)));
    expect(f).toEqual([6, 0x08048000, 0x1b, 0x10202, 0xbffff000, 0x23]);
    expect(segSelector(cpu.seg, SEG_SS)).toBe(0x10);
    expect(segSelector(cpu.seg, SEG_CS)).toBe(0x08);
    expect(segAttr(cpu.seg, SEG_CS) & 0x60).toBe(0);
  });

  it("raises #TS(SS selector + EXT) when the TSS stack segment has the wrong DPL", () => {
    const { cpu, mem } = pmCpu();
    mem.writeU32(Number(TSS) + 8, 0, 0x23, false); // SS0 = user data
    setRipRsp(cpu, 0x08048000n, 0xbffff000n);
    // #TS cannot be delivered either (same TSS) → #DF → shutdown
    expect(deliverEvent(cpu, mem, { vector: 0x21, kind: EventKind.External })).toBe("shutdown");
  });
});

describe("IRET", () => {
  it("returns from a CPL-3 interrupt in IA-32e mode to the interrupted state and unblocks NMIs", () => {
    const { cpu, mem } = longModeCpu();
    enterUser(cpu);
    setRipRsp(cpu, 0x401000n, 0x7fffffffe008n, 0x10a93n); // some arithmetic flags + IF, RF
    const before = getRegs(cpu);
    deliverEvent(cpu, mem, { vector: 2, kind: EventKind.Nmi });
    expect(cpu.nmiBlocked).toBe(true);
    iret(cpu, mem, 64);
    const after = getRegs(cpu);
    expect(after).toEqual(before);
    expect(cpl(cpu)).toBe(3);
    expect(segSelector(cpu.seg, SEG_SS)).toBe(0x1b);
    expect(cpu.nmiBlocked).toBe(false);
  });

  it("returns from a 32-bit exception after the handler pops the error code", () => {
    const cpu = new CpuState();
    const mem = new TestMemory();
    const gdt = [0n, 0x00cf9a000000ffffn, 0x00cf92000000ffffn, 0x00cffa000000ffffn, 0x00cff2000000ffffn];
    for (const [i, d] of gdt.entries()) mem.write64(GDT + BigInt(i) * 8n, d);
    mem.writeU32(Number(TSS) + 4, 0, 0x9000, false);
    mem.writeU32(Number(TSS) + 8, 0, 0x10, false);
    for (let v = 0; v < 32; v++) mem.write64(IDT + BigInt(v) * 8n, gate32(0xc0100000, 0x08, 0xe, 0));
    cpu.cr0 = CR0_PE;
    cpu.gdtrBaseLo = Number(GDT);
    cpu.gdtrLimit = gdt.length * 8 - 1;
    cpu.idtrBaseLo = Number(IDT);
    cpu.idtrLimit = 32 * 8 - 1;
    setSegment(cpu.seg, SEG_TR, 0x28, Number(TSS), 0, 0x67, 0x8b);
    setSegment(cpu.seg, SEG_CS, 0x1b, 0, 0, -1, 0xc0fb);
    setSegment(cpu.seg, SEG_SS, 0x23, 0, 0, -1, 0xc0f3);
    setRipRsp(cpu, 0x08048000n, 0xbffff000n, 0x282n);
    const before = getRegs(cpu);
    deliverEvent(cpu, mem, { vector: Vector.GP, kind: EventKind.Exception, errorCode: 0 });
    setRegs(cpu, { ...getRegs(cpu), rsp: getRegs(cpu).rsp + 4n });
    iret(cpu, mem, 32);
    expect(getRegs(cpu)).toEqual({ ...before, rflags: 0x10282n }); // the fault image carried RF=1
    expect(cpl(cpu)).toBe(3);
  });

  it("raises #GP(selector) for a return CS whose RPL is below CPL", () => {
    const { cpu, mem } = longModeCpu();
    enterUser(cpu);
    setRipRsp(cpu, 0x401000n, 0x7fffffffe000n);
    for (const [i, v] of [0x401000n, 0x08n, 0x202n, 0x7fffffffe000n, 0x10n].entries()) {
      mem.write64(0x7fffffffe000n + BigInt(i) * 8n, v);
    }
    try {
      iret(cpu, mem, 64);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(X86Exception);
      expect([(e as X86Exception).vector, (e as X86Exception).errorCode]).toEqual([Vector.GP, 0x08]);
    }
  });
});
