// Shared memory of a TD on the x86 core: shared GPAs (bit 47 set) are the memslot's userspace memory,
// mapped into KVM's shared EPT on first touch; the guest and the VMM see the same bytes both ways,
// and a conversion to private zaps the shared mapping (the next shared touch is a memory fault).
import {
  GUEST_IMAGE_BASE,
  longModeGuest,
  GUEST_SHARED_WINDOW as SHARED_WINDOW,
  tdvmcallOut,
} from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { KVM_RUN, KvmCap, KvmExit, KvmMem, KvmTdx } from "../src/index.js";
import { GUEST_RAM_AT, MiB, TdFixture } from "./td-fixture.js";

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const TOP_2M = 0xffe0_0000;
const EFAULT = 14;

function sharedTd(body: string, hypercallExit = false) {
  const t = new TdFixture({ realCpu: true });
  if (hypercallExit) t.vm.enableCap({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << 12n] });
  t.initVmWithVcpus();
  t.addPrivateMemory(2 * MiB, false); // slot 0: GPA 0..2 MiB, shared, host memory at GUEST_RAM_AT
  t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: TOP_2M, userAddr: 0x8000_0000 });
  expect(t.initMemRegion(GUEST_IMAGE_BASE, longModeGuest(body), true).ret).toBe(0);
  expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
  const run = t.p.mmap(t.vcpuFds[0]!, 12288)!;
  const v = dv(run);
  const kvmRun = () => t.p.ioctl(t.vcpuFds[0]!, KVM_RUN, 0);
  /** KVM_RUN expecting an IO OUT exit on `port`; the value written. */
  const out = (port: number) => {
    expect(kvmRun()).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(v.getUint16(34, true)).toBe(port);
    return v.getUint32(Number(v.getBigUint64(40, true)), true);
  };
  return { t, v, kvmRun, out, user: t.p.userMemory };
}

