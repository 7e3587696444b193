// The TD's instruction, MSR and shared-memory rules on the x86 core: which instructions become #VE
// (with VE_INFO exit reason, qualification and length), #UD or #GP, and how shared GPAs behave.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  GUEST_SHARED_WINDOW,
  getReg,
  longModeGuest,
  SHARED_EPT_VE,
  SHARED_EPT_VIOLATION,
  type SharedEpt,
  statusToBigInt,
  TdCpuExecutor,
  tdvmcallOut,
} from "../../src/index.js";
import { addPage, buildTd, finalize, makeHost } from "../helpers.js";

const SHARED = 2 ** 47;

/** One report from the guest: TDVMCALL IO OUT `port` with `value` (R14, R15). */
type Report = [port: number, value: bigint];

/**
 * Runs `code` (64-bit) in a TD whose #VE handler reports VE_INFO (ports 0x10 reason, 0x11
 * qualification, 0x12 length, 0x13 GPA) and whose #GP / #UD handlers report the vector on port
 * 0x14; collects the reports until the guest spins or exits otherwise.
 */
function run(code: string, sharedEpt?: (host: ReturnType<typeof makeHost>) => SharedEpt) {
  const image = longModeGuest(`
${code}
  ${tdvmcallOut(0x1f, "rax")}
spin: jmp spin
ve_handler:
  mov eax, 3 ; tdcall
  mov rbx, rcx ; mov rsi, rdx ; mov rdi, r10 ; mov rbp, r9
  ${tdvmcallOut(0x10, "rbx")}
  ${tdvmcallOut(0x11, "rsi")}
  ${tdvmcallOut(0x12, "rdi")}
  ${tdvmcallOut(0x13, "rbp")}
  jmp spin
gp_handler:
  mov ebx, 13
  ${tdvmcallOut(0x14, "rbx")}
  jmp spin
ud_handler:
  mov ebx, 6
  ${tdvmcallOut(0x14, "rbx")}
  jmp spin`);
  const host = makeHost();
  const td = buildTd(host);
  for (let i = 0; i < GUEST_IMAGE_PAGES; i++)
    addPage(host, td, GUEST_IMAGE_BASE + i * 4096, image.subarray(i * 4096, (i + 1) * 4096));
  finalize(host, td);
  if (sharedEpt) host.tdx.setSharedEpt(td.tdr, sharedEpt(host));
  host.tdx.setGuestExecutor(new TdCpuExecutor());
  host.tdx.enterBudget = 20_000;
  const reports: Report[] = [];
  const out = new Int32Array(32);
  let hostGpr: Int32Array | undefined;
  for (let i = 0; i < 16; i++) {
    const status = statusToBigInt(host.tdx.enter(td.vcpus[0]!, hostGpr, out));
    if (status !== BigInt(ExitReason.TDCALL)) return { reports, status, out };
    reports.push([Number(getReg(out, 14)), getReg(out, 15)]);
    hostGpr = new Int32Array(32);
  }
  throw new Error("the guest did not stop reporting");
}

/** The #VE reports of a run: [reason, qualification, length]. */
function veInfo(reports: Report[]): bigint[] {
  return reports.filter(([p]) => p >= 0x10 && p <= 0x12).map(([, v]) => v);
}

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
