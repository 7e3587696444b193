// KVM_RUN of a normal VM on the x86 core, through the raw face: a long-mode guest set up with
// KVM_SET_SREGS like classic KVM selftests (test/normal-fixture.ts), and each exit in kvm_run bytes.

import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  KVM_ENABLE_CAP,
  KVM_EXIT_HYPERCALL_LONG_MODE,
  KVM_GET_MP_STATE,
  KVM_GET_SUPPORTED_CPUID,
  KVM_SET_CPUID2,
  KVM_X86_SET_MSR_FILTER,
  KvmCap,
  KvmExit,
  KvmHc,
  KvmInternalError,
  KvmMem,
  KvmMpState,
  KvmMsrExitReason,
  KvmMsrFilter,
  kvmCpuid2Header,
  kvmEnableCap,
  kvmMsrFilter,
  VMX_ENTRY_FAILURE_INVALID_GUEST_STATE,
  type Vm,
} from "../src/index.js";
import { ARGS, CODE, MMIO, NormalVmFixture, VECTOR_PORT } from "./normal-fixture.js";

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe("KVM_RUN of a normal VM: port I/O", () => {
  it("OUT exits with KVM_EXIT_IO, the data at run + data_offset; RIP stays at OUT until the next KVM_RUN", () => {
    const t = new NormalVmFixture();
    t.load("mov eax, 0x12345678\nout 0x80, eax\nout_done: hlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.IO);
    const io = t.io;
    expect({
      direction: io.direction,
      size: io.size,
      port: io.port,
      count: io.count,
      dataOffset: io.dataOffset,
    }).toEqual({ direction: 1, size: 4, port: 0x80, count: 1, dataOffset: 4096 });
    expect(dv(io.data).getUint32(0, true)).toBe(0x12345678);
    expect(t.getRegs().rip).toBe(BigInt(CODE + 5)); // still at the OUT
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
    expect(t.getRegs().rip).toBe(t.labels.get("out_done")! + 1n);
  });

  it("IN takes the data userspace wrote at data_offset on the next KVM_RUN", () => {
    const t = new NormalVmFixture();
    t.load("in ax, 0x60\nadd eax, 1\nout 0x81, ax\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.IO);
    expect(t.io.direction).toBe(0);
    expect(t.io.size).toBe(2);
    dv(t.io.data).setUint16(0, 0xbeef, true);
    expect(t.expectOut(0x81, 2)).toBe(0xbef0);
  });

  it("REP OUTSB exits once per byte (count 1); REP INSB reads ahead (count = RCX) into guest memory", () => {
    const t = new NormalVmFixture();
    t.load(`
      lea rsi, [rip + msg]
      mov ecx, 3
      mov dx, 0x3f8
      rep outsb
      lea rdi, [rip + buf]
      mov ecx, 4
      rep insb
      mov eax, [rip + buf]
      out 0x90, eax
      hlt
      msg: .ascii "abc"
      buf: .long 0`);
    for (const ch of "abc") {
      expect(t.kvmRun()).toBe(0);
      expect(t.io.count).toBe(1);
      expect(t.io.port).toBe(0x3f8);
      expect(String.fromCharCode(t.io.data[0]!)).toBe(ch);
    }
    expect(t.kvmRun()).toBe(0);
    expect({ dir: t.io.direction, count: t.io.count, size: t.io.size }).toEqual({
      dir: 0,
      count: 4,
      size: 1,
    });
    t.io.data.set([1, 2, 3, 4]);
    expect(t.expectOut(0x90)).toBe(0x04030201);
  });

  it("OUT to port 0x7e exits with RIP already past it (KVM_X86_QUIRK_OUT_7E_INC_RIP)", () => {
    const t = new NormalVmFixture();
    t.load("out 0x7e, al\nafter: hlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.io.port).toBe(0x7e);
    expect(t.getRegs().rip).toBe(t.labels.get("after")!);
  });

  it("KVM_SET_REGS moving RIP drops a pending IN (complete_fast_pio_in checks the RIP)", () => {
    const t = new NormalVmFixture();
    t.load("in al, 0x60\nhlt\nother: mov eax, 7\nout 0x91, eax\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.setRegs({ ...t.getRegs(), rip: t.labels.get("other")! })).toBe(0);
    expect(t.expectOut(0x91)).toBe(7);
  });
});

describe("KVM_RUN of a normal VM: MMIO", () => {
  it("a write to a GPA without memslot exits KVM_EXIT_MMIO; a read completes with mmio.data on the next KVM_RUN", () => {
    const t = new NormalVmFixture();
    t.load(`
      mov rax, ${MMIO}
      mov dword ptr [rax], 0xdeadbeef
      mov eax, [rax + 8]
      out 0x82, eax
      hlt`);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.MMIO);
    let m = t.mmio;
    expect({ pa: m.physAddr, len: m.len, w: m.isWrite }).toEqual({ pa: BigInt(MMIO), len: 4, w: 1 });
    expect(dv(m.data).getUint32(0, true)).toBe(0xdeadbeef);
    expect(t.kvmRun()).toBe(0);
    m = t.mmio;
    expect({ reason: t.exitReason, pa: m.physAddr, len: m.len, w: m.isWrite }).toEqual({
      reason: KvmExit.MMIO,
      pa: BigInt(MMIO + 8),
      len: 4,
      w: 0,
    });
    dv(m.data).setUint32(0, 0xcafef00d, true);
    expect(t.expectOut(0x82)).toBe(0xcafef00d);
  });

  it("a 16-byte access exits in two 8-byte fragments, as kvm_run.mmio.data holds 8 bytes", () => {
    const t = new NormalVmFixture();
    t.load(`
      mov rax, ${MMIO}
      movdqu xmm0, [rax]
      movq rax, xmm0
      out 0x83, eax
      hlt`);
    for (const [pa, fill] of [
      [MMIO, 0x11],
      [MMIO + 8, 0x22],
    ] as const) {
      expect(t.kvmRun()).toBe(0);
      expect(t.exitReason).toBe(KvmExit.MMIO);
      expect(t.mmio.physAddr).toBe(BigInt(pa));
      expect(t.mmio.len).toBe(8);
      t.mmio.data.fill(fill);
    }
    expect(t.expectOut(0x83)).toBe(0x11111111);
  });
});

describe("KVM_RUN of a normal VM: HLT, SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR", () => {
  it("HLT without an in-kernel LAPIC exits KVM_EXIT_HLT; mp_state stays RUNNABLE and the guest continues", () => {
    const t = new NormalVmFixture();
    t.load("hlt\nmov eax, 5\nout 0x84, eax\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
    expect(t.ioctl(KVM_GET_MP_STATE, ARGS)).toBe(0);
    expect(t.p.userMemory.read32(ARGS)).toBe(KvmMpState.RUNNABLE);
    expect(t.expectOut(0x84)).toBe(5);
  });

  it("an exception with no usable IDT triple-faults: KVM_EXIT_SHUTDOWN", () => {
    const t = new NormalVmFixture();
    t.load("ud2");
    expect(t.setSregs({ ...t.getSregs(), idt: { base: 0n, limit: 0, padding: [0, 0, 0] } })).toBe(0);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.SHUTDOWN);
  });

  it("an exception with the fixture's IDT reaches the guest's handler", () => {
    const t = new NormalVmFixture();
    t.load("ud2");
    expect(t.expectOut(VECTOR_PORT)).toBe(6);
  });

  it("a state KVM_SET_SREGS accepts but VM entry refuses (CS.L and CS.D in long mode) → KVM_EXIT_FAIL_ENTRY 0x80000021", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    const s = t.getSregs();
    expect(t.setSregs({ ...s, cs: { ...s.cs, db: 1 } })).toBe(0);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.FAIL_ENTRY);
    expect(t.view.getBigUint64(32, true)).toBe(VMX_ENTRY_FAILURE_INVALID_GUEST_STATE);
    // fixing the state lets the guest run
    expect(t.setSregs(s)).toBe(0);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
  });

  it("reserved RFLAGS bits from KVM_SET_REGS are kept and fail VM entry", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    expect(t.setRegs({ ...t.getRegs(), rflags: 0x2n | (1n << 40n) })).toBe(0);
    expect(t.getRegs().rflags).toBe(0x2n | (1n << 40n));
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.FAIL_ENTRY);
  });

  it("an instruction the CPU does not execute → KVM_EXIT_INTERNAL_ERROR, suberror EMULATION, with the instruction bytes", () => {
    const t = new NormalVmFixture();
    t.load("paddb mm0, mm1"); // MMX: the core stops "unsupported" after its #UD/#NM checks
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.INTERNAL_ERROR);
    const v = t.view;
    expect(v.getUint32(32, true)).toBe(KvmInternalError.EMULATION);
    expect(v.getUint32(36, true)).toBe(8); // ndata
    expect(v.getBigUint64(40, true)).toBe(1n); // KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES
    expect(t.run[48]).toBe(3); // insn_size
    expect([...t.run.subarray(49, 52)]).toEqual([0x0f, 0xfc, 0xc1]);
    expect(t.run[52]).toBe(0x90);
  });

  it("a fresh vCPU starts in real mode at the reset vector, which the core does not run: EMULATION", () => {
    const t = new NormalVmFixture();
    expect(t.getRegs().rip).toBe(0xfff0n);
    expect(t.getSregs().cs.base).toBe(0xffff0000n);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.INTERNAL_ERROR);
  });
});

