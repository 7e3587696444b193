// The TDX sub-commands driving the real TDX module through the raw face: success paths, errnos,
// hw_error values, and the §1.11 order rules.
import { Errno, HostPhysicalMemory } from "@tdxsim/memory";
import { TdxModule, TdxStatus } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_MP_STATE,
  KVM_GET_REGS,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_RUN,
  KVM_SUPPORTED_TD_ATTRS,
  KvmMpState,
  KvmProcess,
  KvmTdx,
  KvmVmType,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmMpState,
  kvmTdxCmd,
} from "../src/index.js";
import { MiB, STRUCT_AT, TdFixture } from "./td-fixture.js";

describe("KVM_TDX_CAPABILITIES", () => {
  it("reports the module's configurable CPUID and KVM's attribute/XFAM masks", () => {
    const t = new TdFixture();
    const caps = t.capabilities();
    expect(caps.attrs).toBe(KVM_SUPPORTED_TD_ATTRS);
    expect(caps.xfam & 0x3n).toBe(0x3n);
    expect(caps.cpuid.length).toBe(12);
    const gpaw = caps.cpuid.find((e) => e.function === 0x80000008)!;
    expect((gpaw.eax >>> 16) & 0xff).toBe(0xff);
  });
  it("nent too small → E2BIG; flags → EINVAL", () => {
    const t = new TdFixture();
    t.p.userMemory.writeBytes(STRUCT_AT + 2048, kvmCpuid2Header.encode({ nent: 2 }));
    expect(t.op(t.vmFd, KvmTdx.CAPABILITIES, STRUCT_AT).errno).toBe(Errno.E2BIG);
    expect(t.op(t.vmFd, KvmTdx.CAPABILITIES, STRUCT_AT, 1).errno).toBe(Errno.EINVAL);
  });
});

describe("KVM_TDX_INIT_VM", () => {
  it("creates the TD in the module: HKID, shared bit 47, state INITIALIZED", () => {
    const t = new TdFixture();
    const r = t.initVm();
    expect(r).toEqual({ ret: 0, errno: 0, hwError: 0n });
    expect(t.vm.td.state).toBe("initialized");
    expect(t.vm.tdx.hkid).toBeGreaterThanOrEqual(2);
    expect(t.vm.memory.sharedGpaBit).toBe(47);
    // second call → EINVAL
    expect(t.initVm().errno).toBe(Errno.EINVAL);
  });
  it("GPAW 52 → shared bit 51, 5-level Secure EPT", () => {
    const t = new TdFixture();
    expect(t.initVm({ cpuid: t.initVmCpuid(52) }).ret).toBe(0);
    expect(t.vm.memory.sharedGpaBit).toBe(51);
    expect(t.vm.tdx.septLevels).toBe(5);
  });
  it("a CPUID value the module refuses → EINVAL with hw_error = OPERAND_INVALID (CPUID_CONFIG); the TD can retry", () => {
    const t = new TdFixture();
    const cpuid = t.initVmCpuid();
    const leaf1 = cpuid.find((e) => e.function === 1)!;
    leaf1.eax = 0x12345; // a non-native family/model/stepping
    const r = t.initVm({ cpuid });
    expect(r.errno).toBe(Errno.EINVAL);
    expect(r.hwError >> 32n).toBe(TdxStatus.TDX_OPERAND_INVALID >> 32n);
    expect(t.p.lastError?.hwError).toBe(r.hwError);
    expect(t.vm.td.state).toBe("uninitialized");
    expect(t.vm.tdx.tdx.hkidsAssigned).toBe(0);
    expect(t.initVm().ret).toBe(0);
  });
  it("argument errors: attributes/xfam outside caps, missing 0x80000008, bad pointer; no vCPU before INIT_VM", () => {
    const t = new TdFixture();
    expect(t.initVm({ attributes: 1n }).errno).toBe(Errno.EINVAL); // DEBUG is not offered
    expect(t.initVm({ xfam: 1n << 62n }).errno).toBe(Errno.EINVAL);
    expect(t.initVm({ cpuid: t.initVmCpuid().filter((e) => e.function !== 0x80000008) }).errno).toBe(
      Errno.EINVAL,
    );
    expect(t.op(t.vmFd, KvmTdx.INIT_VM, 0).errno).toBe(Errno.EFAULT);
    expect(t.p.ioctl(t.vmFd, KVM_CREATE_VCPU, 0)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EIO); // before INIT_VM
  });
  it("HKIDs run out after 62 TDs → ENOSPC; closing a TD gives its HKID back", () => {
    const tds: TdFixture[] = [];
    const first = new TdFixture();
    expect(first.initVm().ret).toBe(0);
    const memory = first.p.host.physicalMemory;
    tds.push(first);
    let failed: TdFixture | undefined;
    for (let i = 0; i < 70 && !failed; i++) {
      const t = new TdFixture({ memory });
      if (t.initVm().ret !== 0) failed = t;
      else tds.push(t);
    }
    expect(tds.length).toBe(62);
    expect(failed!.p.errno).toBe(Errno.ENOSPC);
    const last = tds.pop()!;
    last.p.close(last.vmFd);
    expect(failed!.initVm().ret).toBe(0);
  });
});

