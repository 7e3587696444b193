// Stop reasons of run() and the completion API that resumes after them.
import { describe, expect, it } from "vitest";
import {
  GPA_FAULT,
  type GPA_OK,
  GPA_VE,
  type GpaTranslation,
  type GuestPhysicalMap,
  writeGuestPhysical,
} from "../../src/index.js";
import { CODE, guest64, peek64, RSP0, reg, rip, STACK, stubVector } from "./harness.js";

const RAX = 0;
const RCX = 1;
const RDX = 2;
const RBX = 3;

describe("I/O stops", () => {
  it("OUT stops with the data, IN waits for completeIo", () => {
    const { cpu } = guest64("mov dx, 0x3f8\nmov al, 0x41\nout dx, al\nin al, dx\nin eax, 0x71\nhlt");
    expect(cpu.run()).toEqual({
      reason: "io",
      port: 0x3f8,
      size: 1,
      direction: "out",
      data: 0x41,
      string: false,
      rep: false,
      count: 1,
    });
    expect(rip(cpu)).toBe(CODE + 6); // at the OUT until it is completed
    expect(() => cpu.run()).toThrow(/not been completed/);
    cpu.skipInstruction();
    expect(cpu.run()).toMatchObject({ reason: "io", port: 0x3f8, size: 1, direction: "in" });
    cpu.completeIo(0x5a);
    expect(reg(cpu, RAX) & 0xffn).toBe(0x5an);
    expect(cpu.run()).toMatchObject({ reason: "io", port: 0x71, size: 4, direction: "in" });
    cpu.completeIo(0xdeadbeef);
    expect(reg(cpu, RAX)).toBe(0xdeadbeefn);
    expect(cpu.run()).toEqual({ reason: "hlt" });
  });

  it("REP OUTSB stops once per element with the remaining count", () => {
    const { cpu } = guest64(
      'lea rsi, [rip + msg]\nmov ecx, 3\nmov dx, 0xe9\nrep outsb\nhlt\nmsg: .ascii "abc"',
    );
    const seen: number[] = [];
    for (let k = 0; k < 3; k++) {
      const s = cpu.run();
      expect(s).toMatchObject({
        reason: "io",
        port: 0xe9,
        direction: "out",
        string: true,
        rep: true,
        count: 3 - k,
      });
      if (s.reason === "io") seen.push(s.data);
      cpu.skipInstruction();
    }
    expect(String.fromCharCode(...seen)).toBe("abc");
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(reg(cpu, RCX)).toBe(0n);
  });

  it("I/O at CPL 3 with IOPL 0 is #GP(0) through the IDT (stack switch to RSP0)", () => {
    const { cpu } = guest64("out 0x80, al", { user: true });
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(cpu)).toBe(13);
    expect(reg(cpu, 4)).toBe(BigInt(RSP0 - 48)); // error code + 5-word frame
  });
});

