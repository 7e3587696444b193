// #DB through Cpu.run: TF single-step traps (DR6.BS), DR0-3 instruction breakpoints (faults,
// RF), data breakpoints (traps, DR6.Bn), DR7.GD, ICEBP, and MOV SS holding the trap back.
import { describe, expect, it } from "vitest";
import { writeGuestPhysical } from "../../src/index.js";
import { guest64, peek64, reg, STUBS, stubVector } from "./harness.js";

const RSP = 4;
const DR6 = 12;
const BS = 1 << 14;
const RF = 1 << 16;
const TF = 1 << 8;

function start(src: string) {
  const g = guest64(`${src}\nhlt`);
  // After the #DB stub's hlt: iretq, so a test can resume the interrupted code.
  writeGuestPhysical(g.map, STUBS + 16 + 1, new Uint8Array([0x48, 0xcf]));
  return g;
}
/** Leaves the HLT state of the #DB stub and runs on (its IRETQ returns to the interrupted code). */
function resume(g: ReturnType<typeof start>) {
  g.cpu.st.halted = false;
  return g.cpu.run(100);
}
const frame = (g: ReturnType<typeof start>, k: number) => peek64(g.mem, Number(reg(g.cpu, RSP)) + 8 * k);
const SET_TF = "pushfq\nor qword ptr [rsp], 0x100\npopfq";

describe("#DB", () => {
  it("TF: a trap after each instruction, starting with the one after POPF (DR6.BS, RIP = next)", () => {
    const g = start(`${SET_TF}\na: mov eax, 1\nb: mov ebx, 2`);
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    expect(stubVector(g.cpu)).toBe(1);
    expect(frame(g, 0)).toBe(g.labels.get("b")); // trap: RIP after `a`
    expect(Number(frame(g, 2)) & TF).toBe(TF);
    expect(reg(g.cpu, 0)).toBe(1n);
    expect(reg(g.cpu, 3)).toBe(0n);
    expect(g.cpu.st.dr[DR6] & BS).toBe(BS);
    // Resume: the handler's IRETQ restores TF, so the next instruction traps again.
    expect(resume(g)).toEqual({ reason: "hlt" });
    expect(stubVector(g.cpu)).toBe(1);
    expect(reg(g.cpu, 3)).toBe(2n);
  });

  it("MOV SS holds the single-step trap until the next instruction completes", () => {
    const g = start(`${SET_TF}\nmov eax, ss\nm: mov ss, ax\nmov ecx, 3\nn: mov edx, 4`);
    g.cpu.run(100); // trap after `mov eax, ss`
    expect(frame(g, 0)).toBe(g.labels.get("m"));
    resume(g);
    expect(stubVector(g.cpu)).toBe(1);
    expect(frame(g, 0)).toBe(g.labels.get("n")); // not after MOV SS: after the instruction following it
    expect(reg(g.cpu, 1)).toBe(3n);
  });

  it("an instruction breakpoint faults before the instruction (DR6.B0, RF=1 pushed); IRET with RF runs it", () => {
    const g = start(
      "lea rax, [rip + t]\nmov dr0, rax\nmov eax, 1\nmov dr7, rax\nnop\nt: mov ebx, 7\nmov ecx, 8",
    );
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    expect(stubVector(g.cpu)).toBe(1);
    expect(frame(g, 0)).toBe(g.labels.get("t")); // fault: RIP at the instruction
    expect(Number(frame(g, 2)) & RF).toBe(RF);
    expect(reg(g.cpu, 3)).toBe(0n);
    expect(g.cpu.st.dr[DR6] & 0xf).toBe(1);
    expect(resume(g)).toEqual({ reason: "hlt" }); // iretq → RF suppresses the breakpoint once
    expect(reg(g.cpu, 3)).toBe(7n);
    expect(reg(g.cpu, 1)).toBe(8n);
    expect(Number(g.cpu.getRegs().rflags) & RF).toBe(0); // RF cleared after the instruction completed
  });

  it("data breakpoints trap after the access: write-only vs read/write, stack pushes", () => {
    // DR1 = v, DR7: L1, R/W1 = 01 (write), LEN1 = 11 (4 bytes)
    const w = start(
      "lea rax, [rip + v]\nmov dr1, rax\nmov eax, 0x00d00004\nmov dr7, rax\nmov ecx, [rip + v]\nmov dword ptr [rip + v], 5\nd: nop\n.align 8\nv: .long 0",
    );
    w.cpu.run(100);
    expect(stubVector(w.cpu)).toBe(1);
    expect(frame(w, 0)).toBe(w.labels.get("d")); // the read did not trigger; the write did, as a trap
    expect(w.cpu.st.dr[DR6] & 0xf).toBe(2);
    // R/W1 = 11: the read triggers
    const rw = start(
      "lea rax, [rip + v]\nmov dr1, rax\nmov eax, 0x00f00004\nmov dr7, rax\nmov ecx, [rip + v]\nd: nop\n.align 8\nv: .long 0",
    );
    rw.cpu.run(100);
    expect(frame(rw, 0)).toBe(rw.labels.get("d"));
    // a PUSH onto a watched stack slot (DR0, 8 bytes: LEN0 = 10)
    const st = start(
      "mov rax, rsp\nsub rax, 8\nmov dr0, rax\nmov eax, 0x000b0001\nmov dr7, rax\npush rbx\nd: nop",
    );
    st.cpu.run(100);
    expect(stubVector(st.cpu)).toBe(1);
    expect(frame(st, 0)).toBe(st.labels.get("d"));
  });

  it("DR7.GD: MOV DR faults with DR6.BD and GD cleared", () => {
    const g = start("mov eax, 0x2400\nmov dr7, rax\nf: mov rax, dr0");
    g.cpu.run(100);
    expect(stubVector(g.cpu)).toBe(1);
    expect(frame(g, 0)).toBe(g.labels.get("f"));
    expect(g.cpu.st.dr[DR6] & (1 << 13)).toBe(1 << 13);
    expect(g.cpu.st.dr[14] & 0x2000).toBe(0);
  });

  it("ICEBP (INT1) delivers #DB as a trap without DR6 bits", () => {
    const g = start(".byte 0xf1\nn: nop");
    g.cpu.run(100);
    expect(stubVector(g.cpu)).toBe(1);
    expect(frame(g, 0)).toBe(g.labels.get("n"));
    expect(g.cpu.st.dr[DR6] & (BS | 0xf)).toBe(0);
  });
});