describe("KVM_RUN of a normal VM: budget, immediate_exit, CPUID, hypercalls", () => {
  it("the instruction budget ends KVM_RUN with -EINTR / KVM_EXIT_INTR; re-running continues", () => {
    const t = new NormalVmFixture();
    t.load("mov ecx, 100000\nspin: dec ecx\njnz spin\nout 0x85, eax\nhlt");
    t.p.file(t.vcpuFd);
    const vcpu = t.p.file(t.vcpuFd) as import("../src/index.js").Vcpu;
    vcpu.setRunBudget(1000);
    expect(t.kvmRun()).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(t.exitReason).toBe(KvmExit.INTR);
    let rounds = 1;
    while (t.kvmRun() === -1) rounds++;
    expect(rounds).toBeGreaterThan(100);
    expect(t.io.port).toBe(0x85);
  });

  it("immediate_exit completes a pending IN, then returns -EINTR without entering the guest", () => {
    const t = new NormalVmFixture();
    t.load("in al, 0x60\nout 0x86, al\nhlt");
    expect(t.kvmRun()).toBe(0);
    t.io.data[0] = 0x5a;
    t.run[1] = 1;
    expect(t.kvmRun()).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINTR);
    expect(Number(t.getRegs().rax & 0xffn)).toBe(0x5a);
    t.run[1] = 0;
    expect(t.expectOut(0x86, 1)).toBe(0x5a);
  });

  it("CPUID is answered from KVM_SET_CPUID2 without an exit", () => {
    const t = new NormalVmFixture();
    const room = 64 * 40 + 8;
    t.p.userMemory.writeBytes(ARGS, kvmCpuid2Header.encode({ nent: 64, padding: 0 }));
    expect(t.p.ioctl(t.kvmFd, KVM_GET_SUPPORTED_CPUID, ARGS)).toBe(0);
    const supported = t.p.userMemory.readBytes(ARGS, room);
    t.p.userMemory.writeBytes(ARGS, supported);
    expect(t.ioctl(KVM_SET_CPUID2, ARGS)).toBe(0);
    t.load(
      "xor eax, eax\ncpuid\nmov eax, ebx\nout 0x87, eax\nmov eax, 0x40000000\ncpuid\nmov eax, ebx\nout 0x87, eax\nhlt",
    );
    expect(t.expectOut(0x87)).toBe(0x756e6547); // "Genu"
    expect(t.expectOut(0x87)).toBe(0x4b4d564b); // "KVMK"
  });

  it("CPUID reflects CR4.OSXSAVE and APIC_BASE.EN at run time (kvm_update_cpuid_runtime)", () => {
    const t = new NormalVmFixture();
    (t.p.file(t.vcpuFd) as import("../src/index.js").Vcpu).setCpuid2(t.p.openKvm().getSupportedCpuid(256));
    t.load(`
      mov eax, 1
      cpuid
      mov eax, ecx
      out 0x8b, eax
      mov eax, edx
      out 0x8b, eax
      mov rax, cr4
      bts rax, 18
      mov cr4, rax
      mov eax, 1
      cpuid
      mov eax, ecx
      out 0x8b, eax
      hlt`);
    expect((t.expectOut(0x8b) >>> 27) & 1).toBe(0); // OSXSAVE clear
    expect((t.expectOut(0x8b) >>> 9) & 1).toBe(1); // APIC: APIC_BASE.EN is set at reset
    expect((t.expectOut(0x8b) >>> 27) & 1).toBe(1); // after MOV CR4
  });

  it("VMCALL: -KVM_ENOSYS in RAX unless the hypercall exits; KVM_HC_MAP_GPA_RANGE exits once enabled", () => {
    const t = new NormalVmFixture();
    const src = `
      mov eax, ${KvmHc.MAP_GPA_RANGE}
      mov ebx, 0x200000
      mov ecx, 16
      mov edx, 0x10
      vmcall
      out 0x88, eax
      hlt`;
    t.load(src);
    expect(t.expectOut(0x88)).toBe(-1000 >>> 0);
    expect(t.getRegs().rax).toBe((1n << 64n) - 1000n);

    const t2 = new NormalVmFixture();
    t2.p.userMemory.writeBytes(
      ARGS,
      kvmEnableCap.encode({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << 12n, 0n, 0n, 0n] }),
    );
    expect(t2.p.ioctl(t2.vmFd, KVM_ENABLE_CAP, ARGS)).toBe(0);
    t2.load(src);
    expect(t2.kvmRun()).toBe(0);
    expect(t2.exitReason).toBe(KvmExit.HYPERCALL);
    const v = t2.view;
    expect(v.getBigUint64(32, true)).toBe(12n); // nr
    expect([v.getBigUint64(40, true), v.getBigUint64(48, true), v.getBigUint64(56, true)]).toEqual([
      0x200000n,
      16n,
      0x10n,
    ]);
    expect(v.getBigUint64(88, true)).toBe(0n); // ret
    expect(v.getBigUint64(96, true)).toBe(KVM_EXIT_HYPERCALL_LONG_MODE);
    v.setBigUint64(88, 7n, true);
    expect(t2.expectOut(0x88)).toBe(7);
  });
});

