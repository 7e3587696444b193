import { describe, expect, it } from "vitest";
import { getRegs, setRegs } from "../../src/exec/api.js";
import type { DataMemory } from "../../src/exec/data-memory.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import { EFER_LMA, EFER_LME } from "../../src/exec/msr.js";
import { OUT_HI } from "../../src/exec/regs.js";
import { SEG_CS, SEG_SS, setSegment } from "../../src/exec/segment.js";
import { enter, leave, nearCall, nearReturn, pop, push } from "../../src/exec/stack.js";
import { CpuState, CR0_PE, CR0_PG } from "../../src/exec/state.js";

class Flat implements DataMemory {
  readonly m = new Map<number, number>();
  read(_seg: number, off: number, _hi: number, bytes: number): number {
    let v = 0;
    for (let k = bytes - 1; k >= 0; k--) v = (v << 8) | (this.m.get(((off >>> 0) + k) % 2 ** 32) ?? 0);
    return v | 0;
  }
  write(_seg: number, off: number, _hi: number, bytes: number, value: number): void {
    for (let k = 0; k < bytes; k++) this.m.set(((off >>> 0) + k) % 2 ** 32, (value >>> (8 * k)) & 0xff);
  }
}

function long64(): CpuState {
  const cpu = new CpuState();
  cpu.cr0 = CR0_PE | CR0_PG | 0;
  cpu.efer = EFER_LME | EFER_LMA;
  setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xa09b);
  return cpu;
}

describe("stack operations", () => {
  it("pushes and pops 8-byte values in 64-bit mode, CALL/RET round trip", () => {
    const cpu = long64();
    const mem = new Flat();
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x8000n, rip: 0x401005n });
    push(cpu, mem, 8, 0x11223344, 0x55667788);
    expect(getRegs(cpu).rsp).toBe(0x7ff8n);
    expect(pop(cpu, mem, 8)).toBe(0x11223344);
    expect(cpu.r[OUT_HI]).toBe(0x55667788);
    nearCall(cpu, mem, 8, 0x402000, 0);
    expect(getRegs(cpu).rip).toBe(0x402000n);
    nearReturn(cpu, mem, 8, 16);
    expect(getRegs(cpu)).toMatchObject({ rip: 0x401005n, rsp: 0x8010n });
    expect(() => nearCall(cpu, mem, 8, 0, 0x01000000)).toThrow(X86Exception);
  });

  it("wraps SP at 16 bits with SS.B=0 and keeps the upper bits of ESP", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE;
    setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xc09b);
    setSegment(cpu.seg, SEG_SS, 0x10, 0, 0, 0xffff, 0x93);
    const mem = new Flat();
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x12340000n });
    push(cpu, mem, 2, 0xbeef);
    expect(getRegs(cpu).rsp).toBe(0x1234fffen);
    expect(mem.read(0, 0xfffe, 0, 2) & 0xffff).toBe(0xbeef);
  });

  it("ENTER with nesting copies frame pointers; LEAVE undoes level 0", () => {
    const cpu = long64();
    const mem = new Flat();
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x8000n, rbp: 0x9000n });
    mem.write(0, 0x9000 - 8, 0, 4, 0xaaaa); // the caller's saved frame pointer slot
    enter(cpu, mem, 8, 0x20, 2);
    const r = getRegs(cpu);
    expect(r.rbp).toBe(0x7ff8n);
    expect(r.rsp).toBe(0x7ff8n - 16n - 0x20n);
    expect(mem.read(0, 0x7ff8, 0, 4)).toBe(0x9000); // old RBP
    expect(mem.read(0, 0x7ff0, 0, 4)).toBe(0xaaaa); // copied display entry
    expect(mem.read(0, 0x7fe8, 0, 4)).toBe(0x7ff8); // the new frame pointer
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x8000n, rbp: 0x9000n });
    enter(cpu, mem, 8, 0x10, 0);
    leave(cpu, mem, 8);
    expect(getRegs(cpu)).toMatchObject({ rsp: 0x8000n, rbp: 0x9000n });
  });

  it("leaves RSP unchanged when the push faults", () => {
    const cpu = long64();
    const faulting: DataMemory = {
      read: () => 0,
      write: () => {
        throw new X86Exception(Vector.PF, 2);
      },
    };
    setRegs(cpu, { ...getRegs(cpu), rsp: 0x8000n });
    expect(() => push(cpu, faulting, 8, 1)).toThrow(X86Exception);
    expect(getRegs(cpu).rsp).toBe(0x8000n);
  });
});
