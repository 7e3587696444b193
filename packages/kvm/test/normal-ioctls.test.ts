// The register, MSR, CPUID and event ioctls of normal vCPUs and /dev/kvm: success and errno paths
// through the raw face (structs in user memory), with the typed face over the same state.
import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  executedFeatures,
  FEATURE_BITS,
  KVM_ENABLE_CAP,
  KVM_GET_DEBUGREGS,
  KVM_GET_EMULATED_CPUID,
  KVM_GET_FPU,
  KVM_GET_MP_STATE,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_INTERRUPT,
  KVM_NMI,
  KVM_SET_CPUID2,
  KVM_SET_DEBUGREGS,
  KVM_SET_FPU,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
  KvmCap,
  type KvmCpuidEntry2,
  KvmExit,
  KvmMpState,
  KvmVcpuEventValid,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmDebugregs,
  kvmEnableCap,
  kvmFpu,
  kvmInterrupt,
  kvmMpState,
  kvmMsrEntry,
  kvmMsrsHeader,
  kvmVcpuEvents,
  kvmXcrs,
  msrIndexList,
  supportedCpuid,
  type Vcpu,
} from "../src/index.js";
import { ARGS, NormalVmFixture, VECTOR_PORT } from "./normal-fixture.js";
import { TdFixture } from "./td-fixture.js";

const LSTAR = 0xc0000082;
const STAR = 0xc0000081;

function writeCpuid(t: NormalVmFixture, entries: readonly KvmCpuidEntry2[]): void {
  t.p.userMemory.writeBytes(ARGS, kvmCpuid2Header.encode({ nent: entries.length, padding: 0 }));
  entries.forEach((e, i) => {
    t.p.userMemory.writeBytes(ARGS + 8 + i * kvmCpuidEntry2.size, kvmCpuidEntry2.encode(e));
  });
}

function readCpuid(t: NormalVmFixture): KvmCpuidEntry2[] {
  const { nent } = kvmCpuid2Header.decode(t.p.userMemory.readBytes(ARGS, 8));
  return Array.from({ length: nent }, (_, i) =>
    kvmCpuidEntry2.decode(t.p.userMemory.readBytes(ARGS + 8 + i * kvmCpuidEntry2.size, kvmCpuidEntry2.size)),
  );
}