describe("vCPUs of a TD", () => {
  it("KVM_TDX_INIT_VCPU: VP.CREATE/ADDCX/INIT, mp_state RUNNABLE; twice → EINVAL", () => {
    const t = new TdFixture();
    t.initVm();
    expect(t.createVcpu()).toBeGreaterThan(0);
    const v = t.vcpuFds[0]!;
    const mp = new Uint8Array(4);
    t.p.ioctl(v, KVM_GET_MP_STATE, mp);
    expect(kvmMpState.decode(mp).mp_state).toBe(KvmMpState.UNINITIALIZED);
    // without KVM_SET_CPUID2 the vCPU has no x2APIC: KVM cannot put it in x2APIC mode → EINVAL
    expect(t.op(v, KvmTdx.INIT_VCPU, 0x1234n).errno).toBe(Errno.EINVAL);
    expect(t.p.lastError?.message).toMatch(/x2APIC/);
    expect(t.initVcpu(0, 0x1234n).ret).toBe(0);
    t.p.ioctl(v, KVM_GET_MP_STATE, mp);
    expect(kvmMpState.decode(mp).mp_state).toBe(KvmMpState.RUNNABLE);
    expect(t.op(v, KvmTdx.INIT_VCPU, 0n).errno).toBe(Errno.EINVAL);
    expect(t.op(v, KvmTdx.INIT_VCPU, 0n, 1).errno).toBe(Errno.EINVAL);
    expect(t.p.ioctl(v, KVM_GET_REGS, new Uint8Array(144))).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
  });
  it("KVM_TDX_GET_CPUID: the TD's CPUID from TDH.MNG.RD (before INIT_VCPU too); E2BIG writes the needed nent back", () => {
    const t = new TdFixture();
    t.initVm();
    t.createVcpu();
    const v = t.vcpuFds[0]!;
    const mem = t.p.userMemory;
    // TD-scope data: works before INIT_VCPU too (6.16 checks neither flags nor the vCPU state)
    mem.writeBytes(STRUCT_AT, kvmCpuid2Header.encode({ nent: 256, padding: 0 }));
    expect(t.op(v, KvmTdx.GET_CPUID, STRUCT_AT, 1).ret).toBe(0);
    t.initVcpu(0);
    mem.writeBytes(STRUCT_AT, kvmCpuid2Header.encode({ nent: 1 }));
    expect(t.op(v, KvmTdx.GET_CPUID, STRUCT_AT).errno).toBe(Errno.E2BIG);
    const needed = kvmCpuid2Header.decode(mem.readBytes(STRUCT_AT, 8)).nent;
    expect(needed).toBeGreaterThan(10);
    mem.writeBytes(STRUCT_AT, kvmCpuid2Header.encode({ nent: needed }));
    expect(t.op(v, KvmTdx.GET_CPUID, STRUCT_AT).ret).toBe(0);
    const entries = Array.from({ length: needed }, (_, i) =>
      kvmCpuidEntry2.decode(mem.readBytes(STRUCT_AT + 8 + 40 * i, 40)),
    );
    const leaf0x21 = entries.find((e) => e.function === 0x21)!;
    expect(
      String.fromCharCode(
        ...[leaf0x21.ebx, leaf0x21.edx, leaf0x21.ecx].flatMap((w) => [
          w & 0xff,
          (w >>> 8) & 0xff,
          (w >>> 16) & 0xff,
          w >>> 24,
        ]),
      ),
    ).toBe("IntelTDX    ");
    const ext8 = entries.find((e) => e.function === 0x80000008)!;
    expect((ext8.eax >>> 16) & 0xff).toBe(48);
  });
});