describe("KVM_RUN of a normal VM: hypercall argument rules", () => {
  it("MAP_GPA_RANGE: misaligned GPA, 0 pages or a wrapping range → -KVM_EINVAL; VAPIC_POLL_IRQ → 0; CPL 3 → -KVM_EPERM", () => {
    const t = new NormalVmFixture();
    t.p.userMemory.writeBytes(
      ARGS,
      kvmEnableCap.encode({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << 12n, 0n, 0n, 0n] }),
    );
    expect(t.p.ioctl(t.vmFd, KVM_ENABLE_CAP, ARGS)).toBe(0);
    t.load(`
      mov eax, 12
      mov ebx, 0x1001
      mov ecx, 1
      vmcall
      out 0x68, eax
      mov eax, 12
      xor ebx, ebx
      xor ecx, ecx
      vmcall
      out 0x68, eax
      mov eax, 12
      mov ebx, 0x2000
      mov rcx, -1
      vmcall
      out 0x68, eax
      mov eax, 1
      vmcall
      out 0x68, eax
      hlt`);
    for (let i = 0; i < 3; i++) expect(t.expectOut(0x68)).toBe(-22 >>> 0);
    expect(t.expectOut(0x68)).toBe(0);

    const u = new NormalVmFixture();
    u.load("mov eax, 1\nvmcall\nmov rbx, rax\nud2");
    const s = u.getSregs();
    expect(
      u.setSregs({ ...s, cs: { ...s.cs, dpl: 3, selector: 0x0b }, ss: { ...s.ss, dpl: 3, selector: 0x13 } }),
    ).toBe(0);
    expect(u.expectOut(VECTOR_PORT)).toBe(6);
    expect(u.getRegs().rbx).toBe(0xffff_ffff_ffff_ffffn); // -KVM_EPERM
  });
});

