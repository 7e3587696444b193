import { describe, expect, it } from "vitest";
import { add32, add64, inc32, sub32 } from "../../src/exec/alu.js";
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