describe("CPUID, MSRs, hypercalls", () => {
  it("CPUID stops with leaf/subleaf and resumes with completeCpuid", () => {
    const { cpu } = guest64("mov eax, 0x80000001\nmov ecx, 7\ncpuid\nhlt");
    expect(cpu.run()).toEqual({ reason: "cpuid", leaf: 0x80000001, subleaf: 7 });
    cpu.completeCpuid(1, 2, 3, 4);
    expect([reg(cpu, RAX), reg(cpu, RBX), reg(cpu, RCX), reg(cpu, RDX)]).toEqual([1n, 2n, 3n, 4n]);
    expect(cpu.run()).toEqual({ reason: "hlt" });
  });

  it("CPUID can be answered inside the CPU (exit control)", () => {
    const { cpu } = guest64("xor eax, eax\ncpuid\nhlt", {
      exits: { cpuid: (leaf) => [leaf + 0x20, 5, 6, 7] },
    });
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(reg(cpu, RAX)).toBe(0x20n);
  });

  it("RDMSR/WRMSR of MSRs the core does not own stop; owned ones run inside", () => {
    const src = [
      "mov ecx, 0x4b564d00",
      "rdmsr",
      "mov ecx, 0x4b564d01",
      "mov eax, 0x11223344",
      "mov edx, 0x55667788",
      "wrmsr",
      "mov ecx, 0xc0000102", // KERNEL_GS_BASE: owned
      "wrmsr",
      "rdmsr",
      "hlt",
    ].join("\n");
    const { cpu } = guest64(src);
    expect(cpu.run()).toEqual({ reason: "rdmsr", index: 0x4b564d00 });
    cpu.completeRdmsr(0x0123456789abcdefn);
    expect(reg(cpu, RAX)).toBe(0x89abcdefn);
    expect(reg(cpu, RDX)).toBe(0x01234567n);
    expect(cpu.run()).toEqual({ reason: "wrmsr", index: 0x4b564d01, value: 0x5566778811223344n });
    cpu.skipInstruction();
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(reg(cpu, RAX)).toBe(0x11223344n);
  });

  it("a refused MSR becomes #GP(0) with injectException", () => {
    const { cpu } = guest64("mov ecx, 0x12345\nrdmsr\nhlt");
    expect(cpu.run()).toMatchObject({ reason: "rdmsr" });
    expect(cpu.injectException(13, 0)).toBeUndefined();
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(cpu)).toBe(13);
  });

  it("VMCALL, TDCALL and SEAMCALL stop", () => {
    const { cpu } = guest64("vmcall\ntdcall\nseamcall\nhlt");
    for (const reason of ["vmcall", "tdcall", "seamcall"]) {
      expect(cpu.run()).toEqual({ reason });
      cpu.skipInstruction();
    }
    expect(cpu.run()).toEqual({ reason: "hlt" });
  });
});

describe("exit controls for a TD's instruction rules", () => {
  it("WBINVD, WBNOINVD and INVD run as no-ops unless stopInstructions lists them; CPL 3 is #GP first", () => {
    const plain = guest64("wbinvd\nwbnoinvd\ninvd\nhlt").cpu;
    expect(plain.run()).toEqual({ reason: "hlt" });
    const { cpu } = guest64("wbinvd\nwbnoinvd\ninvd\nhlt", {
      exits: { stopInstructions: new Set(["WBINVD", "WBNOINVD", "INVD"]) },
    });
    for (const [mnemonic, at] of [
      ["WBINVD", 0],
      ["WBNOINVD", 2],
      ["INVD", 5],
    ] as const) {
      expect(cpu.run()).toEqual({ reason: "instruction", mnemonic });
      expect(rip(cpu)).toBe(CODE + at);
      cpu.skipInstruction();
    }
    expect(cpu.run()).toEqual({ reason: "hlt" });
    const user = guest64("wbinvd", { user: true, exits: { stopInstructions: new Set(["WBINVD"]) } }).cpu;
    expect(user.run()).toEqual({ reason: "hlt" });
    expect(stubVector(user)).toBe(13);
  });

  it("crWrite decides MOV to CR0/CR4: stop (CR-access qualification, nothing written), #GP(0), or native", () => {
    const seen: [number, number, number][] = [];
    const { cpu } = guest64(
      "mov rax, cr4\nmov rbx, rax\nor rbx, 0x2000\nmov cr4, rbx\nmov r9, cr0\nmov cr0, r9\nmov cr4, rax\nhlt",
      {
        exits: {
          crWrite: (cr, lo, hi) => {
            seen.push([cr, lo, hi]);
            return cr === 4 && (lo & 0x2000) !== 0 ? "stop" : "native";
          },
        },
      },
    );
    const cr4 = cpu.st.cr4;
    expect(cpu.run()).toEqual({ reason: "cr-access", cr: 4, gpr: RBX, qualification: 4 | (RBX << 8) });
    expect(cpu.st.cr4).toBe(cr4); // not written
    expect(rip(cpu)).toBe(CODE + 13); // at the MOV to CR4
    cpu.skipInstruction();
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(seen.map(([cr]) => cr)).toEqual([4, 0, 4]);
    expect(cpu.st.cr4).toBe(cr4);

    const gp = guest64("mov rax, cr0\nmov cr0, rax\nhlt", { exits: { crWrite: () => "gp" } }).cpu;
    expect(gp.run()).toEqual({ reason: "hlt" });
    expect(stubVector(gp)).toBe(13);
  });

  it("xcr0Allowed narrows XSETBV: other XCR0 bits are #GP(0); allowed ones are written", () => {
    // CR4.OSXSAVE first: without it XSETBV is #UD before any XCR0 check
    const src =
      "mov rax, cr4\nor eax, 0x40000\nmov cr4, rax\nxor ecx, ecx\nxor edx, edx\nmov eax, 3\nxsetbv\nhlt";
    const allowed = guest64(src, { exits: { xcr0Allowed: 3 } }).cpu;
    expect(allowed.run()).toEqual({ reason: "hlt" });
    expect(allowed.st.xcr0).toBe(3);
    const refused = guest64(src, { exits: { xcr0Allowed: 1 } }).cpu;
    expect(refused.run()).toEqual({ reason: "hlt" });
    expect(stubVector(refused)).toBe(13);
  });
});

