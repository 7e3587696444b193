import { describe, expect, it } from "vitest";
import { getRegs, setRegs } from "../../src/exec/api.js";
import type { DataMemory } from "../../src/exec/data-memory.js";
import { SEG_ES } from "../../src/exec/segment.js";
import { CpuState } from "../../src/exec/state.js";
import { RepPrefix, StringOp, stringOp } from "../../src/exec/string.js";

/** Records accesses; reads return the low byte of the offset. */
class LogMemory implements DataMemory {
  readonly log: string[] = [];
  read(seg: number, offLo: number, _offHi: number, bytes: number): number {
    this.log.push(`r${seg}:${(offLo >>> 0).toString(16)}/${bytes}`);
    return offLo & 0xff;
  }
  write(seg: number, offLo: number, _offHi: number, bytes: number, value: number): void {
    this.log.push(`w${seg}:${(offLo >>> 0).toString(16)}/${bytes}=${(value >>> 0).toString(16)}`);
  }
}

describe("string instructions: address size and interruptibility", () => {
  it("wraps SI/DI at 16 bits and leaves the upper register bits alone", () => {
    const cpu = new CpuState();
    setRegs(cpu, { ...getRegs(cpu), rsi: 0x1234ffffn, rdi: 0xabcd0000n, rcx: 0x77770002n });
    const mem = new LogMemory();
    expect(stringOp(cpu, mem, StringOp.MOVS, 1, 16, RepPrefix.REPE)).toBe(true);
    const r = getRegs(cpu);
    expect([r.rsi, r.rdi, r.rcx]).toEqual([0x12340001n, 0xabcd0002n, 0x77770000n]);
    expect(mem.log).toEqual(["r3:ffff/1", `w${SEG_ES}:0/1=ff`, "r3:0/1", `w${SEG_ES}:1/1=0`]);
  });

  it("zero-extends RSI/RDI/RCX with a 32-bit address size", () => {
    const cpu = new CpuState();
    setRegs(cpu, { ...getRegs(cpu), rdi: 0xffff_ffff_0000_0010n, rcx: 0xffff_ffff_0000_0001n, rax: 0x41n });
    stringOp(cpu, new LogMemory(), StringOp.STOS, 4, 32, RepPrefix.REPE);
    const r = getRegs(cpu);
    expect([r.rdi, r.rcx]).toEqual([0x14n, 0n]);
  });

  it("stops after maxIterations with the completed iterations committed, then finishes", () => {
    const cpu = new CpuState();
    setRegs(cpu, { ...getRegs(cpu), rdi: 0x1000n, rcx: 5n });
    const mem = new LogMemory();
    expect(stringOp(cpu, mem, StringOp.STOS, 8, 64, RepPrefix.REPE, undefined, 2)).toBe(false);
    expect([getRegs(cpu).rdi, getRegs(cpu).rcx]).toEqual([0x1010n, 3n]);
    expect(stringOp(cpu, mem, StringOp.STOS, 8, 64, RepPrefix.REPE)).toBe(true);
    expect([getRegs(cpu).rdi, getRegs(cpu).rcx]).toEqual([0x1028n, 0n]);
    expect(mem.log.length).toBe(10); // five 8-byte stores as pairs of dwords
  });
});
