// KVM_RUN of a TD vCPU through TDH.VP.ENTER, with a scripted guest standing in for the x86 CPU:
// TDVMCALL exits in kvm_run bytes (raw face) and as VcpuExit (typed face), in-kernel completions,
// the instruction budget, HLT, triple fault, fatal errors, and the private-memory paths.
import { Errno } from "@tdxsim/memory";
import { getReg } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  KVM_GET_CPUID2,
  KVM_GET_MP_STATE,
  KVM_RUN,
  KVM_SET_CPUID2,
  KVM_SET_MP_STATE,
  KvmCap,
  KvmExit,
  KvmMpState,
  KvmSystemEvent,
  KvmTdx,
  kvmCpuid2Header,
  kvmMpState,
  TdVmCallStatus,
  type Vcpu,
} from "../src/index.js";
import { DEFAULT_TD_RUN_BUDGET } from "../src/td-run.js";
import {
  accept,
  type GuestStep,
  NEXT,
  recordR10R11,
  spin,
  tdvmcall,
  touch,
  tripleFault,
} from "./scripted-guest.js";
import { TdFixture } from "./td-fixture.js";

const IO = 30;
const SHARED = 2 ** 47;
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function runRaw(t: TdFixture, i = 0): number {
  return t.p.ioctl(t.vcpuFds[i]!, KVM_RUN, 0);
}

describe("KVM_RUN of a TD vCPU (raw face: kvm_run bytes)", () => {
  it("TDVMCALL IO OUT and IN exit to userspace; IN data reaches the guest's R11 on the next KVM_RUN", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(tdvmcall(IO, 1n, 1n, 0x3f8n, 0x41n), tdvmcall(IO, 2n, 0n, 0x60n), recordR10R11(g), spin);
    const run = t.p.mmap(t.vcpuFds[0]!, 12288)!;
    expect(runRaw(t)).toBe(0);
    const v = dv(run);
    expect(v.getUint32(8, true)).toBe(KvmExit.IO);
    expect(run[32]).toBe(1); // direction OUT
    expect(run[33]).toBe(1); // size
    expect(v.getUint16(34, true)).toBe(0x3f8);
    expect(v.getUint32(36, true)).toBe(1); // count
    const dataOffset = Number(v.getBigUint64(40, true));
    expect(run[dataOffset]).toBe(0x41);
    expect(runRaw(t)).toBe(0);
    expect(run[32]).toBe(0); // IN
    expect(v.getUint16(34, true)).toBe(0x60);
    v.setUint16(Number(v.getBigUint64(40, true)), 0xbeef, true);
    expect(runRaw(t)).toBe(-1); // the guest then spins: the budget runs out
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(v.getUint32(8, true)).toBe(KvmExit.INTR);
    expect(g.seen).toEqual([0n, 0xbeefn]);
  });
  it("the budget: default, settable, exhausted → -EINTR / KVM_EXIT_INTR, and re-running continues", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(spin, tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(g.lastBudget).toBe(DEFAULT_TD_RUN_BUDGET);
    t.vcpu().setRunBudget(5000);
    expect(runRaw(t)).toBe(0);
    expect(g.lastBudget).toBe(5000);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.IO);
    expect(() => t.vcpu().setRunBudget(0)).toThrow(/EINVAL/);
  });
  it("immediate_exit → -EINTR without entering the guest", () => {
    const t = TdFixture.runnable();
    t.guest.script(tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    t.vcpu().run.immediateExit = 1;
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(t.guest.entries).toBe(0);
    expect(t.vcpu().kvmRun()).toEqual({ kind: "intr" });
    t.vcpu().run.immediateExit = 0;
    expect(t.vcpu().kvmRun().kind).toBe("io");
  });
  it("in-kernel TDVMCALLs re-enter at once: CPUID from the KVM_SET_CPUID2 model, unknown leaf → SUBFUNC_UNSUPPORTED", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(
      tdvmcall(10, 0x40000000n),
      recordR10R11(g),
      tdvmcall(0x7777),
      recordR10R11(g),
      tdvmcall(IO, 1n, 1n, 0x80n, 0n),
    );
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.IO);
    expect(g.entries).toBe(3);
    expect(g.seen[0]).toBe(0n);
    expect(g.seen[2]).toBe(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
  });
  it("HLT with nothing to wake the vCPU: -EINTR, mp_state HALTED, again -EINTR; SET_MP_STATE(RUNNABLE) resumes it", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(tdvmcall(12), recordR10R11(g), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    const fd = t.vcpuFds[0]!;
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    const mp = new Uint8Array(4);
    t.p.ioctl(fd, KVM_GET_MP_STATE, mp);
    expect(kvmMpState.decode(mp).mp_state).toBe(KvmMpState.HALTED);
    expect(runRaw(t)).toBe(-1);
    expect(g.entries).toBe(1);
    expect(t.p.ioctl(fd, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.RUNNABLE }))).toBe(0);
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.IO);
    expect(g.seen.slice(0, 1)).toEqual([0n]);
  });
  it("triple fault → KVM_EXIT_SHUTDOWN; the vCPU cannot be entered again (INTERNAL_ERROR)", () => {
    const t = TdFixture.runnable();
    t.guest.script(tripleFault);
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.SHUTDOWN);
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.INTERNAL_ERROR);
    expect(t.vcpu().run.internal.suberror).toBe(4);
  });
  it("without a CPU attached KVM_RUN is ENXIO", () => {
    const t = TdFixture.runnable();
    (t.vm.tdx.tdx as { hasExecutor: boolean }).hasExecutor = false;
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.ENXIO);
  });
});