describe("memory stops", () => {
  it("MMIO reads wait for data; MMIO writes carry theirs", () => {
    const { cpu } = guest64(
      "mov ebx, 0x3000000\nmov eax, dword ptr [rbx]\nmov dword ptr [rbx + 16], 0x12345678\nhlt",
    );
    const s = cpu.run();
    expect(s).toMatchObject({ reason: "mmio", gpa: 0x3000000, size: 4, isWrite: false });
    cpu.completeMmioRead(new Uint8Array([1, 2, 3, 4]));
    const w = cpu.run();
    expect(reg(cpu, RAX)).toBe(0x04030201n);
    expect(w).toMatchObject({ reason: "mmio", gpa: 0x3000010, size: 4, isWrite: true });
    if (w.reason === "mmio") expect([...w.data]).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(cpu.run()).toEqual({ reason: "hlt" });
  });

  function refusing(status: number, page: number) {
    return (inner: GuestPhysicalMap): GuestPhysicalMap => ({
      get generation() {
        return inner.generation;
      },
      translate(gpa: number, access: number, out: GpaTranslation) {
        if (Math.floor(gpa / 4096) === page) {
          out.entryRwx = 0;
          return status as typeof GPA_OK;
        }
        return inner.translate(gpa, access, out);
      },
    });
  }

  it("a second-stage refusal stops with gpa-fault (GPA, qualification, GLA)", () => {
    const { cpu } = guest64("mov ebx, 0x400008\nmov rax, qword ptr [rbx]\nhlt", {
      wrapMap: refusing(GPA_FAULT, 0x400),
    });
    const s = cpu.run();
    expect(s).toMatchObject({ reason: "gpa-fault", gpa: 0x400008, gla: 0x400008n });
    if (s.reason === "gpa-fault") expect(s.qualification & 7).toBe(1); // read
    expect(rip(cpu)).toBe(CODE + 5);
  });

  it("#VE from the second stage stops (ve: stop) or is delivered through the IDT (ve: deliver)", () => {
    const a = guest64("mov ebx, 0x400008\nmov rax, qword ptr [rbx]\nhlt", {
      wrapMap: refusing(GPA_VE, 0x400),
    });
    expect(a.cpu.run()).toMatchObject({ reason: "ve", gpa: 0x400008, gla: 0x400008n });
    const b = guest64("mov ebx, 0x400008\nmov rax, qword ptr [rbx]\nhlt", {
      wrapMap: refusing(GPA_VE, 0x400),
      exits: { ve: "deliver" },
    });
    expect(b.cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(b.cpu)).toBe(20);
  });
});

