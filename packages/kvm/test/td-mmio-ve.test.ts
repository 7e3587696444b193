// MMIO the way a TD guest really does it, on the x86 core: a plain load from a shared GPA outside every
// memslot takes #VE (KVM's shared-EPT MMIO entry); the #VE handler reads VE_INFO, issues
// TDVMCALL<#VE.RequestMMIO> and skips the instruction. The VMM sees KVM_EXIT_MMIO with the canonical GPA.
import { GUEST_IMAGE_BASE, GUEST_SHARED_WINDOW, longModeGuest, tdvmcallOut } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { KvmTdx, TdVmCallStatus } from "../src/index.js";
import { GUEST_RAM_AT, MiB, TdFixture } from "./td-fixture.js";

describe("MMIO through a real #VE", () => {
  it("load from an unbacked shared GPA → #VE → RequestMMIO → KVM_EXIT_MMIO; a page-crossing shared request exits too, a private one is refused", () => {
    const t = new TdFixture({ realCpu: true });
    t.initVmWithVcpus();
    // shared RAM only in the first 1 MiB: canonical 0x180000 is MMIO
    t.vm.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guestPhysAddr: 0n,
      memorySize: BigInt(MiB),
      userspaceAddr: BigInt(GUEST_RAM_AT),
    });
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: 0xffe0_0000, userAddr: 0x8000_0000 });
    const image = longModeGuest(`
  mov rbx, ${GUEST_SHARED_WINDOW + 0x18_0010}
  mov eax, DWORD PTR [rbx]            # 8B 03: #VE, the handler emulates it
  mov rbx, rax
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  xor eax, eax ; mov ecx, 0xfc00      # RequestMMIO read of 8 bytes at shared 0x180ffc: crosses a page
  xor r10d, r10d ; mov r11d, 48 ; mov r12d, 8 ; xor r13d, r13d
  mov r14, ${2 ** 47 + 0x18_0ffc}
  tdcall
  mov rbx, r11
  ${tdvmcallOut(0x3fa, "rbx", 4)}
  xor eax, eax ; mov ecx, 0xfc00      # the same at private 0x180ffc: refused in KVM
  xor r10d, r10d ; mov r11d, 48 ; mov r12d, 8 ; xor r13d, r13d
  mov r14, 0x180ffc
  tdcall
  mov rbx, r10
  shr rbx, 32
  ${tdvmcallOut(0x3f9, "rbx", 4)}
ve_handler:
  push rcx ; push rdx ; push r8 ; push r9 ; push r10 ; push r11 ; push r12 ; push r13 ; push r14 ; push r15
  mov eax, 3 ; tdcall                 # TDG.VP.VEINFO.GET: R9 = the faulting GPA (shared bit set)
  mov r14, r9
  xor eax, eax ; mov ecx, 0xfc00
  xor r10d, r10d ; mov r11d, 48 ; mov r12d, 4 ; xor r13d, r13d
  tdcall                              # TDVMCALL<#VE.RequestMMIO> read, 4 bytes
  mov eax, r11d
  pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop r11 ; pop r10 ; pop r9 ; pop r8 ; pop rdx ; pop rcx
  add QWORD PTR [rsp], 2              # skip the 2-byte load
  iretq
gp_handler: ud_handler:
  jmp gp_handler`);
    expect(t.initMemRegion(GUEST_IMAGE_BASE, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const vcpu = t.vcpu();
    const e = vcpu.kvmRun();
    expect(e).toMatchObject({ kind: "mmio", physAddr: 0x18_0010n, len: 4, isWrite: false });
    vcpu.run.mmio.data.set([0x78, 0x56, 0x34, 0x12]);
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: 0x3f8 });
    const io = () => {
      const run = vcpu.run;
      return new DataView(run.bytes.buffer, run.bytes.byteOffset).getUint32(run.io.dataOffset, true);
    };
    expect(io()).toBe(0x12345678);
    // mainline tdx_emulate_mmio has no page-crossing check: the shared request reaches the VMM
    expect(vcpu.kvmRun()).toMatchObject({ kind: "mmio", physAddr: 0x18_0ffcn, len: 8, isWrite: false });
    vcpu.run.mmio.data.set([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: 0x3fa });
    expect(io()).toBe(0x04030201);
    // the private one never does
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: 0x3f9 });
    expect(BigInt(io()) << 32n).toBe(TdVmCallStatus.INVALID_OPERAND);
    expect(t.vm.tdx.sharedEpt.mappedCount).toBe(0);
  });
});