describe("KVM_RUN of a normal VM: MSR exits", () => {
  const filterDenying = (t: NormalVmFixture, index: number) => {
    const bitmap = 0x1100_0000;
    t.p.userMemory.writeBytes(bitmap, new Uint8Array(8)); // every bit 0: deny
    t.p.userMemory.writeBytes(
      ARGS,
      kvmMsrFilter.encode({
        flags: 0,
        ranges: [
          { flags: KvmMsrFilter.READ | KvmMsrFilter.WRITE, nmsrs: 1, base: index, bitmap: BigInt(bitmap) },
        ],
      }),
    );
    expect(t.p.ioctl(t.vmFd, KVM_X86_SET_MSR_FILTER, ARGS)).toBe(0);
  };
  const userSpaceMsr = (t: NormalVmFixture, mask: number) => {
    t.p.userMemory.writeBytes(
      ARGS,
      kvmEnableCap.encode({ cap: KvmCap.X86_USER_SPACE_MSR, args: [BigInt(mask), 0n, 0n, 0n] }),
    );
    expect(t.p.ioctl(t.vmFd, KVM_ENABLE_CAP, ARGS)).toBe(0);
  };

  it("a filtered RDMSR exits KVM_EXIT_X86_RDMSR (reason FILTER); msr.data becomes EDX:EAX", () => {
    const t = new NormalVmFixture();
    filterDenying(t, 0x10);
    userSpaceMsr(t, KvmMsrExitReason.FILTER);
    t.load("mov ecx, 0x10\nrdmsr\nout 0x89, eax\nmov eax, edx\nout 0x89, eax\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.X86_RDMSR);
    const v = t.view;
    expect(t.run[32]).toBe(0); // error
    expect(v.getUint32(40, true)).toBe(KvmMsrExitReason.FILTER);
    expect(v.getUint32(44, true)).toBe(0x10);
    v.setBigUint64(48, 0x1122334455667788n, true);
    expect(t.expectOut(0x89)).toBe(0x55667788);
    expect(t.expectOut(0x89)).toBe(0x11223344);
  });

  it("an unknown MSR exits with reason UNKNOWN when asked; msr.error = 1 injects #GP", () => {
    const t = new NormalVmFixture();
    userSpaceMsr(t, KvmMsrExitReason.UNKNOWN);
    t.load("mov ecx, 0x12345\nmov eax, 1\nxor edx, edx\nwrmsr\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.X86_WRMSR);
    expect(t.view.getUint32(40, true)).toBe(KvmMsrExitReason.UNKNOWN);
    expect(t.view.getBigUint64(48, true)).toBe(1n);
    t.run[32] = 1;
    expect(t.expectOut(VECTOR_PORT)).toBe(13);
  });

  it("msr.error = 1 with no usable IDT: the #GP triple-faults and the next KVM_RUN reports SHUTDOWN", () => {
    const t = new NormalVmFixture();
    userSpaceMsr(t, KvmMsrExitReason.UNKNOWN);
    t.load("mov ecx, 0x12345\nrdmsr\nhlt");
    expect(t.setSregs({ ...t.getSregs(), idt: { base: 0n, limit: 0, padding: [0, 0, 0] } })).toBe(0);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.X86_RDMSR);
    t.run[32] = 1;
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.SHUTDOWN);
  });

  it("without KVM_CAP_X86_USER_SPACE_MSR a filtered access is #GP in the guest; the core's MSRs run in-kernel", () => {
    const t = new NormalVmFixture();
    filterDenying(t, 0x10);
    t.load(
      "mov ecx, 0xc0000082\nmov eax, 0x1000\nxor edx, edx\nwrmsr\nrdmsr\nout 0x8a, eax\nmov ecx, 0x10\nrdmsr\nhlt",
    );
    expect(t.expectOut(0x8a)).toBe(0x1000);
    expect(t.expectOut(VECTOR_PORT)).toBe(13);
  });
});

