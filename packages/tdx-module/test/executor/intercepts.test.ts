// The TD's instruction, MSR and shared-memory rules on the x86 core: which instructions become #VE
// (with VE_INFO exit reason, qualification and length), #UD or #GP, and how shared GPAs behave.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  GUEST_SHARED_WINDOW,
  getReg,
  SHARED_EPT_VE,
  SHARED_EPT_VIOLATION,
} from "../../src/index.js";
import { run, SHARED, veInfo } from "./run-guest.js";

describe("TdCpuExecutor: instructions the TD intercepts", () => {
  it.each([
    ["HLT", "hlt", 12n, 0n, 1n],
    ["VMCALL", "vmcall", 18n, 0n, 3n],
    ["CPUID of a #VE leaf (0x2)", "mov eax, 2 ; xor ecx, ecx ; cpuid", 10n, 0n, 2n],
    ["RDMSR of IA32_APIC_BASE", "mov ecx, 0x1b ; rdmsr", 31n, 0n, 2n],
    ["WRMSR of IA32_TIME_STAMP_COUNTER", "mov ecx, 0x10 ; xor eax, eax ; xor edx, edx ; wrmsr", 32n, 0n, 2n],
    ["OUT DX, AL", "mov edx, 0x3f8 ; out dx, al", 30n, 0x3f8n << 16n, 1n],
    [
      "REP INSW",
      "mov edx, 0x1f0 ; mov ecx, 4 ; mov edi, 0x1000 ; rep insw",
      30n,
      (0x1f0n << 16n) | 0x39n,
      3n,
    ],
    ["MWAIT", "xor eax, eax ; xor ecx, ecx ; mwait", 36n, 0n, 3n],
  ])("%s is a #VE with VE_INFO (reason, qualification, length)", (_name, code, reason, qual, len) => {
    const { reports } = run(code);
    expect(veInfo(reports)).toEqual([reason, qual, len]);
  });

  it.each([
    ["VMXON", "vmxon QWORD PTR [rsp]", 6n],
    ["GETSEC", "getsec", 6n],
    ["RDMSR of IA32_SMBASE", "mov ecx, 0x9e ; rdmsr", 13n],
    ["RDPMC without ATTRIBUTES.PERFMON", "xor ecx, ecx ; rdpmc", 13n],
  ])("%s is #UD / #GP", (_name, code, vector) => {
    const { reports } = run(code);
    expect(reports).toEqual([[0x14, vector]]);
  });

  it("native MSRs run on the core: RDMSR IA32_EFER reads SCE | LME | LMA | NXE", () => {
    const { reports } = run("mov ecx, 0xc0000080 ; rdmsr");
    expect(reports).toEqual([[0x1f, 0xd01n]]);
  });
});

describe("TdCpuExecutor: shared memory", () => {
  it("a mapped shared GPA reads and writes the host's page", () => {
    let frame = 0;
    const { reports } = run(
      `mov ebx, ${GUEST_SHARED_WINDOW + 0x10} ; mov eax, DWORD PTR [rbx] ; mov DWORD PTR [rbx+4], 0x77`,
      (host) => {
        frame = host.memory.allocPage();
        host.memory.host.writeBytes(frame + 0x10, new Uint8Array([0x44, 0x33, 0x22, 0x11]));
        return (gpa) => (gpa - (gpa % 4096) === SHARED ? frame : SHARED_EPT_VIOLATION);
      },
    );
    expect(reports).toEqual([[0x1f, 0x11223344n]]);
  });

  it("KVM's MMIO entry (RWX = 0, #VE not suppressed) is a #VE with the exact GPA", () => {
    const { reports } = run(
      `mov ebx, ${GUEST_SHARED_WINDOW + 0x2004} ; mov eax, DWORD PTR [rbx]`,
      () => () => SHARED_EPT_VE,
    );
    expect(reports.find(([p]) => p === 0x10)?.[1]).toBe(48n);
    expect(reports.find(([p]) => p === 0x13)?.[1]).toBe(BigInt(SHARED + 0x2004));
  });

  it("an unmapped shared GPA is a TD exit (EPT violation, GPA in R8)", () => {
    const r = run(
      `mov ebx, ${GUEST_SHARED_WINDOW + 0x5000} ; mov DWORD PTR [rbx], 1`,
      () => () => SHARED_EPT_VIOLATION,
    );
    expect(r.status).toBe(BigInt(ExitReason.EPT_VIOLATION));
    expect(getReg(r.out, 8)).toBe(BigInt(SHARED + 0x5000));
    expect(getReg(r.out, 1) & 0x187n).toBe(0x182n); // write, GLA valid, final translation
  });
});