describe("KVM_RUN (typed face: VcpuExit)", () => {
  it("IO, ReportFatalError → SYSTEM_EVENT TDX_FATAL with the GPRs, and EINTR as { kind: 'intr' }", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(tdvmcall(IO, 4n, 1n, 0xcf8n, 0x80000000n), tdvmcall(0x10003, 0x1234n, 0n, 0x41n), spin);
    const vcpu: Vcpu = t.vcpu();
    const io = vcpu.kvmRun();
    expect(io.kind).toBe("io");
    if (io.kind === "io") {
      expect([io.direction, io.size, io.port]).toEqual(["out", 4, 0xcf8]);
      expect(dv(io.data).getUint32(0, true)).toBe(0x80000000);
    }
    const fatal = vcpu.kvmRun();
    expect(fatal.kind).toBe("systemEvent");
    if (fatal.kind === "systemEvent") {
      expect(fatal.type).toBe(KvmSystemEvent.TDX_FATAL);
      expect(fatal.data[12]).toBe(0x1234n);
      expect(fatal.data[14]).toBe(0x41n);
    }
  });
});

describe("private memory at run time", () => {
  it("ACCEPT of a never-mapped private page: EPT violation → guest_memfd page, SEPT.ADD, PAGE.AUG; the guest accepts and uses it", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(accept(g, 0x5000), touch(g, 0x5123, 0x77), touch(g, 0x5123), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.IO);
    expect(g.seen).toEqual([0n, 0x77n]);
    expect(t.vm.tdx.mmu.privatePages.has(0x5000)).toBe(true);
    // the host cannot read the private page
    const hpa = t.vm.tdx.mmu.privatePages.get(0x5000)!;
    expect(t.p.host.physicalMemory.host.readBytes(hpa + 0x123, 1)[0]).toBe(0);
  });
  it("a private access to an unaccepted page: AUG, then #VE to the guest", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(touch(g, 0x6000), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    expect(g.seen).toEqual([1020n]);
  });
  it("attribute mismatch → -EFAULT with KVM_EXIT_MEMORY_FAULT (flags PRIVATE iff the access was private)", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    t.setAttributes(0x10000, 0x1000, false);
    g.script(touch(g, 0x10080), touch(g, SHARED + 0x20040));
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
    const run = t.vcpu().run;
    expect(run.exitReason).toBe(KvmExit.MEMORY_FAULT);
    expect(run.memoryFault.flags).toBe(8n);
    expect(run.memoryFault.gpa).toBe(0x10000n);
    expect(run.memoryFault.size).toBe(4096n);
    // the VMM converts (implicit conversion) and re-runs; the guest retries and goes on
    t.setAttributes(0x10000, 0x1000, true);
    const exit = t.vcpu().kvmRun(); // next: a shared access to private 0x20000
    expect(exit).toEqual({ kind: "memoryFault", flags: 0n, gpa: 0x20000n, size: 4096n });
  });
  it("private → shared conversion zaps with BLOCK/TRACK/REMOVE so the hole punch frees the page; contents are lost", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(accept(g, 0x7000), touch(g, 0x7000, 0x55), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    const memory = t.p.host.physicalMemory;
    const before = memory.allocatedPages;
    t.setAttributes(0x7000, 0x1000, false);
    expect(t.vm.tdx.mmu.privatePages.has(0x7000)).toBe(false);
    expect(t.p.fallocate(t.gmemFd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0x7000, 0x1000)).toBe(0);
    expect(memory.allocatedPages).toBe(before - 1);
    // back to private: a fresh page, zeroed
    t.setAttributes(0x7000, 0x1000, true);
    g.script(accept(g, 0x7000), touch(g, 0x7000), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    expect(g.seen).toEqual([0n, 0n, 0n]);
  });
  it("shared GPAs outside every memslot are emulated MMIO: the guest gets #VE (unless the gfn is private)", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    t.setAttributes(0x1100_0000, 0x1000, true);
    g.script(touch(g, SHARED + 0x1000_0000), tdvmcall(IO, 1n, 1n, 0x80n, 0n), touch(g, SHARED + 0x1100_0000));
    expect(runRaw(t)).toBe(0);
    expect(g.seen).toEqual([1020n]);
    expect(t.vcpu().kvmRun()).toEqual({ kind: "memoryFault", flags: 0n, gpa: 0x1100_0000n, size: 4096n });
  });
  it("punching a hole in an AUGed page of a running TD works (the zap hook reclaims first)", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(accept(g, 0x9000), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    expect(t.p.fallocate(t.gmemFd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 0x20_0000)).toBe(0);
    expect(t.vm.tdx.mmu.privatePages.size).toBe(0);
    expect(t.vm.td.state).toBe("runnable");
  });
});

