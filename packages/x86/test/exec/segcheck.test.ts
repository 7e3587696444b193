import { describe, expect, it } from "vitest";
import { Vector, X86Exception } from "../../src/exec/exception.js";
import { EFER_LMA, EFER_LME } from "../../src/exec/msr.js";
import { OUT_HI } from "../../src/exec/regs.js";
import { Access, linearAddress } from "../../src/exec/segcheck.js";
import { AR_UNUSABLE, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_SS, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE, CR0_PG } from "../../src/exec/state.js";

function vec(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof X86Exception) return e.vector;
    throw e;
  }
  return -1;
}

describe("segmentation checks", () => {
  it("applies base and limits in 32-bit protected mode, #SS for the stack segment", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE;
    setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xc09a); // execute/read
    setSegment(cpu.seg, SEG_DS, 0x10, 0x10000, 0, 0xfff, 0x4093);
    setSegment(cpu.seg, SEG_SS, 0x18, 0, 0, 0xfff, 0x4093);
    setSegment(cpu.seg, SEG_ES, 0x20, 0, 0, 0xfff, 0x4097); // expand-down, B=1
    expect(linearAddress(cpu, SEG_DS, 0xffc, 0, 4, Access.READ)).toBe(0x10ffc);
    expect(vec(() => linearAddress(cpu, SEG_DS, 0xffd, 0, 4, Access.READ))).toBe(Vector.GP);
    expect(vec(() => linearAddress(cpu, SEG_SS, 0x1000, 0, 1, Access.WRITE))).toBe(Vector.SS);
    expect(vec(() => linearAddress(cpu, SEG_ES, 0xfff, 0, 1, Access.READ))).toBe(Vector.GP);
    expect(linearAddress(cpu, SEG_ES, 0x1000, 0, 4, Access.WRITE)).toBe(0x1000);
    expect(vec(() => linearAddress(cpu, SEG_CS, 0, 0, 4, Access.WRITE))).toBe(Vector.GP);
    setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xc098); // execute-only
    expect(vec(() => linearAddress(cpu, SEG_CS, 0, 0, 4, Access.READ))).toBe(Vector.GP);
    setSegment(cpu.seg, SEG_DS, 0, 0, 0, 0, AR_UNUSABLE);
    expect(vec(() => linearAddress(cpu, SEG_DS, 0, 0, 1, Access.READ))).toBe(Vector.GP);
  });

  it("uses FS base and checks canonical addresses in 64-bit mode", () => {
    const cpu = new CpuState({ linearAddressBits: 48 });
    cpu.cr0 = CR0_PE | CR0_PG | 0;
    cpu.efer = EFER_LME | EFER_LMA;
    setSegment(cpu.seg, SEG_CS, 0x08, 0, 0, -1, 0xa09b);
    setSegment(cpu.seg, SEG_FS, 0, 0x1000, 0x7fff, 0, AR_UNUSABLE); // unusable but the base applies
    expect(linearAddress(cpu, SEG_FS, 0x10, 0, 8, Access.READ)).toBe(0x1010);
    expect(cpu.r[OUT_HI]).toBe(0x7fff);
    expect(vec(() => linearAddress(cpu, SEG_FS, 0xfffff000 | 0, 0, 8, Access.READ))).toBe(Vector.GP); // base + offset = 0x8000_0000_0000
    expect(vec(() => linearAddress(cpu, SEG_DS, 0, 0x8000, 8, Access.READ))).toBe(Vector.GP);
    expect(vec(() => linearAddress(cpu, SEG_SS, 0, 0x8000, 8, Access.WRITE))).toBe(Vector.SS);
    // the last byte crosses into the non-canonical hole
    expect(vec(() => linearAddress(cpu, SEG_DS, -4, 0x7fff, 8, Access.READ))).toBe(Vector.GP);
  });
});
