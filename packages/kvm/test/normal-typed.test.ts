// The typed face of a normal VM: Kvm → Vm → Vcpu methods, VcpuExit values, KvmError codes — the
// same guest and the same state as the raw tests (the fixture's page tables and GDT are reused).
import { describe, expect, it } from "vitest";
import { KvmError, KvmExit, KvmMsrExitReason, type Vcpu, type Vm } from "../src/index.js";
import { CODE, MMIO, NormalVmFixture, STACK_TOP, VECTOR_PORT } from "./normal-fixture.js";

/** The fixture's VM and vCPU as typed objects, with `source` loaded through the typed setters. */
function typed(source: string): { t: NormalVmFixture; vm: Vm; vcpu: Vcpu } {
  const t = new NormalVmFixture();
  t.load(source);
  const vm = t.p.file(t.vmFd) as Vm;
  const vcpu = t.p.file(t.vcpuFd) as Vcpu;
  vcpu.setSregs(t.longModeSregs());
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(CODE), rsp: BigInt(STACK_TOP), rflags: 2n });
  return { t, vm, vcpu };
}

describe("normal VM, typed face", () => {
  it("io, mmio (write then read with completion), hlt as VcpuExit values", () => {
    const { vcpu } = typed(`
      mov eax, 0x41
      mov dx, 0x3f8
      out dx, al
      mov rbx, ${MMIO}
      mov qword ptr [rbx], rax
      mov rax, [rbx + 16]
      out 0x99, eax
      hlt`);
    let e = vcpu.kvmRun();
    expect(e).toMatchObject({ kind: "io", direction: "out", size: 1, port: 0x3f8, count: 1 });
    if (e.kind === "io") expect([...e.data]).toEqual([0x41]);
    e = vcpu.kvmRun();
    expect(e).toMatchObject({ kind: "mmio", physAddr: BigInt(MMIO), isWrite: true, len: 8 });
    e = vcpu.kvmRun();
    expect(e).toMatchObject({ kind: "mmio", physAddr: BigInt(MMIO + 16), isWrite: false, len: 8 });
    if (e.kind === "mmio") e.data.set([0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]);
    e = vcpu.kvmRun();
    expect(e).toMatchObject({ kind: "io", port: 0x99 });
    if (e.kind === "io")
      expect(new DataView(e.data.buffer, e.data.byteOffset).getUint32(0, true)).toBe(0x12345678);
    expect(vcpu.kvmRun()).toEqual({ kind: "hlt" });
  });

  it("shutdown, failEntry and internalError", () => {
    const a = typed("ud2");
    a.vcpu.setSregs({ ...a.vcpu.getSregs(), idt: { base: 0n, limit: 0, padding: [0, 0, 0] } });
    expect(a.vcpu.kvmRun()).toEqual({ kind: "shutdown" });

    const b = typed("hlt");
    const s = b.vcpu.getSregs();
    b.vcpu.setSregs({ ...s, tr: { ...s.tr, type: 9 } }); // an available (not busy) TSS
    expect(b.vcpu.kvmRun()).toEqual({ kind: "failEntry", hardwareEntryFailureReason: 0x80000021n, cpu: 0 });
    expect(b.vcpu.normal.lastExitDetail).toMatch(/tr.type 9/);

    const c = typed("paddb mm0, mm1"); // MMX: not executed by the core
    const e = c.vcpu.kvmRun();
    expect(e.kind).toBe("internalError");
    if (e.kind === "internalError") {
      expect(e.suberror).toBe(1);
      expect(e.data).toHaveLength(8);
    }
    expect(c.vcpu.normal.lastExitDetail).toMatch(/PADDB|MMX|not executed|unsupported/i);
  });

  it("MSR exits and hypercalls through enableCap / setMsrFilter-free defaults", () => {
    const { vm, vcpu } = typed("mov ecx, 0x4b564d00\nrdmsr\nout 0x9a, eax\nvmcall\nout 0x9a, eax\nhlt");
    vm.enableCap({ cap: 188 /* KVM_CAP_X86_USER_SPACE_MSR */, args: [BigInt(KvmMsrExitReason.UNKNOWN)] });
    const e = vcpu.kvmRun();
    expect(e).toEqual({
      kind: "x86Rdmsr",
      reason: KvmMsrExitReason.UNKNOWN,
      index: 0x4b564d00,
      data: 0n,
      error: 0,
    });
    vcpu.run.msr.data = 0xabcdn;
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: 0x9a });
    expect(vcpu.getRegs().rax & 0xffffn).toBe(0xabcdn);
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: 0x9a });
    expect(vcpu.getRegs().rax).toBe((1n << 64n) - 1000n); // -KVM_ENOSYS (RAX 0x...abcd is no hypercall KVM knows)
  });

  it("errors are KvmError with errno and field", () => {
    const { vcpu } = typed("hlt");
    const s = vcpu.getSregs();
    try {
      vcpu.setSregs({ ...s, cr0: s.cr0 | (1n << 29n) });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KvmError);
      expect((e as KvmError).code).toBe("EINVAL");
      expect((e as KvmError).ioctl).toBe("KVM_SET_SREGS");
    }
    expect(() => vcpu.interrupt(300)).toThrow(/KVM_NR_INTERRUPTS/);
    expect(() => vcpu.interrupt(40.5)).toThrow(KvmError);
    // typed arguments are checked like the struct fields of the raw face: EINVAL, never a crash
    const regs = vcpu.getRegs();
    for (const bad of [
      { ...regs, rax: -1n },
      { ...regs, rip: 1n << 64n },
    ]) {
      expect(() => vcpu.setRegs(bad)).toThrow(expect.objectContaining({ code: "EINVAL", field: "kvm_regs" }));
    }
    expect(() => vcpu.setSregs({ ...s, cs: { ...s.cs, type: 16 } })).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => vcpu.setMsrs([{ index: 0xc0000082, data: -5n }])).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => vcpu.getMsrs([1.5])).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => vcpu.getMsrs(null as unknown as number[])).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => vcpu.setMsrs([null as unknown as { index: number; data: bigint }])).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => vcpu.setSregs(null as unknown as typeof s)).toThrow(
      expect.objectContaining({ code: "EINVAL" }),
    );
    expect(() => vcpu.setRunBudget(0)).toThrow(KvmError);
  });

  it("interrupt() and nmi() are delivered through the guest's IDT", () => {
    const { vcpu } = typed("sti\nnop\nhlt\nhlt");
    expect(vcpu.kvmRun()).toEqual({ kind: "hlt" });
    vcpu.interrupt(0x33);
    expect(vcpu.kvmRun()).toMatchObject({ kind: "io", port: VECTOR_PORT });
    expect(vcpu.getRegs().rax & 0xffn).toBe(0x33n);
    expect(vcpu.run.exitReason).toBe(KvmExit.IO);
  });
});
