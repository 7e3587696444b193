import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AsmError,
  Assembler,
  assembleText,
  byte,
  dword,
  eax,
  ecx,
  plus,
  ptr,
  qword,
  rax,
  rbp,
  rbx,
  rcx,
  rdi,
  rip,
  rsi,
  xmm0,
  xmm1,
} from "../src/asm/index.js";
import { mnemonicMethodNames } from "../src/asm/methods.js";
import { decodeOne } from "../src/index.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("typed assembler API", () => {
  it("relative branches to numeric targets are encoded from their own address", () => {
    // nop; jmp 0x1000 / call 0x1000 / jnz 0x2000 at origin 0x1000 (GNU as: eb fd, e8 fa ff ff ff, 0f 85 f8 0f 00 00)
    expect(hex(assembleText("nop\njmp 0x1000", { origin: 0x1000 }).bytes)).toBe("90ebfd");
    expect(hex(assembleText("nop\ncall 0x1000", { origin: 0x1000 }).bytes)).toBe("90e8faffffff");
    expect(hex(assembleText("nop\nnop\nnop\njnz 0x2000", { origin: 0x1000 }).bytes)).toBe(
      "9090900f85f70f0000",
    );
  });
  it("emits instructions with registers, immediates and memory operands", () => {
    const a = new Assembler();
    a.mov(rax, 0x10)
      .add(qword({ base: rbp, index: rcx, scale: 8, disp: -16 }), 1)
      .movzx(eax, byte(rsi))
      .lock()
      .xadd(qword(rdi), rax)
      .rep()
      .movsb()
      .pxor(xmm0, xmm1)
      .ret();
    expect(hex(a.assemble().bytes)).toBe(
      "48c7c010000000" + "488344cdf001" + "0fb606" + "f0480fc107" + "f3a4" + "660fefc1" + "c3",
    );
  });

  it("resolves labels and forward references, relaxes jumps, aligns, emits data and relocations", () => {
    const a = new Assembler({ origin: 0x40_0000 });
    const done = a.label("done");
    const data = a.label("data");
    a.here("top");
    a.dec(ecx).jz(done).jmp(a.label("top"));
    a.bind(done).mov(rax, qword(rip, data)).mov(rbx, data).ret();
    a.align(8)
      .bind(data)
      .dq(0x1122334455667788n, plus(a.label("top"), 4))
      .dd(data);
    const r = a.assemble();
    expect(r.labels.get("top")).toBe(0x40_0000n);
    expect(hex(r.bytes.subarray(0, 6))).toBe("ffc9" + "7402" + "ebfa"); // short jumps both ways
    expect(r.bytes.length % 8).toBe(4);
    // dq top+4 is an absolute relocation with the resolved value in place
    const reloc = r.relocations.find((x) => x.size === 8)!;
    expect(reloc).toMatchObject({ label: "top", addend: 4 });
    expect(new DataView(r.bytes.buffer).getBigUint64(reloc.offset, true)).toBe(0x40_0004n);
    expect(r.relocations.some((x) => x.label === "data" && x.size === 4)).toBe(true); // mov rbx, imm32 and dd
    // the RIP-relative load decodes to the data label
    const load = decodeOne(r.bytes.subarray(6), 64);
    expect(load.mnemonic).toBe("MOV");
    expect(0x40_0006n + BigInt(load.length) + load.memory.displacement).toBe(r.labels.get("data"));
  });

  it("uses long jumps when the target is out of rel8 range", () => {
    const a = new Assembler();
    const far = a.label("far");
    a.jne(far).zero(200).bind(far).ret();
    expect(hex(a.assemble().bytes.subarray(0, 6))).toBe("0f85c8000000");
  });

  it("switches code mode inside one image (32-bit boot code continuing in 64-bit code)", () => {
    const a = new Assembler({ mode: 32 });
    const long = a.label("long");
    a.mov(eax, 1).jmp(long);
    a.code64().bind(long).mov(rax, 1).ret();
    expect(hex(a.assemble().bytes)).toBe("b801000000" + "eb00" + "48c7c001000000" + "c3");
  });

  it("far jumps to a label (the jump into long mode), with a relocation", () => {
    const r = assembleText("nop\njmp 0x8:long_mode\n.code64\nlong_mode: hlt", { mode: 32, origin: 0x1000 });
    expect(hex(r.bytes)).toBe("90" + "ea08100000" + "0800" + "f4");
    expect(r.relocations).toEqual([{ offset: 2, size: 4, label: "long_mode", addend: 0 }]);
  });

  it("has one method per table mnemonic (mnemonic-names.ts is current)", () => {
    const names = mnemonicMethodNames();
    const file = readFileSync(new URL("../src/asm/mnemonic-names.ts", import.meta.url), "utf8");
    expect([...file.matchAll(/\| "([a-z0-9]+)"/g)].map((m) => m[1])).toEqual(names);
    expect(typeof (new Assembler() as unknown as Record<string, unknown>).cmpxchg16b).toBe("function");
  });
});

