// 32-bit protected mode: segment limits and types on data, stack and string accesses (#GP(0),
// #SS(0) through SS), and the TSS I/O permission bitmap for IN/OUT/INS/OUTS at CPL > IOPL (in
// 32-bit protected mode and in 64-bit mode).
import { describe, expect, it } from "vitest";
import { writeGuestPhysical } from "../../src/index.js";
import { guest64, peek64, reg, stubVector } from "./harness.js";
import { eip32, guest32, RING0_STACK32, SEL, stubVector32 } from "./harness32.js";

const ESP = 4;
const r32 = (g: { cpu: { r: Int32Array } }, n: number) => g.cpu.r[n * 2] >>> 0;

function fault32(src: string, user = false) {
  const g = guest32(`${src}\nhlt`, { user });
  const stop = g.cpu.run(10_000);
  const esp = g.cpu.r[ESP * 2] >>> 0;
  const word = (off: number) => Number(peek64(g.mem, esp + off) & 0xffffffffn);
  return { ...g, stop, vector: stubVector32(g.cpu), word, esp };
}

describe("segment limits in 32-bit protected mode", () => {
  const load = (sel: number, seg = "ds") => `mov ax, ${sel}\nmov ${seg}, ax`;

  it("accesses inside the limit run; the last byte beyond it is #GP(0) at the instruction", () => {
    const ok = fault32(`${load(SEL.small)}\nmov dword ptr [0xffc], 0x11223344\nmov eax, [0xffc]`);
    expect(ok.stop).toEqual({ reason: "hlt" });
    expect(ok.vector).toBeLessThan(0); // the final hlt, not a stub
    expect(ok.cpu.r[0] >>> 0).toBe(0x11223344);
    expect(Number(peek64(ok.mem, 0x300ffc) & 0xffffffffn)).toBe(0x11223344); // through the segment base

    const bad = fault32(`${load(SEL.small)}\nf: mov eax, [0xffd]`);
    expect(bad.vector).toBe(13);
    expect(bad.word(0)).toBe(0); // error code
    expect(bad.word(4)).toBe(Number(bad.labels.get("f"))); // EIP of the faulting instruction
  });

  it("writes to a read-only segment and reads of an execute-only code segment are #GP(0)", () => {
    const ro = fault32(`${load(SEL.readOnly)}\nmov eax, [0x1000]\nmov [0x1000], eax`);
    expect(ro.vector).toBe(13);
    expect(ro.word(0)).toBe(0);
    const rmw = fault32(`${load(SEL.readOnly)}\nadd [0x1000], eax`);
    expect(rmw.vector).toBe(13);
    const cmp = fault32(`${load(SEL.readOnly)}\ncmp [0x1000], eax\nmov ebx, 7`); // CMP only reads
    expect(cmp.vector).toBeLessThan(0);
    expect(cmp.cpu.r[6]).toBe(7);
    const xo = fault32("mov eax, cs:[0x1000]"); // readable flat code: fine
    expect(xo.vector).toBeLessThan(0);
    const g = guest32("mov eax, cs:[0x1000]\nhlt");
    const s = g.cpu.st.seg;
    s[1 * 8 + 4] &= ~2; // CS execute-only (as if loaded from SEL.execOnly)
    g.cpu.run(100);
    expect(stubVector32(g.cpu)).toBe(13);
  });

  it("expand-down segments allow only offsets above the limit", () => {
    expect(fault32(`${load(SEL.down)}\nmov eax, [0x2000]`).vector).toBeLessThan(0);
    const bad = fault32(`${load(SEL.down)}\nmov eax, [0x800]`);
    expect(bad.vector).toBe(13);
    expect(bad.word(0)).toBe(0);
  });

  it("SS-relative operands beyond the SS limit are #SS(0)", () => {
    const g = guest32("mov ebx, 0x7000\nf: mov eax, [ebp + 0x10000]\nhlt", { user: true });
    g.cpu.r[5 * 2] = 0; // EBP
    g.cpu.run(100);
    expect(stubVector32(g.cpu)).toBe(12);
    const esp = g.cpu.r[ESP * 2] >>> 0;
    expect(esp).toBeLessThan(RING0_STACK32); // delivered on the ring-0 stack from the TSS
    expect(Number(peek64(g.mem, esp) & 0xffffffffn)).toBe(0);
    expect(Number(peek64(g.mem, esp + 4) & 0xffffffffn)).toBe(Number(g.labels.get("f")));
  });

  it("PUSH below an expand-up SS's base wraps beyond the limit: #SS(0), ESP unchanged", () => {
    const g = guest32("mov esp, 2\nf: push eax\nhlt", { user: true });
    g.cpu.run(100);
    expect(stubVector32(g.cpu)).toBe(12);
    const esp = g.cpu.r[ESP * 2] >>> 0;
    expect(Number(peek64(g.mem, esp) & 0xffffffffn)).toBe(0);
    expect(Number(peek64(g.mem, esp + 16) & 0xffffffffn)).toBe(2); // the user ESP pushed by delivery
  });

  it("instruction fetch beyond a non-flat CS limit is #GP(0) at the instruction that crosses it", () => {
    const g = guest32("mov eax, 1\nmov ebx, 2\nf: mov ecx, 3\nhlt");
    const f = Number(g.labels.get("f"));
    g.cpu.st.seg[1 * 8 + 3] = f + 2; // CS limit: the 5-byte MOV at f crosses it
    g.cpu.run(100);
    expect(stubVector32(g.cpu)).toBe(13);
    const esp = g.cpu.r[ESP * 2] >>> 0;
    expect(Number(peek64(g.mem, esp) & 0xffffffffn)).toBe(0);
    expect(Number(peek64(g.mem, esp + 4) & 0xffffffffn)).toBe(f);
    expect(r32(g, 3)).toBe(2);
    expect(r32(g, 1)).toBe(0);
  });

  it("a null data segment faults on use, not on load", () => {
    const g = fault32("xor eax, eax\nmov ds, ax\nmov ebx, 5\nmov eax, [0x1000]");
    expect(g.vector).toBe(13);
    expect(g.cpu.r[3 * 2]).toBe(5);
  });

  it("string instructions check each element (REP MOVSB stops at the limit with ECX counting)", () => {
    const g = fault32(
      `${load(SEL.small, "es")}\nmov edi, 0xff0\nmov esi, 0x1000\nmov ecx, 100\ncld\nrep movsb`,
    );
    expect(g.vector).toBe(13);
    expect(g.cpu.r[7 * 2] >>> 0).toBe(0x1000); // EDI at the first offset beyond the limit
    expect(g.cpu.r[1 * 2] >>> 0).toBe(84); // 16 bytes copied
  });
});