describe("KVM_GET/SET_REGS and KVM_GET/SET_SREGS", () => {
  it("round-trip through the structs; RFLAGS bit 1 is forced", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    const regs = { ...t.getRegs(), rax: 0x1122334455667788n, r15: 0xffff_ffff_ffff_fffen, rflags: 0n };
    expect(t.setRegs(regs)).toBe(0);
    expect(t.getRegs()).toEqual({ ...regs, rflags: 2n });
    const s = t.getSregs();
    expect(s.cs.l).toBe(1);
    expect(s.efer).toBe(0xd00n);
    expect(s.tr.type).toBe(11);
    expect(s.ldt.unusable).toBe(1);
  });

  it("bad pointers are EFAULT", () => {
    const t = new NormalVmFixture();
    for (const r of [KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS]) {
      expect(t.ioctl(r, 0x100)).toBe(-1); // below mmap_min_addr: never mapped
      expect(t.p.errno).toBe(Errno.EFAULT);
    }
  });

  it("KVM_SET_SREGS refuses what kvm_is_valid_sregs / kvm_apic_set_base refuse, naming the rule", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    const s = t.longModeSregs();
    const cases: [string, typeof s, RegExp][] = [
      ["LME+PG without PAE", { ...s, cr4: 0n }, /CR4.PAE/],
      ["LME+PG without LMA", { ...s, efer: 0x100n }, /EFER.LMA is clear/],
      ["LMA outside long mode", { ...s, cr0: 0x11n, efer: 0x400n }, /EFER.LMA is set outside/],
      ["cs.l outside long mode", { ...s, cr0: 0x11n, efer: 0n }, /cs.l/],
      ["VMXE is not offered", { ...s, cr4: s.cr4 | (1n << 13n) }, /reserved or CPUID-absent/],
      ["OSXSAVE needs XSAVE in CPUID", { ...s, cr4: s.cr4 | (1n << 18n) }, /reserved or CPUID-absent/],
      ["NW without CD", { ...s, cr0: s.cr0 | (1n << 29n) }, /NW without CD/],
      ["PG without PE", { ...s, cr0: (s.cr0 & ~1n) | (1n << 31n) }, /PG without PE/],
      ["CR3 above MAXPHYADDR (36 without CPUID)", { ...s, cr3: 1n << 40n }, /MAXPHYADDR/],
      ["apic_base reserved bits", { ...s, apic_base: s.apic_base | 0x1n }, /apic_base/],
      ["apic_base x2APIC without CPUID x2APIC", { ...s, apic_base: s.apic_base | 0x400n }, /apic_base/],
    ];
    for (const [what, sregs, message] of cases) {
      expect(t.setSregs(sregs), what).toBe(-1);
      expect(t.p.errno, what).toBe(Errno.EINVAL);
      expect(t.p.lastError?.message, what).toMatch(message);
    }
    // the CPUID model decides: with XSAVE advertised, CR4.OSXSAVE is fine
    writeCpuid(t, supportedCpuid());
    expect(t.ioctl(KVM_SET_CPUID2, ARGS)).toBe(0);
    expect(t.setSregs({ ...s, cr4: s.cr4 | (1n << 18n) })).toBe(0);
  });

  it("CR8 with reserved bits is ignored (kvm_set_cr8 fails silently inside KVM_SET_SREGS); 0..15 is taken", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    const s = t.longModeSregs();
    expect(t.setSregs({ ...s, cr8: 9n })).toBe(0);
    expect(t.getSregs().cr8).toBe(9n);
    expect(t.setSregs({ ...s, cr8: 0x10n })).toBe(0);
    expect(t.getSregs().cr8).toBe(9n);
  });

  it("a segment that is not present becomes unusable (vmx_set_segment), and reads back that way", () => {
    const t = new NormalVmFixture();
    t.load("hlt");
    const s = t.longModeSregs();
    expect(t.setSregs({ ...s, fs: { ...s.fs, present: 0 } })).toBe(0);
    const fs = t.getSregs().fs;
    expect({ unusable: fs.unusable, present: fs.present, type: fs.type }).toEqual({
      unusable: 1,
      present: 0,
      type: 0,
    });
  });

  it("interrupt_bitmap queues an interrupt: KVM_GET_SREGS shows it until the guest takes it", () => {
    const t = new NormalVmFixture();
    t.load("sti\nnop\nhlt");
    const bitmap = [0n, 1n << 1n, 0n, 0n]; // vector 65
    expect(t.setSregs({ ...t.getSregs(), interrupt_bitmap: bitmap })).toBe(0);
    expect(t.getSregs().interrupt_bitmap).toEqual(bitmap);
    expect(t.expectOut(VECTOR_PORT)).toBe(65);
    expect(t.getSregs().interrupt_bitmap).toEqual([0n, 0n, 0n, 0n]);
  });
});

