// The TD instruction rules of tdx-abi.md §3.2 on the x86 core, end to end: cache instructions and
// MONITOR → #VE with their exit reasons; TDX-illegal MOV to CR0/CR4 → #VE CR_ACCESS (28) with the
// CR-access qualification; CR4 bits the TD's XFAM/ATTRIBUTES do not enable and XSETBV outside XFAM →
// #GP(0); VMX-family instructions → #UD. Each case checks the exact VE_INFO or vector.
import { describe, expect, it } from "vitest";
import { Xfam } from "../../src/index.js";
import { run, veInfo } from "./run-guest.js";

const GP = [[0x14, 13n]];
const UD = [[0x14, 6n]];
/** VMX CR-access qualification of MOV to CR`cr` from GPR `gpr`. */
const crQual = (cr: number, gpr: number) => BigInt(cr | (gpr << 8));
const RBX = 3;

describe("TD rules: instructions the module turns into #VE", () => {
  it.each([
    ["WBINVD", "wbinvd", 54n, 2n],
    ["WBNOINVD", "wbnoinvd", 54n, 3n],
    ["INVD", "invd", 13n, 2n],
    ["MONITOR", "mov rax, rsp ; xor ecx, ecx ; xor edx, edx ; monitor", 39n, 3n],
    ["PCONFIG", "pconfig", 65n, 3n],
  ])("%s is a #VE with VE_INFO (reason, qualification 0, length)", (_name, code, reason, len) => {
    expect(veInfo(run(code).reports)).toEqual([reason, 0n, len]);
  });
});

describe("TD rules: MOV to CR0/CR4", () => {
  it.each([
    ["clearing CR0.NE", "mov rbx, cr0 ; and ebx, 0xffffffdf ; mov cr0, rbx", 0],
    ["setting CR0.CD", "mov rbx, cr0 ; or ebx, 0x40000000 ; mov cr0, rbx", 0],
    ["setting CR0.NW with CD", "mov rbx, cr0 ; or ebx, 0x60000000 ; mov cr0, rbx", 0],
    ["clearing CR4.MCE", "mov rbx, cr4 ; and ebx, 0xffffffbf ; mov cr4, rbx", 4],
    ["setting CR4.VMXE", "mov rbx, cr4 ; or ebx, 0x2000 ; mov cr4, rbx", 4],
    ["setting CR4.SMXE", "mov rbx, cr4 ; or ebx, 0x4000 ; mov cr4, rbx", 4],
  ])("%s is a #VE CR_ACCESS (28) with the CR-access qualification and length 3", (_name, code, cr) => {
    expect(veInfo(run(code).reports)).toEqual([28n, crQual(cr, RBX), 3n]);
  });

  it("the qualification names the source register (MOV CR4, R9: GPR 9, length 4 with REX)", () => {
    const { reports } = run("mov r9, cr4 ; and r9d, 0xffffffbf ; mov cr4, r9");
    expect(veInfo(reports)).toEqual([28n, crQual(4, 9), 4n]);
  });

  it.each([
    ["CR0.NW without CD (architecturally invalid)", "mov rbx, cr0 ; or ebx, 0x20000000 ; mov cr0, rbx"],
    [
      "clearing CR0.PE with paging on (architecturally invalid)",
      "mov rbx, cr0 ; and ebx, 0xfffffffe ; mov cr0, rbx",
    ],
    ["CR4.PKE without XFAM.PKRU", "mov rbx, cr4 ; or ebx, 0x400000 ; mov cr4, rbx"],
    ["CR4.PKS without ATTRIBUTES.PKS", "mov rbx, cr4 ; or ebx, 0x1000000 ; mov cr4, rbx"],
    ["CR4.KL (KeyLocker is not enabled)", "mov rbx, cr4 ; or ebx, 0x80000 ; mov cr4, rbx"],
    ["CR4.CET without XFAM.CET", "mov rbx, cr4 ; or ebx, 0x800000 ; mov cr4, rbx"],
    ["CR4.UINTR without XFAM.UINTR", "mov rbx, cr4 ; or ebx, 0x2000000 ; mov cr4, rbx"],
    ["reserved CR4 bit 15", "mov rbx, cr4 ; or ebx, 0x8000 ; mov cr4, rbx"],
  ])("%s is #GP(0)", (_name, code) => {
    expect(run(code).reports).toEqual(GP);
  });

  it("writes that keep the module's bits run natively (CR4.OSXMMEXCPT, CR0.TS) and read back", () => {
    const { reports } = run(
      "mov rbx, cr4 ; or ebx, 0x400 ; mov cr4, rbx ; mov rax, cr4 ; mov rbx, cr0 ; or ebx, 8 ; mov cr0, rbx ; mov rbx, cr0 ; shl rbx, 32 ; or rax, rbx",
    );
    const [[port, value]] = reports;
    expect(port).toBe(0x1f);
    expect(value & 0xffffffffn & (1n << 10n)).toBe(1n << 10n); // CR4.OSXMMEXCPT set
    expect(value & 0x40n).toBe(0x40n); // MCE still set
    expect((value >> 32n) & 0x8n).toBe(0x8n); // CR0.TS set
  });

  it("CR4.PKE is native when XFAM.PKRU enables it (reads back set)", () => {
    const { reports } = run("mov rbx, cr4 ; or ebx, 0x400000 ; mov cr4, rbx ; mov rax, cr4", undefined, {
      xfam: Xfam.X87 | Xfam.SSE | Xfam.PKRU,
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toEqual([0x1f, expect.any(BigInt)]);
    expect(reports[0][1] & 0x400000n).toBe(0x400000n);
  });
});

describe("TD rules: XSETBV, RDPMC, VMX-family instructions", () => {
  const xsetbv = (ecx: number, eax: number) =>
    `mov rbx, cr4 ; or ebx, 0x40000 ; mov cr4, rbx ; mov ecx, ${ecx} ; xor edx, edx ; mov eax, ${eax} ; xsetbv ; xor ecx, ecx ; xgetbv`;

  it("XSETBV of XFAM's components runs (XCR0 reads back)", () => {
    expect(run(xsetbv(0, 3)).reports).toEqual([[0x1f, 3n]]);
  });

  it.each([
    ["ECX ≠ 0", xsetbv(1, 3)],
    ["AVX outside XFAM (x87 | SSE)", xsetbv(0, 7)],
    ["x87 clear", xsetbv(0, 2)],
  ])("XSETBV with %s is #GP(0)", (_name, code) => {
    expect(run(code).reports).toEqual(GP);
  });

  it.each([
    ["SEAMCALL", "seamcall"],
    ["VMCLEAR", "vmclear QWORD PTR [rsp]"],
    ["INVEPT", "invept rax, OWORD PTR [rsp]"],
    ["VMFUNC", "vmfunc"],
    ["ENCLS", "encls"],
  ])("%s is #UD", (_name, code) => {
    expect(run(code).reports).toEqual(UD);
  });
});