describe("KVM_RUN of a normal VM: the VMM rewrites guest code", () => {
  it("new code written into guest RAM and a KVM_SET_REGS later, the guest runs the new code", () => {
    const t = new NormalVmFixture();
    t.load("mov eax, 1\nout 0x60, eax\nhlt");
    expect(t.expectOut(0x60)).toBe(1);
    t.load("mov eax, 2\nout 0x61, eax\nhlt"); // same GPA, new bytes
    expect(t.expectOut(0x61)).toBe(2);
  });
});

describe("KVM_RUN of a normal VM: memslot flags", () => {
  it("a KVM_MEM_READONLY slot reads from memory and turns writes into MMIO exits", () => {
    const t = new NormalVmFixture();
    const vm = t.p.file(t.vmFd) as Vm;
    vm.setUserMemoryRegion({
      slot: 1,
      flags: KvmMem.READONLY,
      guestPhysAddr: 0x80_0000n,
      memorySize: 0x1000n,
      userspaceAddr: 0x5000_0000n,
    });
    t.p.userMemory.write32(0x5000_0000, 0x600d);
    // identity-map the slot's page for the guest, next to the fixture's 4 MiB
    t.load(`
      mov rbx, 0x800000
      mov eax, [rbx]
      out 0x63, eax
      mov dword ptr [rbx + 4], 0x1234
      hlt`);
    // the fixture maps [0, 4 MiB): extend with a 2 MiB page at 8 MiB in the same page directory
    const pd = t.readGpa(t.cr3, 8);
    const pdpt = Number(new DataView(pd.buffer).getBigUint64(0, true) & 0xffffffff000n);
    const pdAddr = Number(new DataView(t.readGpa(pdpt, 8).buffer).getBigUint64(0, true) & 0xffffffff000n);
    const entry = new Uint8Array(8);
    new DataView(entry.buffer).setBigUint64(0, 0x800000n | 0x83n, true);
    t.writeGpa(pdAddr + 4 * 8, entry);
    expect(t.expectOut(0x63)).toBe(0x600d);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.MMIO);
    expect(t.mmio.physAddr).toBe(0x800004n);
    expect(t.mmio.isWrite).toBe(1);
    expect(t.p.userMemory.read32(0x5000_0004)).toBe(0);
  });

  it("KVM_MEM_LOG_DIRTY_PAGES: pages the guest wrote show up in KVM_GET_DIRTY_LOG", () => {
    const t = new NormalVmFixture();
    const vm = t.p.file(t.vmFd) as Vm;
    vm.setUserMemoryRegion({
      slot: 0,
      flags: KvmMem.LOG_DIRTY_PAGES,
      guestPhysAddr: 0n,
      memorySize: 4n << 20n,
      userspaceAddr: 0x4000_0000n,
    });
    t.load("mov rbx, 0x305000\nmov dword ptr [rbx], 1\nmov dword ptr [rbx + 0x2000], 1\nhlt");
    vm.getDirtyLog(0); // start from a clean log
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
    const bitmap = vm.getDirtyLog(0);
    const dirty = [...bitmap].flatMap((b, i) =>
      [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => (b >> k) & 1).map((k) => i * 8 + k),
    );
    expect(dirty).toContain(0x305);
    expect(dirty).toContain(0x307);
    expect(dirty).not.toContain(0x306);
  });
});

