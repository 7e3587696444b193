import { describe, expect, it } from "vitest";
import { add32, add64, inc32, sub32 } from "../../src/exec/alu.js";
import { X86Exception } from "../../src/exec/exception.js";
import {
  clc,
  cld,
  cli,
  cmc,
  lahf,
  popf,
  pushfValue,
  sahf,
  stc,
  std,
  sti,
} from "../../src/exec/flag-insns.js";
import {
  AF,
  ARITH_FLAGS,
  arithFlags,
  CC_B,
  CC_E,
  CC_G,
  CC_L,
  CF,
  DF,
  IF,
  OF,
  PF,
  readRflags,
  SF,
  setArithFlags,
  setCF,
  testCondition,
  writeRflags,
  ZF,
} from "../../src/exec/flags.js";
import { newRegFile } from "../../src/exec/regs.js";
import { SEG_CS, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE } from "../../src/exec/state.js";

describe("lazy flags record", () => {
  it("encodes every combination of the six arithmetic flags, including ZF=1 with SF=1", () => {
    const r = newRegFile();
    const bits = [CF, PF, AF, ZF, SF, OF];
    for (let m = 0; m < 64; m++) {
      let f = 0;
      bits.forEach((b, i) => {
        if (m & (1 << i)) f |= b;
      });
      setArithFlags(r, f);
      expect(arithFlags(r)).toBe(f);
    }
  });

  it("derives ZF/SF/PF from the result and CF/OF/AF from the carry-out vector", () => {
    const r = newRegFile();
    add32(r, 0x7fffffff, 1);
    expect(arithFlags(r)).toBe(OF | SF | AF | PF);
    add64(r, -1, -1, 1, 0);
    expect(arithFlags(r)).toBe(CF | ZF | PF | AF);
    sub32(r, 0, 1);
    expect(arithFlags(r)).toBe(CF | SF | PF | AF);
  });

  it("INC keeps CF; setCF keeps OF", () => {
    const r = newRegFile();
    setArithFlags(r, CF);
    inc32(r, 5);
    expect(arithFlags(r) & CF).toBe(CF);
    setArithFlags(r, OF | ZF);
    setCF(r, 1);
    expect(arithFlags(r)).toBe(OF | ZF | CF);
  });

  it("RFLAGS keeps bit 1 set, drops reserved bits and keeps DF/IF eagerly", () => {
    const r = newRegFile();
    writeRflags(r, 0xffffffff);
    const v = readRflags(r);
    expect(v & 2).toBe(2);
    expect(v & (1 << 3)).toBe(0); // reserved bit 3
    expect(v & (DF | IF | ARITH_FLAGS)).toBe(DF | IF | ARITH_FLAGS);
  });

  it("evaluates conditions from a compare", () => {
    const r = newRegFile();
    sub32(r, -5, 3); // -5 < 3 signed, 0xfffffffb > 3 unsigned
    expect(testCondition(r, CC_L)).toBe(1);
    expect(testCondition(r, CC_G)).toBe(0);
    expect(testCondition(r, CC_B)).toBe(0);
    expect(testCondition(r, CC_E)).toBe(0);
    expect(testCondition(r, CC_E + 1)).toBe(1);
  });
});

describe("flag instructions", () => {
  function user(iopl: number): CpuState {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE;
    setSegment(cpu.seg, SEG_CS, 0x33, 0, 0, -1, 0xa0fb);
    writeRflags(cpu.r, 0x2 | (iopl << 12));
    return cpu;
  }

  it("CLI/STI follow CPL vs IOPL and STI reports the interrupt shadow", () => {
    const cpu = user(0);
    expect(() => cli(cpu)).toThrow(X86Exception);
    expect(() => sti(cpu)).toThrow(X86Exception);
    const io = user(3);
    expect(sti(io)).toBe(true);
    expect(sti(io)).toBe(false); // IF already set: no shadow
    cli(io);
    expect(readRflags(io.r) & IF).toBe(0);
  });

  it("POPF at CPL 0 changes IOPL and IF; the 16-bit form keeps the upper half", () => {
    const cpu = new CpuState();
    cpu.cr0 = CR0_PE;
    writeRflags(cpu.r, 0x10002); // RF set
    popf(cpu, 0x3246, 64);
    expect(readRflags(cpu.r)).toBe(0x3246);
    writeRflags(cpu.r, 0x40002); // AC set
    popf(cpu, 0xffff, 16);
    expect(readRflags(cpu.r) & 0x40000).toBe(0x40000);
    expect(pushfValue(cpu) & 0xfff).toBe(0xfd7);
  });

  it("LAHF/SAHF/CLC/STC/CMC/CLD/STD", () => {
    const cpu = new CpuState();
    setArithFlags(cpu.r, OF | ZF);
    expect(lahf(cpu)).toBe(0x42);
    sahf(cpu, 0xd5);
    expect(arithFlags(cpu.r)).toBe(OF | SF | ZF | AF | PF | CF);
    clc(cpu);
    expect(arithFlags(cpu.r) & CF).toBe(0);
    cmc(cpu);
    expect(arithFlags(cpu.r) & (CF | OF)).toBe(CF | OF);
    stc(cpu);
    std(cpu);
    expect(readRflags(cpu.r) & DF).toBe(DF);
    cld(cpu);
    expect(readRflags(cpu.r) & DF).toBe(0);
  });
});