describe("KVM_GET/SET_MSRS and KVM_GET_MSR_INDEX_LIST", () => {
  const putMsrs = (t: NormalVmFixture, entries: { index: number; data: bigint }[]) => {
    t.p.userMemory.writeBytes(ARGS, kvmMsrsHeader.encode({ nmsrs: entries.length, pad: 0 }));
    entries.forEach((e, i) => {
      t.p.userMemory.writeBytes(
        ARGS + 8 + 16 * i,
        kvmMsrEntry.encode({ index: e.index, reserved: 0, data: e.data }),
      );
    });
  };
  const readMsrData = (t: NormalVmFixture, i: number) => t.p.userMemory.readBytes(ARGS + 8 + 16 * i + 8, 8);

  it("return the number of entries processed, stopping at the first MSR KVM cannot access", () => {
    const t = new NormalVmFixture();
    putMsrs(t, [
      { index: LSTAR, data: 0xffff_8000_0000_1000n },
      { index: STAR, data: 0x0023_0010_0000_0000n },
      { index: 0x12345, data: 1n },
      { index: LSTAR, data: 0n },
    ]);
    expect(t.ioctl(KVM_SET_MSRS, ARGS)).toBe(2);
    putMsrs(t, [
      { index: LSTAR, data: 0n },
      { index: STAR, data: 0n },
      { index: 0x12345, data: 0n },
    ]);
    expect(t.ioctl(KVM_GET_MSRS, ARGS)).toBe(2);
    const v = new DataView(readMsrData(t, 0).buffer);
    expect(v.getBigUint64(0, true)).toBe(0xffff_8000_0000_1000n);
    // a value the MSR refuses (LSTAR not canonical even for 57-bit linear addresses) stops the loop at 0
    putMsrs(t, [{ index: LSTAR, data: 0x0100_0000_0000_0000n }]);
    expect(t.ioctl(KVM_SET_MSRS, ARGS)).toBe(0);
    // the typed face over the same state
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(vcpu.getMsrs([STAR, 0x12345, LSTAR]).map((e) => e.data)).toEqual([0x0023_0010_0000_0000n]);
    expect(vcpu.setMsrs([{ index: LSTAR, data: 0x1000n }])).toBe(1);
  });

  it("nmsrs ≥ 256 is E2BIG; an unreadable entries array is EFAULT", () => {
    const t = new NormalVmFixture();
    t.p.userMemory.writeBytes(ARGS, kvmMsrsHeader.encode({ nmsrs: 256, pad: 0 }));
    expect(t.ioctl(KVM_GET_MSRS, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    expect(t.ioctl(KVM_SET_MSRS, 0x100)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
  });

  it("KVM_GET_MSR_INDEX_LIST writes the count back, then E2BIG if it does not fit", () => {
    const t = new NormalVmFixture();
    const n = msrIndexList().length;
    expect(n).toBeGreaterThan(5);
    t.p.userMemory.write32(ARGS, 1);
    expect(t.p.ioctl(t.kvmFd, KVM_GET_MSR_INDEX_LIST, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    expect(t.p.userMemory.read32(ARGS)).toBe(n);
    expect(t.p.ioctl(t.kvmFd, KVM_GET_MSR_INDEX_LIST, ARGS)).toBe(0);
    const indices = Array.from({ length: n }, (_, i) => t.p.userMemory.read32(ARGS + 4 + 4 * i) >>> 0);
    expect(indices).toEqual(msrIndexList());
    expect(t.p.openKvm().getMsrIndexList()).toEqual(indices);
    expect(indices).toContain(LSTAR);
    // every listed MSR can be read with KVM_GET_MSRS
    expect((t.p.file(t.vcpuFd) as Vcpu).getMsrs(indices)).toHaveLength(n);
  });
});

describe("KVM_GET_SUPPORTED_CPUID / KVM_GET_EMULATED_CPUID", () => {
  it("report a bit exactly when the x86 core executes the feature behind it", () => {
    const have = executedFeatures();
    const table = supportedCpuid();
    for (const b of FEATURE_BITS) {
      const e = table.find((x) => x.function === b.leaf && x.index === b.subleaf);
      const set = e !== undefined && ((e[b.reg] >>> b.bit) & 1) === 1;
      expect(set, b.name).toBe(have.has(b.name));
    }
    // some facts about today's core: integer SSE4.2-era instructions run, x87 does not
    expect(have.has("POPCNT")).toBe(true);
    expect(have.has("LM")).toBe(true);
    expect(have.has("FPU")).toBe(false);
    expect(table.find((e) => e.function === 0x80000008)!.eax & 0xff).toBe(52);
    // GuestPhysBits: the max addressable GPA with 5-level TDP (what KVM_TDX_INIT_VM takes as the GPAW)
    expect((table.find((e) => e.function === 0x80000008)!.eax >>> 16) & 0xff).toBe(52);
  });

  it("nent too small is E2BIG without write-back; enough room writes entries and nent", () => {
    const t = new NormalVmFixture();
    const n = supportedCpuid().length;
    t.p.userMemory.writeBytes(ARGS, kvmCpuid2Header.encode({ nent: n - 1, padding: 0 }));
    expect(t.p.ioctl(t.kvmFd, KVM_GET_SUPPORTED_CPUID, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    expect(t.p.userMemory.read32(ARGS)).toBe(n - 1);
    t.p.userMemory.writeBytes(ARGS, kvmCpuid2Header.encode({ nent: 300, padding: 0 }));
    expect(t.p.ioctl(t.kvmFd, KVM_GET_SUPPORTED_CPUID, ARGS)).toBe(0);
    expect(readCpuid(t)).toEqual(supportedCpuid());
  });

  it("KVM_GET_EMULATED_CPUID: padding must be zero (EINVAL), one spare slot is needed, MOVBE/RDPID as executed", () => {
    const t = new NormalVmFixture();
    writeCpuid(t, [{ ...supportedCpuid()[0]!, padding: [0, 1, 0] }, ...supportedCpuid().slice(1, 4)]);
    expect(t.p.ioctl(t.kvmFd, KVM_GET_EMULATED_CPUID, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
    t.p.userMemory.writeBytes(ARGS, new Uint8Array(8 + 4 * 40));
    t.p.userMemory.write32(ARGS, 3);
    expect(t.p.ioctl(t.kvmFd, KVM_GET_EMULATED_CPUID, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.E2BIG);
    t.p.userMemory.write32(ARGS, 4);
    expect(t.p.ioctl(t.kvmFd, KVM_GET_EMULATED_CPUID, ARGS)).toBe(0);
    const e = readCpuid(t);
    expect(e.map((x) => x.function)).toEqual([0, 1, 7]);
    expect(e[0]!.eax).toBe(7);
    expect((e[1]!.ecx >>> 22) & 1).toBe(executedFeatures().has("MOVBE") ? 1 : 0);
    expect((e[2]!.ecx >>> 22) & 1).toBe(executedFeatures().has("RDPID") ? 1 : 0);
  });
});

describe("KVM_INTERRUPT and KVM_NMI", () => {
  it("a userspace-irqchip interrupt waits for IF = 1; ready_for_interrupt_injection and if_flag say when", () => {
    const t = new NormalVmFixture();
    t.load("cli\nhlt\nsti\nnop\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.HLT);
    expect(t.run[13]).toBe(0); // if_flag
    expect(t.run[12]).toBe(0); // ready_for_interrupt_injection
    t.p.userMemory.writeBytes(ARGS, kvmInterrupt.encode({ irq: 0x40 }));
    expect(t.ioctl(KVM_INTERRUPT, ARGS)).toBe(0);
    expect(t.expectOut(VECTOR_PORT)).toBe(0x40); // delivered after STI's shadow
  });

  it("irq ≥ 256 is EINVAL; a bad pointer EFAULT", () => {
    const t = new NormalVmFixture();
    t.p.userMemory.writeBytes(ARGS, kvmInterrupt.encode({ irq: 256 }));
    expect(t.ioctl(KVM_INTERRUPT, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
    expect(t.ioctl(KVM_INTERRUPT, 0x10)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
  });

  it("KVM_NMI is taken even with IF = 0", () => {
    const t = new NormalVmFixture();
    t.load("cli\nhlt\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.ioctl(KVM_NMI, 0)).toBe(0);
    expect(t.expectOut(VECTOR_PORT)).toBe(2);
  });

  it("with a split irqchip HLT sleeps in the kernel: -EINTR and mp_state HALTED until an interrupt or RUNNABLE", () => {
    const t = new NormalVmFixture();
    t.p.userMemory.writeBytes(
      ARGS,
      kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n, 0n, 0n, 0n] }),
    );
    // SPLIT_IRQCHIP must come before vCPUs exist: use a fresh VM in the same process
    const vmFd = t.p.ioctl(t.kvmFd, 0xae01, 0);
    expect(t.p.ioctl(vmFd, KVM_ENABLE_CAP, ARGS)).toBe(0);
    const vm = t.p.file(vmFd) as import("../src/index.js").Vm;
    vm.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guestPhysAddr: 0n,
      memorySize: 4n << 20n,
      userspaceAddr: 0x4000_0000n,
    });
    const vcpu = vm.createVcpu(0);
    vcpu.setSregs(t.longModeSregs());
    vcpu.setRegs({ ...vcpu.getRegs(), rip: 0x100000n, rsp: 0x200000n, rflags: 0x202n });
    t.load("hlt\nmov eax, 9\nout 0x70, eax\nhlt"); // same guest RAM (same user memory)
    expect(vcpu.kvmRun()).toEqual({ kind: "intr" });
    expect(vcpu.getMpState()).toBe(KvmMpState.HALTED);
    expect(vcpu.kvmRun()).toEqual({ kind: "intr" });
    vcpu.setMpState(KvmMpState.RUNNABLE);
    const exit = vcpu.kvmRun();
    expect(exit.kind).toBe("io");
    if (exit.kind === "io") expect(exit.port).toBe(0x70);
    // raw mp_state of the fixture's vCPU (no irqchip) is RUNNABLE
    expect(t.ioctl(KVM_GET_MP_STATE, ARGS)).toBe(0);
    expect(kvmMpState.decode(t.p.userMemory.readBytes(ARGS, 4)).mp_state).toBe(KvmMpState.RUNNABLE);
    t.p.userMemory.write32(ARGS, KvmMpState.HALTED);
    expect(t.ioctl(KVM_SET_MP_STATE, ARGS)).toBe(-1);
  });
});

describe("request_interrupt_window and KVM_GET/SET_DEBUGREGS", () => {
  it("request_interrupt_window exits KVM_EXIT_IRQ_WINDOW_OPEN at the first boundary after STI's shadow", () => {
    const t = new NormalVmFixture();
    t.load("cli\nmov eax, 1\nmov eax, 2\nsti\nafter_sti: nop\nafter_nop: hlt");
    t.run[0] = 1; // request_interrupt_window
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.IRQ_WINDOW_OPEN);
    expect(t.getRegs().rip).toBe(t.labels.get("after_nop")!); // STI blocks until the NOP retired
    expect(t.run[12]).toBe(1); // ready_for_interrupt_injection
    expect(t.run[13]).toBe(1); // if_flag
    // an open window with the request still set: exit before any instruction
    expect(t.kvmRun()).toBe(0);
    expect(t.exitReason).toBe(KvmExit.IRQ_WINDOW_OPEN);
    expect(t.getRegs().rip).toBe(t.labels.get("after_nop")!);
    t.p.userMemory.writeBytes(ARGS, kvmInterrupt.encode({ irq: 0x30 }));
    expect(t.ioctl(KVM_INTERRUPT, ARGS)).toBe(0);
    t.run[0] = 0;
    expect(t.expectOut(VECTOR_PORT)).toBe(0x30);
  });

  it("KVM_SET_DEBUGREGS checks flags and DR6/DR7 bits 63:32; DR6/DR7 read back with their fixed bits", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    const d = vcpu.getDebugRegs();
    expect(d.dr6).toBe(0xffff0ff0n);
    expect(d.dr7).toBe(0x400n);
    vcpu.setDebugRegs({ ...d, db: [1n, 2n, 3n, 0xffff_8000_0000_0000n], dr7: 0x3n });
    expect(vcpu.getDebugRegs()).toMatchObject({ db: [1n, 2n, 3n, 0xffff_8000_0000_0000n], dr7: 0x403n });
    t.p.userMemory.writeBytes(ARGS, kvmDebugregs.encode({ ...d, flags: 1n }));
    expect(t.ioctl(KVM_SET_DEBUGREGS, ARGS)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
    t.p.userMemory.writeBytes(ARGS, kvmDebugregs.encode({ ...d, dr7: 1n << 32n }));
    expect(t.ioctl(KVM_SET_DEBUGREGS, ARGS)).toBe(-1);
    expect(t.p.lastError?.field).toBe("kvm_debugregs.dr7");
    expect(t.ioctl(KVM_GET_DEBUGREGS, ARGS)).toBe(0);
    expect(kvmDebugregs.decode(t.p.userMemory.readBytes(ARGS, kvmDebugregs.size)).db[3]).toBe(
      0xffff_8000_0000_0000n,
    );
  });
});

describe("KVM_GET/SET_FPU", () => {
  it("XMM registers and MXCSR travel through kvm_fpu; the guest sees what KVM_SET_FPU wrote", () => {
    const t = new NormalVmFixture();
    t.load("movq rax, xmm3\nout 0x62, eax\nstmxcsr [rsp - 8]\nmov eax, [rsp - 8]\nout 0x62, eax\nhlt");
    expect(t.ioctl(KVM_GET_FPU, ARGS)).toBe(0);
    const f = kvmFpu.decode(t.p.userMemory.readBytes(ARGS, kvmFpu.size));
    expect(f.mxcsr).toBe(0x1f80);
    expect(f.fcw).toBe(0x37f);
    f.xmm.set([0xef, 0xbe, 0xad, 0xde], 3 * 16);
    f.mxcsr = 0x1f80 | 0x40; // DAZ
    t.p.userMemory.writeBytes(ARGS, kvmFpu.encode(f));
    expect(t.ioctl(KVM_SET_FPU, ARGS)).toBe(0);
    expect(t.expectOut(0x62)).toBe(0xdeadbeef);
    expect(t.expectOut(0x62)).toBe(0x1fc0);
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(() => vcpu.setFpu({ ...vcpu.getFpu(), mxcsr: 0x10000 })).toThrow(/mxcsr/);
    expect(t.ioctl(KVM_GET_FPU, 0x10)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
  });
});

describe("KVM_GET/SET_XCRS", () => {
  it("XCR0 follows __kvm_set_xcr: FP required, only what CPUID 0xd.0 offers; the guest's XGETBV sees it", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(vcpu.getXcrs().xcrs[0]).toEqual({ xcr: 0, reserved: 0, value: 1n });
    const set = (value: bigint, extra: Partial<{ nr_xcrs: number; flags: number }> = {}) => {
      t.p.userMemory.writeBytes(
        ARGS,
        kvmXcrs.encode({ nr_xcrs: 1, flags: 0, xcrs: [{ xcr: 0, reserved: 0, value }], ...extra }),
      );
      return t.ioctl(KVM_SET_XCRS, ARGS);
    };
    expect(set(3n)).toBe(-1); // SSE not offered: no CPUID yet
    expect(t.p.errno).toBe(Errno.EINVAL);
    writeCpuid(t, supportedCpuid());
    expect(t.ioctl(KVM_SET_CPUID2, ARGS)).toBe(0);
    expect(set(2n)).toBe(-1); // FP clear
    expect(set(7n)).toBe(-1); // AVX: not in the core
    expect(set(3n, { flags: 1 })).toBe(-1);
    expect(set(3n, { nr_xcrs: 17 })).toBe(-1);
    expect(set(3n)).toBe(0);
    expect(t.ioctl(KVM_GET_XCRS, ARGS)).toBe(0);
    expect(kvmXcrs.decode(t.p.userMemory.readBytes(ARGS, kvmXcrs.size)).xcrs[0]!.value).toBe(3n);
    t.load("xor ecx, ecx\nxgetbv\nout 0x64, eax\nhlt");
    expect(t.setSregs({ ...t.getSregs(), cr4: t.getSregs().cr4 | (1n << 18n) })).toBe(0); // OSXSAVE
    expect(t.expectOut(0x64)).toBe(3);
  });
});

describe("MSRs KVM emulates itself", () => {
  it("UCODE_REV, PLATFORM_INFO, POWER_CTL and the MTRRs with KVM's rules, for the guest and KVM_GET/SET_MSRS", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(vcpu.getMsrs([0x8b, 0xce, 0x140, 0x1fc, 0xfe, 0x2ff]).map((e) => e.data)).toEqual([
      0x1_0000_0000n,
      1n << 31n,
      0n,
      0n,
      0x508n,
      0n,
    ]);
    expect(vcpu.setMsrs([{ index: 0x8b, data: 0x2c000000_00000000n }])).toBe(1); // host sets the microcode revision
    expect(
      vcpu.setMsrs([
        { index: 0x2ff, data: 0xc06n },
        { index: 0x2ff, data: 0x1000n },
      ]),
    ).toBe(1); // reserved bit 12
    expect(vcpu.setMsrs([{ index: 0x200, data: 0x7n }])).toBe(0); // type 7 is invalid
    expect(vcpu.setMsrs([{ index: 0x201, data: 0x800n | (1n << 40n) }])).toBe(0); // above MAXPHYADDR 36
    expect(vcpu.setMsrs([{ index: 0xfe, data: 0n }])).toBe(0); // MTRRcap is read-only
    t.load(`
      mov ecx, 0x8b
      xor eax, eax
      xor edx, edx
      wrmsr
      rdmsr
      mov eax, edx
      out 0x65, eax
      mov ecx, 0xce
      wrmsr`);
    expect(t.expectOut(0x65)).toBe(0x2c000000); // the guest's write was ignored
    expect(t.expectOut(VECTOR_PORT)).toBe(13); // PLATFORM_INFO: host only
    expect(msrIndexList()).toEqual(expect.arrayContaining([0xce, 0x140, 0x1fc, 0x8b]));
  });

  it("CPUID faulting: with MISC_FEATURES_ENABLES bit 0, CPUID at CPL 3 is #GP", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(vcpu.setMsrs([{ index: 0x140, data: 2n }])).toBe(0);
    expect(vcpu.setMsrs([{ index: 0x140, data: 1n }])).toBe(1);
    expect(vcpu.setMsrs([{ index: 0xce, data: 0n }])).toBe(0); // cannot drop the capability while faulting is on
    t.load("cpuid\nout 0x66, eax\nhlt");
    expect(t.expectOut(0x66)).toBe(0); // CPL 0: no fault
    t.load("cpuid\nhlt");
    const s = t.getSregs();
    expect(
      t.setSregs({ ...s, cs: { ...s.cs, dpl: 3, selector: 0x0b }, ss: { ...s.ss, dpl: 3, selector: 0x13 } }),
    ).toBe(0);
    expect(t.expectOut(VECTOR_PORT)).toBe(13);
  });
});

describe("the normal-VM ioctls on other vCPUs", () => {
  it("a TD vCPU refuses REGS/SREGS/DEBUGREGS as protected state and the other normal-VM ioctls with EINVAL (its MSR ioctls: td-msr-emulation.test.ts)", () => {
    const t = new TdFixture();
    expect(t.initVm().ret).toBe(0);
    const fd = t.createVcpu();
    expect(fd).toBeGreaterThan(0);
    for (const r of [
      KVM_GET_REGS,
      KVM_GET_SREGS,
      KVM_GET_DEBUGREGS,
      KVM_GET_FPU,
      KVM_GET_XCRS,
      KVM_INTERRUPT,
      KVM_NMI,
    ]) {
      expect(t.p.ioctl(fd, r, ARGS)).toBe(-1);
      expect(t.p.errno).toBe(Errno.EINVAL);
    }
    const vcpu = t.p.file(fd) as Vcpu;
    expect(() => vcpu.getRegs()).toThrow(/protected/);
    expect(() => vcpu.nmi()).toThrow(expect.objectContaining({ code: "EINVAL" }));
  });

  it("an AP that is UNINITIALIZED (in-kernel LAPIC) blocks in KVM_RUN: -EINTR until KVM_SET_MP_STATE(RUNNABLE)", () => {
    const t = new NormalVmFixture();
    const vmFd = t.p.ioctl(t.kvmFd, 0xae01, 0);
    t.p.userMemory.writeBytes(
      ARGS,
      kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n, 0n, 0n, 0n] }),
    );
    expect(t.p.ioctl(vmFd, KVM_ENABLE_CAP, ARGS)).toBe(0);
    const vm = t.p.file(vmFd) as import("../src/index.js").Vm;
    const ap = vm.createVcpu(1);
    expect(ap.getMpState()).toBe(KvmMpState.UNINITIALIZED);
    expect(ap.kvmRun()).toEqual({ kind: "intr" });
    expect(ap.run.exitReason).toBe(KvmExit.INTR);
    ap.setMpState(KvmMpState.RUNNABLE);
    expect(ap.kvmRun().kind).toBe("internalError"); // runs: real mode at the reset vector
  });
});

describe("KVM_GET/SET_VCPU_EVENTS", () => {
  it("report the queued interrupt, shadow and NMI state; an exception set here is delivered at the next entry", () => {
    const t = new NormalVmFixture();
    t.load("sti\nnop\nhlt");
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    let e = vcpu.getVcpuEvents();
    expect(e.flags).toBe(KvmVcpuEventValid.SHADOW | KvmVcpuEventValid.SMM);
    expect(e.interrupt).toEqual({ injected: 0, nr: 0, soft: 0, shadow: 0 });
    vcpu.interrupt(0x41);
    e = vcpu.getVcpuEvents();
    expect(e.interrupt).toMatchObject({ injected: 1, nr: 0x41 });
    // clear it again, and queue #GP(0x18) instead
    vcpu.setVcpuEvents({
      ...e,
      interrupt: { ...e.interrupt, injected: 0 },
      exception: { injected: 1, nr: 13, has_error_code: 1, pending: 0, error_code: 0x18 },
    });
    expect(vcpu.getVcpuEvents().exception).toMatchObject({ injected: 1, nr: 13, error_code: 0x18 });
    expect(t.getRegs().rip).toBe(0x100000n); // not delivered before KVM_RUN
    expect(t.expectOut(VECTOR_PORT)).toBe(13);
    expect(vcpu.getVcpuEvents().exception.injected).toBe(0);
  });

  it("refuse unknown flags, PAYLOAD/TRIPLE_FAULT without their caps, SMM state, exception vectors > 31 or NMI", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    const e = vcpu.getVcpuEvents();
    const bad: [string, typeof e][] = [
      ["flags", { ...e, flags: 0x40 }],
      ["flags", { ...e, flags: KvmVcpuEventValid.PAYLOAD }],
      ["flags", { ...e, flags: KvmVcpuEventValid.TRIPLE_FAULT }],
      ["smi", { ...e, flags: KvmVcpuEventValid.SMM, smi: { ...e.smi, smm: 1 } }],
      ["exception.nr", { ...e, exception: { ...e.exception, injected: 1, nr: 32 } }],
      ["exception.nr", { ...e, exception: { ...e.exception, pending: 1, nr: 2 } }],
    ];
    for (const [field, events] of bad) {
      t.p.userMemory.writeBytes(ARGS, kvmVcpuEvents.encode(events));
      expect(t.ioctl(KVM_SET_VCPU_EVENTS, ARGS), field).toBe(-1);
      expect(t.p.errno).toBe(Errno.EINVAL);
      expect(t.p.lastError?.field).toBe(`kvm_vcpu_events.${field}`);
    }
    // NMI pending + masked through the raw face
    t.p.userMemory.writeBytes(
      ARGS,
      kvmVcpuEvents.encode({
        ...e,
        flags: KvmVcpuEventValid.NMI_PENDING,
        nmi: { injected: 0, pending: 1, masked: 1, pad: 0 },
      }),
    );
    expect(t.ioctl(KVM_SET_VCPU_EVENTS, ARGS)).toBe(0);
    expect(t.ioctl(KVM_GET_VCPU_EVENTS, ARGS)).toBe(0);
    expect(kvmVcpuEvents.decode(t.p.userMemory.readBytes(ARGS, kvmVcpuEvents.size)).nmi).toMatchObject({
      pending: 1,
      masked: 1,
    });
  });
});

describe("KVM_GET/SET_XSAVE", () => {
  const bytesOf = (x: { region: number[] }) => {
    const b = new Uint8Array(4096);
    const v = new DataView(b.buffer);
    x.region.forEach((w, i) => {
      v.setUint32(4 * i, w, true);
    });
    return b;
  };
  const regionOf = (b: Uint8Array) => {
    const v = new DataView(b.buffer, b.byteOffset);
    return { region: Array.from({ length: 1024 }, (_, i) => v.getUint32(4 * i, true)) };
  };

  it("the standard-format image holds FCW, MXCSR, XMM0-15 and XSTATE_BV = x87|SSE; SET loads it back", () => {
    const t = new NormalVmFixture();
    t.load("mov eax, 0x11223344\nmovd xmm15, eax\nhlt");
    expect(t.kvmRun()).toBe(0);
    expect(t.ioctl(KVM_GET_XSAVE, ARGS)).toBe(0);
    const img = t.p.userMemory.readBytes(ARGS, 4096);
    const v = new DataView(img.buffer);
    expect(v.getUint16(0, true)).toBe(0x37f); // FCW
    expect(v.getUint32(24, true)).toBe(0x1f80); // MXCSR
    expect(v.getUint32(160 + 15 * 16, true)).toBe(0x11223344); // XMM15
    expect(v.getBigUint64(512, true)).toBe(3n); // XSTATE_BV
    expect(t.ioctl(KVM_GET_XSAVE2, ARGS + 8192)).toBe(0);
    expect(t.p.userMemory.readBytes(ARGS + 8192, 4096)).toEqual(img);
    expect(t.p.ioctl(t.kvmFd, 0xae03, KvmCap.XSAVE2)).toBe(4096);
    // SSE absent from XSTATE_BV: XMM back to the initial state
    v.setBigUint64(512, 1n, true);
    t.p.userMemory.writeBytes(ARGS, img);
    expect(t.ioctl(KVM_SET_XSAVE, ARGS)).toBe(0);
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    expect(new DataView(bytesOf(vcpu.getXsave()).buffer).getUint32(160 + 15 * 16, true)).toBe(0);
  });

  it("XSTATE_BV beyond x87|SSE, XCOMP_BV, reserved header bytes or a bad MXCSR are EINVAL", () => {
    const t = new NormalVmFixture();
    const vcpu = t.p.file(t.vcpuFd) as Vcpu;
    const base = bytesOf(vcpu.getXsave());
    const cases: [string, (v: DataView) => void][] = [
      ["kvm_xsave.xstate_bv", (v) => v.setBigUint64(512, 7n, true)],
      ["kvm_xsave.xcomp_bv", (v) => v.setBigUint64(520, 1n << 63n, true)],
      ["kvm_xsave.header.reserved", (v) => v.setUint8(540, 1)],
      ["kvm_xsave.mxcsr", (v) => v.setUint32(24, 0x10000, true)],
    ];
    for (const [field, poke] of cases) {
      const b = base.slice();
      poke(new DataView(b.buffer));
      expect(() => vcpu.setXsave(regionOf(b)), field).toThrow(
        expect.objectContaining({ code: "EINVAL", field }),
      );
    }
  });
});