describe("assembler errors name the line and the operand", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(AsmError);
      return e as AsmError;
    }
    throw new Error("no error");
  };

  it("unknown mnemonic", () => {
    const e = err(() => assembleText("nop\nfrobnicate eax"));
    expect([e.line, e.operand]).toEqual([2, 0]);
    expect(e.message).toMatch(/unknown mnemonic "frobnicate"/);
  });

  it("wrong operand kinds", () => {
    const e = err(() => assembleText("mov eax, ebx\nmov eax, xmm0"));
    expect([e.line, e.operand]).toEqual([2, 2]);
    expect(e.message).toMatch(/operand 2/);
    expect(err(() => new Assembler().lea(rax, rbx)).operand).toBe(2);
  });

  it("immediate out of range", () => {
    const e = err(() => assembleText("\n\nint 0x100"));
    expect([e.line, e.operand]).toEqual([3, 1]);
    expect(e.message).toMatch(/0x100|256/);
    expect(err(() => new Assembler().in(eax, 0x1ff)).operand).toBe(2);
  });

  it("undefined label", () => {
    const e = err(() => assembleText("nop\njmp nowhere\n"));
    expect([e.line, e.operand]).toEqual([2, 1]);
    expect(err(() => assembleText("mov eax, [rip+nothere]\nnop")).operand).toBe(2);
    expect(e.message).toMatch(/undefined label "nowhere"/);
  });

  it("ambiguous memory size and impossible registers", () => {
    expect(err(() => assembleText("inc [rax]")).message).toMatch(/operand size unknown/);
    expect(err(() => assembleText("mov ah, sil")).message).toMatch(/REX/);
    expect(err(() => new Assembler({ mode: 32 }).mov(rax, 1)).message).toMatch(/64-bit/);
    expect(err(() => new Assembler().mov(dword(rax), ptr(rbx))).operand).toBeGreaterThan(0);
  });
});

describe("disassembler lines", () => {
  it("prints unsupported encodings with their length", async () => {
    const { disassemble } = await import("../src/index.js");
    const lines = disassemble(Uint8Array.from([0xc5, 0xf9, 0x6f, 0xc1, 0xd9, 0xe8, 0x0f, 0x0b, 0x06]));
    expect(lines.map((l) => [l.bytes.length, l.text])).toEqual([
      [4, "(not decoded: VEX)"],
      [2, "(not decoded: x87)"],
      [2, "ud2"],
      [1, "(bad)"],
    ]);
  });
});

describe("text syntax", () => {
  it("accepts GNU as spellings: labels, ; separators, comments, constants, directives, '.'", () => {
    const r = assembleText(`
      N = 4           # a constant
      start: mov ecx, N ; dec ecx   // two statements
      jnz start
      jmp .
      .byte 1, 2
      .asciz "a\\n"
    `);
    expect(hex(r.bytes)).toBe("b904000000" + "ffc9" + "75f7" + "ebfe" + "0102" + "610a00");
  });

  it("round-trips through GNU objdump", () => {
    // sanity: objdump is present for the disassembler tests
    expect(execFileSync("objdump", ["--version"]).toString()).toMatch(/GNU objdump/);
  });
});

describe("label immediates at or above 2^31", () => {
  it("fit a 32-bit operand (B8+r id, as GNU as encodes `mov eax, OFFSET l`)", () => {
    const a = new Assembler({ mode: 32, origin: 0xffff8000 });
    const l = a.label();
    a.mov(eax, l);
    a.bind(l);
    expect([...a.assemble().bytes]).toEqual([0xb8, 0x05, 0x80, 0xff, 0xff]);
  });
  it("do not fit a sign-extended immediate of a 64-bit operand", () => {
    const a = new Assembler({ mode: 64, origin: 0xffff8000 });
    const l = a.label();
    a.mov(rax, l);
    a.bind(l);
    expect(() => a.assemble()).toThrow(/does not fit in 32 bits \(use movabs\)/);
  });
});