describe("order rules once the module is real", () => {
  it("KVM_RUN needs INIT_VCPU on that vCPU", () => {
    const t = new TdFixture();
    t.initVm();
    t.createVcpu();
    t.createVcpu();
    t.initVcpu(0);
    t.addPrivateMemory();
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    expect(runRaw(t, 1)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
  });
});

describe("KVM_RUN never hangs", () => {
  it("a guest looping on in-kernel TDVMCALLs is interrupted after the budget (one per round trip at least)", () => {
    const t = TdFixture.runnable();
    const steps = Array.from({ length: 50 }, () => tdvmcall(10, 0n));
    t.guest.script(...steps, tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    t.vcpu().setRunBudget(20);
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(t.guest.entries).toBe(20);
    t.vcpu().setRunBudget(1000);
    expect(runRaw(t)).toBe(0);
    expect(t.vcpu().run.exitReason).toBe(KvmExit.IO);
  });
});

describe("forwarded TDVMCALLs that complete on the next KVM_RUN", () => {
  it("MapGPA (KVM_CAP_EXIT_HYPERCALL on): 2 MiB chunks as KVM_EXIT_HYPERCALL, the VMM converts, SUCCESS at the end", () => {
    const t = new TdFixture();
    t.vm.enableCap({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << 12n] });
    expect(t.initVm().ret).toBe(0);
    t.createVcpu();
    t.initVcpu(0);
    t.addPrivateMemory(4 * 1024 * 1024);
    expect(t.initMemRegion(0xf_0000, new Uint8Array(4096), true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const g = t.guest;
    g.script(tdvmcall(0x10001, BigInt(SHARED), 0x40_0000n), recordR10R11(g), spin);
    const chunks: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const exit = t.vcpu().kvmRun();
      expect(exit.kind).toBe("hypercall");
      if (exit.kind !== "hypercall") return;
      expect(exit.nr).toBe(12n);
      chunks.push(exit.args[0]!, exit.args[1]!, exit.args[2]!);
      t.setAttributes(Number(exit.args[0]), Number(exit.args[1]) * 4096, false);
    }
    expect(chunks).toEqual([0n, 512n, 0n, 0x20_0000n, 512n, 0n]);
    expect(t.vcpu().kvmRun()).toEqual({ kind: "intr" });
    expect(g.seen[0]).toBe(0n);
    expect(t.vm.tdx.mmu.privatePages.size).toBe(0); // the image page was zapped by the conversion
  });
  it("RDMSR of an MSR outside KVM's TDX list: INVALID_OPERAND in-kernel, or KVM_EXIT_X86_RDMSR with user-space MSRs", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(tdvmcall(31, 0xc0011234n), recordR10R11(g), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(t.vcpu().kvmRun().kind).toBe("io");
    expect(g.seen[0]).toBe(TdVmCallStatus.INVALID_OPERAND);

    const u = new TdFixture();
    u.vm.enableCap({ cap: KvmCap.X86_USER_SPACE_MSR, args: [1n] }); // KVM_MSR_EXIT_REASON_INVAL
    expect(u.initVm().ret).toBe(0);
    u.createVcpu();
    u.initVcpu(0);
    u.addPrivateMemory();
    expect(u.op(u.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    u.guest.script(tdvmcall(31, 0xc0011234n), recordR10R11(u.guest), spin);
    const exit = u.vcpu().kvmRun();
    expect(exit.kind).toBe("x86Rdmsr");
    u.vcpu().run.msr.data = 0x1122334455n;
    expect(u.vcpu().kvmRun()).toEqual({ kind: "intr" });
    expect(u.guest.seen).toEqual([0n, 0x1122334455n]);
  });
});

describe("teardown order", () => {
  it("closing the VM and vCPU fds before guest_memfd reclaims every TD page; guest_memfd then frees its own", () => {
    const t = TdFixture.runnable(new Uint8Array(4 * 4096).fill(3));
    const g = t.guest;
    g.script(accept(g, 0x3000), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
    expect(runRaw(t)).toBe(0);
    const memory = t.p.host.physicalMemory;
    const vm = t.vm;
    t.p.close(t.vcpuFds[0]!);
    expect(vm.tdx.tdr).not.toBe(0); // the VM fd still holds it
    t.p.close(t.vmFd);
    expect(vm.tdx.tdr).toBe(0);
    expect(t.p.close(t.gmemFd)).toBe(0);
    expect(memory.allocatedPages).toBe(0);
  });
});

describe("SEPT_VE_DISABLE", () => {
  it("a private access before ACCEPT kills the TD: KVM_RUN -EIO, every ioctl EIO afterwards", () => {
    const t = new TdFixture();
    expect(t.initVm({ attributes: 1n << 28n }).ret).toBe(0);
    t.createVcpu();
    t.initVcpu(0);
    t.addPrivateMemory();
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const g = t.guest;
    g.script(touch(g, 0x6000));
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EIO);
    expect(t.p.lastError?.message).toMatch(/before accepting 0x6000/);
    expect(t.vm.td.state).toBe("dead");
    expect(runRaw(t)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EIO);
  });
});

describe("KVM_SET_CPUID2 / KVM_GET_CPUID2 on a TD vCPU", () => {
  it("the model answers TDVMCALL<CPUID> (kvm_cpuid); size, pointer and after-run rules", () => {
    const t = TdFixture.runnable();
    const fd = t.vcpuFds[0]!;
    const vcpu = t.vcpu();
    const model = vcpu.getCpuid2();
    const kvmLeaf = {
      function: 0x40000000,
      index: 0,
      flags: 0,
      eax: 0x40000001,
      ebx: 0x4b4d564b,
      ecx: 0x564b4d56,
      edx: 0x4d,
      padding: [0, 0, 0],
    };
    vcpu.setCpuid2([...model, kvmLeaf]); // not run yet: any model
    const g = t.guest;
    const regs: bigint[] = [];
    g.script(
      tdvmcall(10, 0x40000000n),
      (v) => {
        for (const r of [10, 12, 13, 14, 15]) regs.push(getReg(v.regs.gpr, r));
        return NEXT;
      },
      tdvmcall(IO, 1n, 1n, 0x80n, 0n),
    );
    expect(runRaw(t)).toBe(0);
    expect(regs).toEqual([0n, 0x40000001n, 0x4b4d564bn, 0x564b4d56n, 0x4dn]);
    // after KVM_RUN only the same model is accepted
    expect(() => vcpu.setCpuid2(model)).toThrow(/must not change/);
    vcpu.setCpuid2([...model, kvmLeaf]);
    const mem = t.p.userMemory;
    mem.writeBytes(0x30_0000, kvmCpuid2Header.encode({ nent: 257, padding: 0 }));
    expect(t.p.ioctl(fd, KVM_SET_CPUID2, 0x30_0000)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    expect(t.p.ioctl(fd, KVM_SET_CPUID2, 0)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
    mem.writeBytes(0x30_0000, kvmCpuid2Header.encode({ nent: 2, padding: 0 }));
    expect(t.p.ioctl(fd, KVM_GET_CPUID2, 0x30_0000)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    expect(kvmCpuid2Header.decode(mem.readBytes(0x30_0000, 8)).nent).toBe(2); // not written back
    mem.writeBytes(0x30_0000, kvmCpuid2Header.encode({ nent: 256, padding: 0 }));
    expect(t.p.ioctl(fd, KVM_GET_CPUID2, 0x30_0000)).toBe(0);
    expect(kvmCpuid2Header.decode(mem.readBytes(0x30_0000, 8)).nent).toBe(model.length + 1);
  });
});

describe("MMIO and several vCPUs", () => {
  it("TDVMCALL<#VE.RequestMMIO> read → KVM_EXIT_MMIO at the canonical GPA; the data reaches R11", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    g.script(tdvmcall(48, 4n, 0n, BigInt(SHARED + 0xfee0_0030)), recordR10R11(g), spin);
    const exit = t.vcpu().kvmRun();
    expect(exit.kind).toBe("mmio");
    if (exit.kind !== "mmio") return;
    expect([exit.physAddr, exit.isWrite, exit.len]).toEqual([0xfee0_0030n, false, 4]);
    dv(exit.data).setUint32(0, 0x50014, true);
    expect(t.vcpu().kvmRun()).toEqual({ kind: "intr" });
    expect(g.seen).toEqual([0n, 0x50014n]);
  });
  it("two vCPUs run independently; each KVM_RUN enters its own TDVPR", () => {
    const t = TdFixture.runnable(undefined, { vcpus: 2 });
    const g = t.guest;
    const seenBy: unknown[] = [];
    const on =
      (step: GuestStep): GuestStep =>
      (v) => {
        seenBy.push(v);
        return step(v);
      };
    g.script(on(tdvmcall(IO, 1n, 1n, 0x10n, 0x1n)), on(tdvmcall(IO, 1n, 1n, 0x20n, 0x2n)));
    expect(t.vcpu(1).kvmRun()).toMatchObject({ kind: "io", port: 0x10 });
    expect(t.vcpu(0).kvmRun()).toMatchObject({ kind: "io", port: 0x20 });
    expect(seenBy[0]).not.toBe(seenBy[1]);
  });
});

describe("KVM_EXIT_TDX", () => {
  it("GetQuote: exit with the canonical buffer GPA and ret preset SUBFUNC_UNSUPPORTED; userspace's ret reaches R10", () => {
    const t = TdFixture.runnable();
    const g = t.guest;
    t.setAttributes(0x10_0000, 0x2000, false);
    g.script(tdvmcall(0x10002, BigInt(SHARED + 0x10_0000), 0x2000n), recordR10R11(g), spin);
    const exit = t.vcpu().kvmRun();
    expect(exit).toMatchObject({ kind: "tdx", call: "getQuote", gpa: 0x10_0000n, size: 0x2000n });
    expect(t.vcpu().run.tdx.ret).toBe(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
    t.vcpu().run.tdx.ret = TdVmCallStatus.SUCCESS;
    expect(t.vcpu().kvmRun()).toEqual({ kind: "intr" });
    expect(g.seen[0]).toBe(0n);
  });
});