describe("TSS I/O permission bitmap", () => {
  it("32-bit: CPL 3 with IOPL 0 may use only the ports the bitmap clears", () => {
    const ok = guest32("mov dx, 0x3f8\nmov al, 0x41\nout dx, al\nhlt", { user: true });
    expect(ok.cpu.run(100)).toMatchObject({ reason: "io", port: 0x3f8, direction: "out", data: 0x41 });
    const wide = guest32("mov dx, 0x3fe\nin eax, dx\nhlt", { user: true }); // 0x3fe..0x401: 0x400 denied
    wide.cpu.run(100);
    expect(stubVector32(wide.cpu)).toBe(13);
    const bad = guest32("f: in al, 0x80\nhlt", { user: true });
    bad.cpu.run(100);
    expect(stubVector32(bad.cpu)).toBe(13);
    const esp = bad.cpu.r[ESP * 2] >>> 0;
    expect(Number(peek64(bad.mem, esp) & 0xffffffffn)).toBe(0);
    const outs = guest32("mov dx, 0x80\nmov esi, 0x1000\noutsb\nhlt", { user: true });
    outs.cpu.run(100);
    expect(stubVector32(outs.cpu)).toBe(13);
    const kernel = guest32("in al, 0x80\nhlt"); // CPL 0 <= IOPL: no bitmap lookup
    expect(kernel.cpu.run(100)).toMatchObject({ reason: "io", port: 0x80 });
    expect(eip32(kernel.cpu)).toBeGreaterThan(0);
  });

  it("64-bit: the 64-bit TSS's bitmap applies the same way", () => {
    const g = guest64("mov dx, 0x61\nin al, dx\nmov dx, 0x60\nin al, dx\nhlt", { user: true });
    // Extend the harness TSS with an I/O map at 0x68 allowing only port 0x61.
    const st = g.cpu.st;
    const tss = st.seg[7 * 8 + 1];
    const map = new Uint8Array(8192 + 1).fill(0xff);
    map[0x61 >> 3] = ~(1 << (0x61 & 7)) & 0xff;
    writeGuestPhysical(g.map, tss + 0x68, map);
    writeGuestPhysical(g.map, tss + 102, new Uint8Array([0x68, 0]));
    st.seg[7 * 8 + 3] = 0x68 + 8192;
    expect(g.cpu.run(100)).toMatchObject({ reason: "io", port: 0x61, direction: "in" });
    g.cpu.completeIo(0x12);
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    expect(stubVector(g.cpu)).toBe(13);
    expect(peek64(g.mem, Number(reg(g.cpu, 4)))).toBe(0n);
  });
});
