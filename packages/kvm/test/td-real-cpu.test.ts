// KVM_RUN of a TD on the default executor (the x86 core): a TD built through raw ioctls, its image
// at the top of 4 GiB, boots from the reset vector to long mode and reaches userspace through
// TDVMCALL<Instruction.IO> (issue 6: "KVM_RUN on a TD runs real guest code").
import { GUEST_IMAGE_BASE, longModeGuest, tdvmcallOut } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { KVM_RUN, KvmExit, KvmTdx } from "../src/index.js";
import { MiB, TdFixture } from "./td-fixture.js";

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const TOP_2M = 0xffe0_0000;

describe("KVM_RUN of a TD on the x86 core", () => {
  it("an assembled guest does TDG.VP.INFO and TDVMCALL IO: KVM_EXIT_IO out, then in, with data both ways", () => {
    const t = new TdFixture({ realCpu: true });
    t.initVmWithVcpus();
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: TOP_2M, userAddr: 0x8000_0000 });
    const image = longModeGuest(`
  mov eax, 1 ; tdcall                # TDG.VP.INFO: RCX = GPAW
  mov rbx, rcx
  ${tdvmcallOut(0x3f8, "rbx", 1)}
  xor eax, eax ; mov ecx, 0xfc00     # TDVMCALL<Instruction.IO> IN, 2 bytes from port 0x60
  xor r10d, r10d ; mov r11d, 30 ; mov r12d, 2 ; xor r13d, r13d ; mov r14d, 0x60
  tdcall
  mov rbx, r11
  ${tdvmcallOut(0x3f9, "rbx", 2)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    expect(t.initMemRegion(GUEST_IMAGE_BASE, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);

    const run = t.p.mmap(t.vcpuFds[0]!, 12288)!;
    const v = dv(run);
    const kvmRun = () => t.p.ioctl(t.vcpuFds[0]!, KVM_RUN, 0);
    expect(kvmRun()).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(run[32]).toBe(1); // KVM_EXIT_IO_OUT
    expect(run[33]).toBe(1);
    expect(v.getUint16(34, true)).toBe(0x3f8);
    expect(v.getUint32(36, true)).toBe(1);
    expect(run[Number(v.getBigUint64(40, true))]).toBe(48); // GPAW from TDG.VP.INFO

    expect(kvmRun()).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(run[32]).toBe(0); // KVM_EXIT_IO_IN
    expect(run[33]).toBe(2);
    expect(v.getUint16(34, true)).toBe(0x60);
    v.setUint16(Number(v.getBigUint64(40, true)), 0xbeef, true);

    expect(kvmRun()).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(run[32]).toBe(1);
    expect(v.getUint16(34, true)).toBe(0x3f9);
    expect(v.getUint16(Number(v.getBigUint64(40, true)), true)).toBe(0xbeef);
  });

  it("lazy private memory: the guest's first touch is an EPT violation KVM fixes with PAGE.AUG; the guest ACCEPTs from its #VE handler", () => {
    const t = new TdFixture({ realCpu: true });
    t.initVmWithVcpus();
    t.addPrivateMemory(2 * MiB);
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: TOP_2M, userAddr: 0x8000_0000 });
    const image = longModeGuest(`
  mov ebx, 0x1000
  mov DWORD PTR [rbx+8], 0x5a5a1234
  mov ebx, DWORD PTR [rbx+8]
  ${tdvmcallOut(0x3f8, "rbx", 4)}
ve_handler:
  mov eax, 3 ; tdcall            # TDG.VP.VEINFO.GET: R9 = GPA
  mov rcx, r9 ; and rcx, -4096
  mov eax, 6 ; tdcall            # TDG.MEM.PAGE.ACCEPT (4 KiB)
  iretq                          # back to the faulting access
gp_handler: ud_handler:
  jmp gp_handler`);
    expect(t.initMemRegion(GUEST_IMAGE_BASE, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const run = t.p.mmap(t.vcpuFds[0]!, 12288)!;
    const v = dv(run);
    expect(t.p.ioctl(t.vcpuFds[0]!, KVM_RUN, 0)).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(v.getUint16(34, true)).toBe(0x3f8);
    expect(v.getUint32(Number(v.getBigUint64(40, true)), true)).toBe(0x5a5a1234);
  });
});