describe("KVM_TDX_INIT_MEM_REGION and FINALIZE", () => {
  const image = (seed: number) => Uint8Array.from({ length: 3 * 4096 }, (_, i) => (i * 7 + seed) & 0xff);

  it("measured vs unmeasured: MRTD differs; the same image gives the same MRTD", () => {
    const build = (measure: boolean, seed: number) => {
      const t = new TdFixture();
      t.initVm();
      t.createVcpu();
      t.initVcpu(0);
      t.addPrivateMemory();
      const r = t.initMemRegion(0x10_0000, image(seed), measure);
      expect(r.ret).toBe(0);
      expect(r.region).toEqual({ source_addr: BigInt(0x100_0000 + 3 * 4096), gpa: 0x10_3000n, nr_pages: 0n });
      expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
      expect(t.vm.td.state).toBe("runnable");
      return t.mrtd();
    };
    const a = build(true, 1);
    expect(build(true, 1)).toBe(a);
    expect(build(false, 1)).not.toBe(a);
    expect(build(true, 2)).not.toBe(a);
  });
  it("errors: EEXIST for a populated page, EINVAL for a shared attribute or no guest_memfd slot, struct written back", () => {
    const t = new TdFixture();
    t.initVm();
    t.createVcpu();
    expect(t.initMemRegion(0, image(1), true).errno).toBe(Errno.EINVAL); // INIT_VCPU not done
    t.initVcpu(0);
    expect(t.initMemRegion(0, image(1), true).errno).toBe(Errno.EINVAL); // no memslot
    t.addPrivateMemory(2 * MiB, false);
    t.setAttributes(0, 0x2000, true);
    const partial = t.initMemRegion(0, image(1), true); // third page is shared
    expect(partial.errno).toBe(Errno.EINVAL);
    expect(partial.region.nr_pages).toBe(1n);
    expect(partial.region.gpa).toBe(0x2000n);
    expect(t.initMemRegion(0x1000, image(1).subarray(0, 4096), true).errno).toBe(Errno.EEXIST);
    expect(t.initMemRegion((1n << 47n) as unknown as number, image(1), false).errno).toBe(Errno.EINVAL);
    expect(t.initMemRegion(0x8000, image(1), false, 0).ret).toBe(-1);
  });
  it("FINALIZE: before INIT_VM EINVAL; no vCPU → EIO with hw_error NO_VCPUS (VM bugged); after → EINVAL everywhere", () => {
    const t0 = new TdFixture();
    expect(t0.op(t0.vmFd, KvmTdx.FINALIZE_VM).errno).toBe(Errno.EINVAL);
    expect(t0.initVm().ret).toBe(0);
    const r = t0.op(t0.vmFd, KvmTdx.FINALIZE_VM);
    expect(r.errno).toBe(Errno.EIO);
    expect(r.hwError).toBe(TdxStatus.TDX_NO_VCPUS);
    expect(t0.vm.td.state).toBe("dead");

    const t = TdFixture.runnable();
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).errno).toBe(Errno.EINVAL);
    expect(t.initVm().errno).toBe(Errno.EINVAL);
    expect(t.createVcpu()).toBe(-1);
    expect(t.p.errno).toBe(Errno.EIO);
    expect(t.initVcpu(0).errno).toBe(Errno.EINVAL);
    expect(t.op(t.vcpuFds[0]!, KvmTdx.GET_CPUID, STRUCT_AT).errno).toBe(Errno.EINVAL);
    expect(t.initMemRegion(0x2000, new Uint8Array(4096), false).errno).toBe(Errno.EINVAL);
  });
  it("KVM_RUN before FINALIZE → EINVAL", () => {
    const t = new TdFixture();
    t.initVm();
    t.createVcpu();
    t.initVcpu(0);
    expect(t.p.ioctl(t.vcpuFds[0]!, KVM_RUN, 0)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EINVAL);
  });
});

