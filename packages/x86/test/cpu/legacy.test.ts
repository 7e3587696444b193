// PUSHA/POPA, LDS/LES/LFS/LGS/LSS, SYSENTER/SYSEXIT, and the instructions that are decoded but
// not executed: their #UD/#NM checks come first, then an `unsupported` stop naming them.
import { describe, expect, it } from "vitest";
import { writeGuestPhysical } from "../../src/index.js";
import { guest64, peek64, reg, stubVector } from "./harness.js";
import { guest32, SEL, stubVector32 } from "./harness32.js";

const r32 = (g: { cpu: { r: Int32Array } }, n: number) => g.cpu.r[n * 2] >>> 0;

describe("PUSHA/POPA", () => {
  it("PUSHAD stores the eight registers with the original ESP; POPAD restores all but ESP", () => {
    const g = guest32(
      "mov eax, 1\nmov ecx, 2\nmov edx, 3\nmov ebx, 4\nmov ebp, 6\nmov esi, 7\nmov edi, 8\npushad\nmov eax, 0\nmov edi, 0\nmov dword ptr [esp + 12], 0x99\npopad\nhlt",
    );
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    const frame = [8, 7, 6, 0x80000, 4, 3, 2, 1]; // EDI at the lowest address; the ESP slot was overwritten
    frame.forEach((v, k) => {
      expect(Number(peek64(g.mem, 0x80000 - 32 + 4 * k) & 0xffffffffn), `slot ${k}`).toBe(k === 3 ? 0x99 : v);
    });
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => r32(g, n))).toEqual([1, 2, 3, 4, 0x80000, 6, 7, 8]); // the ESP slot is skipped
  });

  it("16-bit PUSHA moves SP by 16; PUSHA is #UD in 64-bit mode", () => {
    const g = guest32(".byte 0x66, 0x60\nhlt");
    g.cpu.run(100);
    expect(r32(g, 4)).toBe(0x80000 - 16);
    const h = guest64(".byte 0x60");
    h.cpu.run(100);
    expect(stubVector(h.cpu)).toBe(6);
  });

  it("a fault in the middle leaves ESP unchanged", () => {
    const g = guest32("pushad\nhlt", { user: true });
    g.cpu.r[4 * 2] = 8; // only 8 bytes left above the SS base: the third push wraps beyond the limit
    g.cpu.run(100);
    expect(stubVector32(g.cpu)).toBe(12);
    expect(Number(peek64(g.mem, (g.cpu.r[8] >>> 0) + 16) & 0xffffffffn)).toBe(8); // ESP in the #SS frame
  });
});

describe("LDS/LES/LFS/LGS/LSS", () => {
  it("load the segment (with its checks) and the offset register", () => {
    const g = guest32(
      `lds esi, fword ptr [p]\nmov eax, [0]\nmov ax, ${SEL.data}\nmov ds, ax\nles edi, fword ptr [q]\nhlt\np: .long 0x1234\n.word ${SEL.small}\nq: .long 0x55\n.word ${SEL.execOnly}`,
    );
    writeGuestPhysical(g.map, 0x300000, new Uint8Array([0x78, 0x56, 0x34, 0x12]));
    g.cpu.run(100);
    expect(r32(g, 6)).toBe(0x1234);
    expect(r32(g, 0) & 0xffff0000).toBe(0x12340000); // read through the new DS base
    expect(stubVector32(g.cpu)).toBe(13); // LES of an execute-only code segment: #GP(selector)
    expect(Number(peek64(g.mem, g.cpu.r[8] >>> 0) & 0xffffffffn)).toBe(SEL.execOnly);
    expect(r32(g, 7)).toBe(0); // EDI unchanged
  });

  it("LSS switches the stack; LGS with REX.W takes an m16:64 pointer in 64-bit mode", () => {
    const g = guest32(`lss esp, fword ptr [p]\npush 7\nhlt\np: .long 0x2000\n.word ${SEL.data}`);
    g.cpu.run(100);
    expect(r32(g, 4)).toBe(0x2000 - 4);
    const h = guest64("lgs rax, tbyte ptr [rip + p]\nhlt\np: .quad 0x123456789\n.word 0x10");
    h.cpu.run(100);
    expect(reg(h.cpu, 0)).toBe(0x123456789n);
    expect(h.cpu.getSregs().gs.selector).toBe(0x10);
  });
});