describe("exceptions, events, budget", () => {
  it("#PF is delivered with CR2 and the error code", () => {
    const { cpu, mem } = guest64("mov rbx, 0x123456789000\nmov rax, qword ptr [rbx]\nhlt");
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(cpu)).toBe(14);
    expect(cpu.st.cr2Lo >>> 0).toBe(0x56789000);
    expect(cpu.st.cr2Hi).toBe(0x1234);
    expect(peek64(mem, STACK - 48)).toBe(0n); // not present, read, supervisor
    expect(peek64(mem, STACK - 40)).toBe(BigInt(CODE + 10)); // faulting RIP
  });

  it("UD2 is #UD; a missing IDT makes it a triple fault (shutdown)", () => {
    const a = guest64("ud2");
    expect(a.cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(a.cpu)).toBe(6);
    const b = guest64("ud2");
    b.cpu.st.idtrLimit = 0;
    expect(b.cpu.run()).toMatchObject({ reason: "shutdown" });
  });

  it("HLT waits; an injected interrupt wakes it once IF=1; STI's shadow is honoured", () => {
    const { cpu } = guest64("sti\nhlt\nhlt");
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(rip(cpu)).toBe(CODE + 2);
    expect(cpu.run()).toEqual({ reason: "hlt" }); // nothing pending: still halted
    cpu.injectInterrupt(0x30);
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(cpu)).toBe(0x30);
  });

  it("an interrupt is held while IF=0 and NMIs are not", () => {
    const { cpu } = guest64("cli\nnop\nnop\nhlt");
    cpu.injectInterrupt(0x40);
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(rip(cpu)).toBe(CODE + 4);
    cpu.injectNmi();
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(stubVector(cpu)).toBe(2);
  });

  it("the budget is exact and the TSC counts retired instructions", () => {
    const { cpu } = guest64("rdtsc\nmov ebx, eax\nnop\nnop\nrdtsc\nsub eax, ebx\nl: jmp l");
    expect(cpu.run(1000)).toEqual({ reason: "budget-exhausted" });
    expect(cpu.st.retired).toBe(1000);
    expect(reg(cpu, RAX)).toBe(4n);
  });

  it("real mode stops as unsupported", () => {
    const { cpu } = guest64("nop");
    cpu.st.cr0 = 0x10;
    cpu.st.efer = 0;
    cpu.syncMode();
    expect(cpu.run()).toMatchObject({ reason: "unsupported" });
  });

  it("self-modifying code: a store into decoded code is seen", () => {
    const src = [
      "xor ecx, ecx",
      "again: call f",
      "inc ecx",
      "mov byte ptr [rip + patch + 1], 42", // change f's immediate
      "cmp ecx, 2",
      "jne again",
      "hlt",
      ".align 64",
      "f: patch: mov eax, 7",
      "ret",
    ].join("\n");
    const { cpu } = guest64(src);
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(reg(cpu, RAX)).toBe(42n);
  });

  it("host writes after flushDecodedBlocks are executed", () => {
    const { cpu, map } = guest64("mov eax, 1\nhlt");
    expect(cpu.run()).toEqual({ reason: "hlt" });
    writeGuestPhysical(map, CODE, new Uint8Array([0xb8, 9, 0, 0, 0, 0xf4]));
    cpu.flushDecodedBlocks();
    cpu.r[32] = CODE;
    cpu.st.halted = false;
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(reg(cpu, RAX)).toBe(9n);
  });
});

describe("register API", () => {
  it("setRegs/setSregs take effect on the next run (mode follows CS)", () => {
    const { cpu } = guest64("inc rax\nhlt");
    const regs = cpu.getRegs();
    cpu.setRegs({ ...regs, rax: 41n });
    const sregs = cpu.getSregs();
    expect(sregs.cs.l).toBe(1);
    cpu.setSregs(sregs);
    expect(cpu.run()).toEqual({ reason: "hlt" });
    expect(cpu.getRegs().rax).toBe(42n);
    cpu.setMsr(0xc0000102, 0x1234n);
    expect(cpu.getMsr(0xc0000102)).toBe(0x1234n);
  });
});