describe("teardown", () => {
  it("TERMINATE_VM releases the HKID, the VM is dead (EIO); closing everything returns every page", () => {
    const t = TdFixture.runnable();
    const memory = t.p.host.physicalMemory;
    const tdx = t.vm.tdx.tdx;
    const before = tdx.hkidsAssigned;
    expect(t.op(t.vmFd, KvmTdx.TERMINATE_VM).ret).toBe(0);
    expect(tdx.hkidsAssigned).toBe(before - 1);
    expect(t.op(t.vmFd, KvmTdx.CAPABILITIES, STRUCT_AT).errno).toBe(Errno.EIO);
    expect(t.p.close(t.gmemFd)).toBe(0);
    expect(t.p.close(t.vcpuFds[0]!)).toBe(0);
    expect(t.p.close(t.vmFd)).toBe(0);
    expect(memory.allocatedPages).toBe(0);
  });
  it("closing a live TD (guest_memfd first) zaps private pages with BLOCK/TRACK/REMOVE and reclaims the rest", () => {
    const t = TdFixture.runnable(new Uint8Array(8 * 4096).fill(1));
    const memory = t.p.host.physicalMemory;
    expect(t.vm.tdx.mmu.privatePages.size).toBe(8);
    expect(t.p.close(t.gmemFd)).toBe(0);
    expect(t.vm.tdx.mmu.privatePages.size).toBe(0);
    expect(t.vm.td.state).toBe("runnable");
    t.p.close(t.vcpuFds[0]!);
    t.p.close(t.vmFd);
    expect(memory.allocatedPages).toBe(0);
  });
});

describe("the host's TDX module", () => {
  it("KVM uses a module it is given; without it, memory whose KeyID capability is taken → ENODEV", () => {
    const memory = new HostPhysicalMemory(1 << 30);
    const module = new TdxModule(memory);
    const p = new KvmProcess({ physicalMemory: memory, tdxModule: module });
    const vm = p.openKvm().createVm(KvmVmType.TDX_VM);
    expect(vm.tdx.module).toBe(module);
    expect(vm.tdxCapabilities().cpuid.length).toBe(12);

    const taken = new HostPhysicalMemory(1 << 30);
    taken.takePrivateKeyAccess();
    const q = new KvmProcess({ physicalMemory: taken });
    const kvm = q.open("/dev/kvm");
    const td = q.ioctl(kvm, KVM_CREATE_VM, KvmVmType.TDX_VM);
    q.userMemory.writeBytes(STRUCT_AT + 2048, kvmCpuid2Header.encode({ nent: 64, padding: 0 }));
    q.userMemory.writeBytes(
      0x10_0000,
      kvmTdxCmd.encode({ id: KvmTdx.CAPABILITIES, data: BigInt(STRUCT_AT) }),
    );
    expect(q.ioctl(td, KVM_MEMORY_ENCRYPT_OP, 0x10_0000)).toBe(-1);
    expect(q.errno).toBe(Errno.ENODEV);
  });
});
