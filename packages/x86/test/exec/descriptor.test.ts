import { describe, expect, it } from "vitest";
import { loadDataSegment } from "../../src/exec/descriptor.js";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import {
  AR_UNUSABLE,
  SEG_CS,
  SEG_DS,
  SEG_SS,
  segAttr,
  segBaseLo,
  segLimit,
  segSelector,
  setSegment,
} from "../../src/exec/segment.js";
import { CpuState, CR0_PE } from "../../src/exec/state.js";
import { TestMemory } from "./test-memory.js";

const GDT = 0x1000n;

function pm(cpl: number): { cpu: CpuState; mem: TestMemory } {
  const cpu = new CpuState();
  const mem = new TestMemory();
  const gdt = [
    0n,
    0x00cf9a000000ffffn, // 0x08 code, readable
    0x00cf92000000ffffn, // 0x10 data DPL0
    0x00cff2000000ffffn, // 0x18 data DPL3
    0x00cf12000000ffffn, // 0x20 data DPL0, not present
    0x00cf98000000ffffn, // 0x28 code, execute-only
    0x12cf92345678ffffn, // 0x30 data, base 0x12345678
  ];
  for (const [i, d] of gdt.entries()) mem.write64(GDT + BigInt(i) * 8n, d);
  cpu.cr0 = CR0_PE;
  cpu.gdtrBaseLo = Number(GDT);
  cpu.gdtrLimit = gdt.length * 8 - 1;
  setSegment(cpu.seg, SEG_CS, 0x08 | cpl, 0, 0, -1, 0xc09b | (cpl << 5));
  return { cpu, mem };
}

function fault(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof X86Exception) return `${e.vector}:${e.errorCode.toString(16)}`;
    throw e;
  }
  return "none";
}

describe("segment register loads (MOV/POP Sreg checks)", () => {
  it("loads base, limit and attributes and sets the accessed bit", () => {
    const { cpu, mem } = pm(0);
    loadDataSegment(cpu, mem, SEG_DS, 0x30);
    expect(segBaseLo(cpu.seg, SEG_DS) >>> 0).toBe(0x12345678);
    expect(segLimit(cpu.seg, SEG_DS)).toBe(0xffffffff);
    expect(segAttr(cpu.seg, SEG_DS) & 0xff).toBe(0x93);
    expect(mem.read64(GDT + 0x30n) & (1n << 40n)).toBe(1n << 40n);
  });

  it("raises the SDM's exceptions with selector error codes", () => {
    const { cpu, mem } = pm(0);
    expect(fault(() => loadDataSegment(cpu, mem, SEG_DS, 0x38))).toBe(`${Vector.GP}:38`); // beyond GDT limit
    expect(fault(() => loadDataSegment(cpu, mem, SEG_DS, 0x2b))).toBe(`${Vector.GP}:28`); // execute-only code
    expect(fault(() => loadDataSegment(cpu, mem, SEG_DS, 0x20))).toBe(`${Vector.NP}:20`);
    expect(fault(() => loadDataSegment(cpu, mem, SEG_SS, 0x20))).toBe(`${Vector.SS}:20`); // stack not present
    expect(fault(() => loadDataSegment(cpu, mem, SEG_SS, 0x13))).toBe(`${Vector.GP}:10`); // RPL != CPL
    expect(fault(() => loadDataSegment(cpu, mem, SEG_SS, 0x18))).toBe(`${Vector.GP}:18`); // DPL != CPL
    expect(fault(() => loadDataSegment(cpu, mem, SEG_SS, 0))).toBe(`${Vector.GP}:0`); // null SS outside 64-bit mode
    expect(fault(() => loadDataSegment(cpu, mem, SEG_DS, 0x4))).toBe(`${Vector.GP}:4`); // LDT selector, no LDT
  });

  it("applies the privilege rule at CPL 3 and makes a null DS unusable", () => {
    const { cpu, mem } = pm(3);
    expect(fault(() => loadDataSegment(cpu, mem, SEG_DS, 0x10))).toBe(`${Vector.GP}:10`);
    loadDataSegment(cpu, mem, SEG_DS, 0x1b);
    expect(segSelector(cpu.seg, SEG_DS)).toBe(0x1b);
    loadDataSegment(cpu, mem, SEG_DS, 0);
    expect(segAttr(cpu.seg, SEG_DS) & AR_UNUSABLE).toBe(AR_UNUSABLE);
  });
});