describe("SYSENTER/SYSEXIT", () => {
  it("64-bit round trip through the IA32_SYSENTER_* MSRs", () => {
    const g = guest64(
      [
        "mov ecx, 0x174\nmov eax, 0x08\nxor edx, edx\nwrmsr", // SYSENTER_CS
        "mov ecx, 0x175\nmov eax, 0x9000\nwrmsr", // SYSENTER_ESP
        "mov ecx, 0x176\nlea rax, [rip + kentry]\nmov rdx, rax\nshr rdx, 32\nwrmsr", // SYSENTER_EIP
        "lea rdx, [rip + user]\nmov rcx, 0x7000",
        "sysexitq",
        "user: mov ebx, 5\nsysenter",
        "kentry: hlt",
      ].join("\n"),
    );
    expect(g.cpu.run(1000)).toEqual({ reason: "hlt" });
    expect(reg(g.cpu, 3)).toBe(5n); // ran at CPL 3
    expect(g.cpu.getRegs().rip).toBe(g.labels.get("kentry")! + 1n);
    const s = g.cpu.getSregs();
    expect([s.cs.selector, s.ss.selector, s.cs.l]).toEqual([0x08, 0x10, 1]);
    expect(reg(g.cpu, 4)).toBe(0x9000n);
  });

  it("SYSEXIT at CPL 3 and SYSENTER with SYSENTER_CS = 0 are #GP(0)", () => {
    const a = guest64("sysexit", { user: true });
    a.cpu.run(100);
    expect(stubVector(a.cpu)).toBe(13);
    const b = guest64("sysenter", { user: true });
    b.cpu.run(100);
    expect(stubVector(b.cpu)).toBe(13);
  });
});

describe("decoded but not executed", () => {
  it("x87: #NM with CR0.TS or CR0.EM, else an unsupported stop naming x87", () => {
    const a = guest64(".byte 0xd9, 0xe8"); // fld1
    expect(a.cpu.run(100)).toMatchObject({ reason: "unsupported", message: expect.stringContaining("x87") });
    const b = guest64("mov rax, cr0\nor eax, 8\nmov cr0, rax\n.byte 0xd9, 0xe8"); // CR0.TS
    b.cpu.run(100);
    expect(stubVector(b.cpu)).toBe(7);
    const w = guest64(
      "mov rax, cr0\nor eax, 8\nmov cr0, rax\nfwait\nmov ebx, 1\nor eax, 2\nmov cr0, rax\nfwait\nhlt",
    );
    w.cpu.run(100); // FWAIT with TS alone runs; with MP and TS it is #NM
    expect(reg(w.cpu, 3)).toBe(1n);
    expect(stubVector(w.cpu)).toBe(7);
  });

  it("SSE floating point: #UD without OSFXSR, #NM with TS, else unsupported naming the instruction", () => {
    const a = guest64("haddpd xmm0, xmm1");
    expect(a.cpu.run(100)).toMatchObject({
      reason: "unsupported",
      message: expect.stringContaining("HADDPD"),
    });
    const b = guest64("mov rax, cr0\nor eax, 8\nmov cr0, rax\nmulps xmm0, xmm1");
    b.cpu.run(100);
    expect(stubVector(b.cpu)).toBe(7);
    const c = guest64("mov rax, cr4\nbtr rax, 9\nmov cr4, rax\nsqrtsd xmm0, xmm1");
    c.cpu.run(100);
    expect(stubVector(c.cpu)).toBe(6);
  });

  it("MMX register forms: #UD with CR0.EM, #NM with CR0.TS, else unsupported (CR4.OSFXSR is not needed)", () => {
    const a = guest64("mov rax, cr4\nbtr rax, 9\nmov cr4, rax\npaddd mm0, mm1");
    expect(a.cpu.run(100)).toMatchObject({ reason: "unsupported", message: expect.stringContaining("MMX") });
    const b = guest64("mov rax, cr0\nor eax, 4\nmov cr0, rax\npaddd mm0, mm1"); // CR0.EM
    b.cpu.run(100);
    expect(stubVector(b.cpu)).toBe(6);
    const c = guest64("mov rax, cr0\nor eax, 8\nmov cr0, rax\nmovd mm0, eax"); // CR0.TS
    c.cpu.run(100);
    expect(stubVector(c.cpu)).toBe(7);
  });

  it("3DNow! is #UD (Intel); VEX stops unsupported", () => {
    const a = guest64(".byte 0x0f, 0x0f, 0xc1, 0x9e"); // pfadd mm0, mm1
    a.cpu.run(100);
    expect(stubVector(a.cpu)).toBe(6);
    const b = guest64(".byte 0xc5, 0xf8, 0x58, 0xc1"); // vaddps xmm0, xmm0, xmm1
    expect(b.cpu.run(100)).toMatchObject({ reason: "unsupported", message: expect.stringContaining("VEX") });
  });
});