describe("a KVM-selftest-style ucall on a normal VM", () => {
  it("the guest fills a ucall struct and does IN on port 0x1000 with RDI = its address; the host reads RDI and the struct", () => {
    const t = new NormalVmFixture();
    t.load(`
      lea rdi, [rip + uc]
      mov qword ptr [rdi], 1          # UCALL_SYNC
      mov qword ptr [rdi + 8], 42     # args[0]
      mov dx, 0x1000
      in al, dx
      mov qword ptr [rdi], 4          # UCALL_DONE
      in al, dx
      hlt
      .balign 8
      uc: .quad 0, 0`);
    const ucall = () => {
      expect(t.kvmRun()).toBe(0);
      expect({ reason: t.exitReason, port: t.io.port, dir: t.io.direction }).toEqual({
        reason: KvmExit.IO,
        port: 0x1000,
        dir: 0,
      });
      const rdi = Number(t.getRegs().rdi);
      const v = dv(t.readGpa(rdi, 16)); // addr_gva2hva: identity-mapped here
      return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
    };
    expect(ucall()).toEqual([1n, 42n]);
    expect(ucall()).toEqual([4n, 42n]);
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
  });
});

describe("normal VM: several vCPUs and memslot changes", () => {
  it("two vCPUs share guest RAM: what vCPU 1 stores, vCPU 0 loads", () => {
    const t = new NormalVmFixture();
    const vm = t.p.file(t.vmFd) as Vm;
    const vcpu0 = t.p.file(t.vcpuFd) as import("../src/index.js").Vcpu;
    const vcpu1 = vm.createVcpu(1);
    t.load(`
      mov rbx, 0x300000
      mov eax, [rbx]
      out 0x6a, eax
      hlt
      writer:
      mov rbx, 0x300000
      mov dword ptr [rbx], 0x5eed
      hlt`);
    expect(vcpu1.getSregs().apic_base & 0x100n).toBe(0n); // BSP flag only on vCPU 0
    expect(vcpu0.getSregs().apic_base & 0x100n).toBe(0x100n);
    vcpu1.setSregs({ ...t.longModeSregs(), apic_base: vcpu1.getSregs().apic_base });
    vcpu1.setRegs({ ...vcpu1.getRegs(), rip: t.labels.get("writer")!, rsp: 0x1e0000n, rflags: 2n });
    expect(vcpu1.kvmRun()).toEqual({ kind: "hlt" });
    expect(vcpu0.kvmRun()).toMatchObject({ kind: "io", port: 0x6a });
    expect(vcpu0.getRegs().rax).toBe(0x5eedn);
  });

  it("deleting a memslot between runs turns its GPAs into MMIO", () => {
    const t = new NormalVmFixture();
    const vm = t.p.file(t.vmFd) as Vm;
    vm.setUserMemoryRegion({
      slot: 2,
      flags: 0,
      guestPhysAddr: 0xc000_0000n,
      memorySize: 0x1000n,
      userspaceAddr: 0x6000_0000n,
    });
    t.p.userMemory.write32(0x6000_0000, 0x1111);
    t.load(`
      mov rbx, ${MMIO}
      mov eax, [rbx]
      out 0x6b, eax
      mov eax, [rbx]
      out 0x6b, eax
      hlt`);
    expect(t.expectOut(0x6b)).toBe(0x1111); // RAM: the slot backs the MMIO window's page
    vm.setUserMemoryRegion({
      slot: 2,
      flags: 0,
      guestPhysAddr: 0xc000_0000n,
      memorySize: 0n,
      userspaceAddr: 0x6000_0000n,
    });
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.MMIO);
    expect(t.mmio.physAddr).toBe(BigInt(MMIO));
  });
});