describe("TD shared memory through the memslot's userspace memory", () => {
  it("guest writes, host reads; host writes, guest reads; both ways again on the mapped page", () => {
    const { t, out, user } = sharedTd(`
  mov rbx, ${SHARED_WINDOW + 0x1000}
  mov rax, 0x1122334455667788
  mov QWORD PTR [rbx], rax          # first touch: EPT violation, KVM maps the memslot page
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  mov rbx, ${SHARED_WINDOW + 0x2008}
  mov ebx, DWORD PTR [rbx]          # a page only the host wrote
  ${tdvmcallOut(0x3f9, "rbx", 4)}
  mov rbx, ${SHARED_WINDOW + 0x1000}
  mov ebx, DWORD PTR [rbx+16]       # the mapped page, written by the host meanwhile
  ${tdvmcallOut(0x3fa, "rbx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    const shared = t.vm.tdx.sharedEpt;
    expect(shared.mappedCount).toBe(0);
    out(0x3f8);
    expect(user.read64(GUEST_RAM_AT + 0x1000)).toBe(0x1122334455667788n);
    expect(shared.mappedCount).toBe(1);
    user.write32(GUEST_RAM_AT + 0x2008, 0xcafef00d);
    expect(out(0x3f9)).toBe(0xcafef00d);
    user.write32(GUEST_RAM_AT + 0x1010, 0x600dbeef);
    expect(out(0x3fa)).toBe(0x600dbeef);
    expect(shared.mappedCount).toBe(2);
  });

  it("the VMM discarding a mapped page (madvise DONTNEED) unmaps it: the guest then sees the fresh page", () => {
    const { out, user } = sharedTd(`
  mov rbx, ${SHARED_WINDOW + 0x6000}
  mov DWORD PTR [rbx], 0x77
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  mov ecx, DWORD PTR [rbx]
  ${tdvmcallOut(0x3f9, "rcx", 4)}
  mov DWORD PTR [rbx+8], 0x99
  ${tdvmcallOut(0x3fa, "rcx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    out(0x3f8);
    expect(user.read32(GUEST_RAM_AT + 0x6000)).toBe(0x77);
    user.discard(GUEST_RAM_AT + 0x6000, 4096);
    expect(out(0x3f9)).toBe(0); // a discarded page reads as zeros
    out(0x3fa);
    expect(user.read32(GUEST_RAM_AT + 0x6008)).toBe(0x99); // the guest writes the page the VMM sees
  });

  it("KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) zaps the shared mapping: the next shared touch exits with KVM_EXIT_MEMORY_FAULT", () => {
    const { t, v, kvmRun, out, user } = sharedTd(`
  mov rbx, ${SHARED_WINDOW + 0x3000}
  mov ecx, DWORD PTR [rbx]
  ${tdvmcallOut(0x3f8, "rcx", 4)}
  mov ecx, DWORD PTR [rbx]
  ${tdvmcallOut(0x3f9, "rcx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    user.write32(GUEST_RAM_AT + 0x3000, 0x11110001);
    expect(out(0x3f8)).toBe(0x11110001);
    const shared = t.vm.tdx.sharedEpt;
    expect(shared.mappedCount).toBe(1);
    t.setAttributes(0x3000, 4096, true);
    expect(shared.mappedCount).toBe(0);
    expect(kvmRun()).toBe(-1);
    expect(t.p.errno).toBe(EFAULT);
    expect(v.getUint32(8, true)).toBe(KvmExit.MEMORY_FAULT);
    expect(v.getBigUint64(32, true)).toBe(0n); // flags: a shared access
    expect(v.getBigUint64(40, true)).toBe(0x3000n);
    expect(v.getBigUint64(48, true)).toBe(4096n);
    // the VMM converts back (as it would for MapGPA): the access is retried and maps again
    t.setAttributes(0x3000, 4096, false);
    user.write32(GUEST_RAM_AT + 0x3000, 0x22220002);
    expect(out(0x3f9)).toBe(0x22220002);
    expect(shared.mappedCount).toBe(1);
  });

  it("MapGPA to private: the VMM's conversion zaps the shared page; the accepted private page is not the host's", () => {
    const { t, v, kvmRun, out, user } = sharedTd(
      `
  mov rbx, ${SHARED_WINDOW + 0x4000}
  mov ecx, DWORD PTR [rbx]
  ${tdvmcallOut(0x3f8, "rcx", 4)}
  xor eax, eax ; mov ecx, 0xfc00    # TDVMCALL<MapGPA>(0x4000, 4 KiB) to private
  xor r10d, r10d ; mov r11d, 0x10001 ; mov r12d, 0x4000 ; mov r13d, 0x1000
  tdcall
  ${tdvmcallOut(0x3f9, "r10", 4)}
  mov ecx, 0x4000 ; mov eax, 6 ; tdcall   # TDG.MEM.PAGE.ACCEPT
  ${tdvmcallOut(0x3fa, "rax", 4)}
  mov DWORD PTR [0x4000], 0xabcd
  mov ecx, DWORD PTR [0x4000]
  ${tdvmcallOut(0x3fb, "rcx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`,
      true,
    );
    user.write32(GUEST_RAM_AT + 0x4000, 0x5151);
    expect(out(0x3f8)).toBe(0x5151);
    const shared = t.vm.tdx.sharedEpt;
    expect(shared.mappedCount).toBe(1);
    expect(kvmRun()).toBe(0);
    expect(v.getUint32(8, true)).toBe(KvmExit.HYPERCALL);
    expect(v.getBigUint64(40, true)).toBe(0x4000n); // args[0] gpa
    expect(v.getBigUint64(48, true)).toBe(1n); // args[1] pages
    t.setAttributes(0x4000, 4096, true);
    expect(shared.mappedCount).toBe(0);
    v.setBigUint64(88, 0n, true); // hypercall.ret
    expect(out(0x3f9)).toBe(0); // TDVMCALL SUCCESS
    expect(out(0x3fa)).toBe(0); // ACCEPT: TDX_SUCCESS
    expect(out(0x3fb)).toBe(0xabcd);
    expect(user.read32(GUEST_RAM_AT + 0x4000)).toBe(0x5151); // the host's page is not the private one
  });

  it("a shared slot logging dirty pages: a mapped page is dirty; KVM_GET_DIRTY_LOG drops the mappings so the next touch logs again", () => {
    const t = new TdFixture({ realCpu: true });
    t.initVmWithVcpus();
    // slot 0: plain shared memory (no guest_memfd) with KVM_MEM_LOG_DIRTY_PAGES
    t.vm.setUserMemoryRegion({
      slot: 0,
      flags: KvmMem.LOG_DIRTY_PAGES,
      guestPhysAddr: 0n,
      memorySize: BigInt(2 * MiB),
      userspaceAddr: BigInt(GUEST_RAM_AT),
    });
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: TOP_2M, userAddr: 0x8000_0000 });
    const body = `
  mov rbx, ${SHARED_WINDOW + 0x5000}
  mov DWORD PTR [rbx], 0x1234
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  mov DWORD PTR [rbx+4], 0x5678
  ${tdvmcallOut(0x3f9, "rbx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`;
    expect(t.initMemRegion(GUEST_IMAGE_BASE, longModeGuest(body), true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const vcpu = t.vcpu();
    const shared = t.vm.tdx.sharedEpt;
    expect(vcpu.kvmRun().kind).toBe("io");
    expect(t.p.userMemory.read32(GUEST_RAM_AT + 0x5000)).toBe(0x1234);
    const log = t.vm.getDirtyLog(0);
    expect(log[0]).toBe(1 << 5); // gfn 5 only
    expect(log.slice(1).every((b) => b === 0)).toBe(true);
    expect(shared.mappedCount).toBe(0); // dropped with the log: the next write faults and logs again
    expect(vcpu.kvmRun().kind).toBe("io");
    expect(t.vm.getDirtyLog(0)[0]).toBe(1 << 5);
    expect(t.p.userMemory.read32(GUEST_RAM_AT + 0x5004)).toBe(0x5678);
  });

  it("UPM round trip on the x86 core: private → MapGPA shared → host sees the guest's bytes → MapGPA private → re-accepted page is zeroed", () => {
    const mapGpa = (gpa: number) => `
  xor eax, eax ; mov ecx, 0xfc00
  xor r10d, r10d ; mov r11d, 0x10001 ; mov r12, ${gpa} ; mov r13d, 0x1000
  tdcall`;
    const accept = `
  mov ecx, 0x7000 ; mov eax, 6 ; tdcall      # TDG.MEM.PAGE.ACCEPT (KVM AUGs it on the EPT violation)
  mov rbx, rax
  ${tdvmcallOut(0x3f0, "rbx", 4)}`;
    const t = new TdFixture({ realCpu: true });
    t.vm.enableCap({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << 12n] });
    t.initVmWithVcpus();
    t.addPrivateMemory(2 * MiB, true); // slot 0: guest_memfd + user memory at GUEST_RAM_AT, private
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: TOP_2M, userAddr: 0x8000_0000 });
    const image = longModeGuest(`
  ${accept}
  mov DWORD PTR [0x7000], 0xaaaa
  ${mapGpa(2 ** 47 + 0x7000)}
  mov rbx, ${SHARED_WINDOW + 0x7000}
  mov DWORD PTR [rbx], 0xbbbb
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  ${mapGpa(0x7000)}
  ${accept}
  mov ebx, DWORD PTR [0x7000]
  ${tdvmcallOut(0x3f9, "rbx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    expect(t.initMemRegion(GUEST_IMAGE_BASE, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const vcpu = t.vcpu();
    const user = t.p.userMemory;
    const io = () => {
      const e = vcpu.kvmRun();
      if (e.kind !== "io") throw new Error(`expected an IO exit, got ${e.kind}`);
      const run = vcpu.run;
      return [
        e.port,
        new DataView(run.bytes.buffer, run.bytes.byteOffset).getUint32(run.io.dataOffset, true),
      ];
    };
    const convert = (toPrivate: boolean) => {
      const e = vcpu.kvmRun();
      expect(e).toMatchObject({ kind: "hypercall", nr: 12n });
      if (e.kind !== "hypercall") return;
      expect(e.args.slice(0, 3)).toEqual([0x7000n, 1n, toPrivate ? 0x10n : 0n]);
      t.setAttributes(0x7000, 4096, toPrivate);
      vcpu.run.hypercall.ret = 0n;
    };
    expect(io()).toEqual([0x3f0, 0]); // accepted
    convert(false);
    expect(t.vm.tdx.mmu.privatePages.has(0x7000)).toBe(false); // the private page was zapped
    expect(io()).toEqual([0x3f8, SHARED_WINDOW + 0x7000]);
    expect(user.read32(GUEST_RAM_AT + 0x7000)).toBe(0xbbbb); // the shared side, not the private 0xaaaa
    expect(t.vm.tdx.sharedEpt.mappedCount).toBe(1);
    convert(true);
    expect(t.vm.tdx.sharedEpt.mappedCount).toBe(0);
    expect(io()).toEqual([0x3f0, 0]); // accepted again
    expect(io()).toEqual([0x3f9, 0]); // private contents did not survive the round trip
  });
});
