import { describe, expect, it } from "vitest";
import {
  CLS_CR,
  CLS_GPR,
  CLS_GPR8H,
  CLS_XMM,
  decodeInto,
  decodeOne,
  OK_IMM,
  OK_MEM,
  OK_REG,
  OK_REL,
  PFX_LOCK,
  PFX_REP,
  R_LEN,
  R_STATUS,
  RECORD_STRIDE,
  REG_RIP,
  SEG_FS,
  SEG_SS,
  ST_GP,
  ST_OK,
  ST_TRUNCATED,
  ST_UD,
  ST_UNSUPPORTED,
} from "../src/index.js";

const d = (hex: string, mode: 16 | 32 | 64 = 64) =>
  decodeOne(Uint8Array.from(hex.split(" ").map((x) => Number.parseInt(x, 16))), mode);

describe("decoder", () => {
  it("decodes ALU, sizes and registers", () => {
    const x = d("48 01 d8"); // add rax, rbx
    expect([x.ok, x.length, x.mnemonic, x.operandSize, x.addressSize]).toEqual([true, 3, "ADD", 8, 8]);
    expect(x.operands).toEqual([
      { kind: OK_REG, cls: CLS_GPR, reg: 0, size: 8 },
      { kind: OK_REG, cls: CLS_GPR, reg: 3, size: 8 },
    ]);
    expect(d("66 01 d8").operandSize).toBe(2);
    expect(d("00 e0").operands[1]).toEqual({ kind: OK_REG, cls: CLS_GPR8H, reg: 0, size: 1 }); // ah
    expect(d("40 00 e0").operands[1]).toEqual({ kind: OK_REG, cls: CLS_GPR, reg: 4, size: 1 }); // spl
  });

  it("decodes memory operands: SIB, disp, RIP-relative, segment defaults", () => {
    const x = d("8b 44 8d 10"); // mov eax, [rbp+rcx*4+0x10]
    expect(x.memory).toEqual({ segment: SEG_SS, base: 5, index: 1, scale: 4, displacement: 16n });
    const r = d("48 8b 05 f0 ff ff ff"); // mov rax, [rip-0x10]
    expect(r.memory.base).toBe(REG_RIP);
    expect(r.memory.displacement).toBe(-16n);
    expect(d("64 8b 04 25 28 00 00 00").memory).toEqual({
      segment: SEG_FS,
      base: -1,
      index: -1,
      scale: 1,
      displacement: 0x28n,
    });
    expect(d("8b 42 fe", 16).memory).toEqual({
      segment: SEG_SS,
      base: 5,
      index: 6,
      scale: 1,
      displacement: -2n,
    }); // [bp+si-2]
  });

  it("decodes immediates with the documented extension", () => {
    expect(d("48 83 c0 ff").immediate).toBe(-1n); // sb: sign-extended
    expect(d("48 b8 88 77 66 55 44 33 22 11").immediate).toBe(0x1122334455667788n);
    expect(d("b0 ff").immediate).toBe(0xffn); // ib: zero-extended
    const j = d("e9 fb ff ff ff");
    expect(j.operands[0].kind).toBe(OK_REL);
    expect(j.immediate).toBe(-5n);
    expect(d("c8 10 00 02").immediate2).toBe(2); // enter 16, 2
  });

  it("keeps prefixes", () => {
    const x = d("f0 48 0f b1 0a"); // lock cmpxchg [rdx], rcx
    expect(x.ok).toBe(true);
    expect(x.prefixes & PFX_LOCK).toBeTruthy();
    expect(d("f3 48 a5").prefixes & PFX_REP).toBeTruthy(); // rep movsq
    expect(d("f3 48 a5").mnemonic).toBe("MOVSQ");
    expect(d("f3 0f b8 c1").prefixes & PFX_REP).toBe(0); // popcnt: F3 is mandatory, not REP
  });

  it("decodes system and TDX instructions", () => {
    expect(d("66 0f 01 cc").mnemonic).toBe("TDCALL");
    expect(d("66 0f 01 cf").mnemonic).toBe("SEAMCALL");
    expect(d("0f 01 c1").mnemonic).toBe("VMCALL");
    const cr = d("0f 22 d8"); // mov cr3, rax
    expect(cr.operands[0]).toEqual({ kind: OK_REG, cls: CLS_CR, reg: 3, size: 8 });
    expect(d("66 0f 6f 05 00 00 00 00").operands[0].cls).toBe(CLS_XMM);
  });

  it("classifies invalid encodings like the CPU", () => {
    expect(d("f0 01 d8").status).toBe(ST_UD); // LOCK with a register destination
    expect(d("f0 88 00").status).toBe(ST_UD); // LOCK MOV
    expect(d("0f 0b").mnemonic).toBe("UD2");
    expect(d("0f 20 c8").status).toBe(ST_UD); // CR1
    expect(d("8e c8").status).toBe(ST_UD); // mov cs, ax
    expect(d("06").status).toBe(ST_UD); // push es in 64-bit mode
    expect(d("06", 32).status).toBe(ST_OK);
    expect(d("66 66 66 66 66 66 66 66 66 66 66 66 66 66 48 01 d8").status).toBe(ST_GP);
    expect(d("c5 f9 6f c1").status).toBe(ST_UNSUPPORTED); // vmovdqa: VEX
    expect(d("c5 f9 6f c1").length).toBe(4);
    expect(d("d9 c0").status).toBe(ST_UNSUPPORTED); // x87
    expect(d("48 8b").status).toBe(ST_TRUNCATED);
  });

  it("never throws and never reads past the limit", () => {
    const rec = new Int32Array(RECORD_STRIDE);
    const buf = new Uint8Array(64);
    let seed = 7;
    for (let i = 0; i < 50_000; i++) {
      for (let j = 0; j < 20; j++) {
        seed = (seed * 1103515245 + 12345) | 0;
        buf[j] = seed >>> 16;
      }
      const limit = i % 16;
      decodeInto(buf, 0, limit, ([16, 32, 64] as const)[i % 3], rec, 0);
      expect(rec[R_LEN]).toBeLessThanOrEqual(Math.max(limit, 15));
      if (rec[R_STATUS] === ST_OK) expect(rec[R_LEN]).toBeLessThanOrEqual(limit);
    }
    expect(d("").status).toBe(ST_TRUNCATED);
    decodeInto(new Uint8Array(4), 9, 4, 64, rec, 0); // start past the limit
    expect([rec[R_STATUS], rec[R_LEN]]).toEqual([ST_TRUNCATED, 0]);
    expect(d("48 83 c0 ff").operands[1].kind).toBe(OK_IMM);
    expect(d("ff 25 00 00 00 00").operands[0].kind).toBe(OK_MEM);
  });
});