describe("normal VM: MAXPHYADDR from the vCPU's CPUID", () => {
  /** Point the fixture's 4 KiB MMIO-window PTE at `gpa`. */
  function remapMmioWindow(t: NormalVmFixture, gpa: bigint): void {
    let table = BigInt(t.cr3);
    for (const shift of [39n, 30n, 21n]) {
      const at = Number(table + ((BigInt(MMIO) >> shift) & 511n) * 8n);
      table = new DataView(t.readGpa(at, 8).buffer).getBigUint64(0, true) & 0xf_ffff_ffff_f000n;
    }
    const pte = new Uint8Array(8);
    new DataView(pte.buffer).setBigUint64(0, gpa | 0x7n, true);
    t.writeGpa(Number(table + ((BigInt(MMIO) >> 12n) & 511n) * 8n), pte);
  }
  const guest = `mov rbx, ${MMIO}\nmov eax, [rbx]\nhlt`;

  it("without KVM_SET_CPUID2 it is 36: a PTE naming GPA 2^40 has reserved bits (#PF)", () => {
    const t = new NormalVmFixture();
    remapMmioWindow(t, 1n << 40n);
    t.load(guest);
    expect(t.expectOut(VECTOR_PORT)).toBe(14);
  });

  it("with CPUID 0x80000008 saying 52 (set before the first KVM_RUN), GPA 2^40 is just MMIO", () => {
    const t = new NormalVmFixture();
    remapMmioWindow(t, 1n << 40n);
    t.load(guest); // the vCPU's core exists already: SET_CPUID2 must still reconfigure it
    (t.p.file(t.vcpuFd) as import("../src/index.js").Vcpu).setCpuid2(t.p.openKvm().getSupportedCpuid(256));
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.MMIO);
    expect(t.mmio.physAddr).toBe(1n << 40n);
  });
});
