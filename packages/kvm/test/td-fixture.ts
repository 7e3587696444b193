// Builds TDs through the raw face only (ioctl numbers, structs as bytes in the process's user
// memory), the way a C VMM or the KVM TDX selftests do.
import type { HostPhysicalMemory } from "@tdxsim/memory";
import { expect } from "vitest";
import {
  FALLOC_FL_KEEP_SIZE,
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_TDX_MEASURE_MEMORY_REGION,
  KvmCap,
  type KvmCpuidEntry2,
  KvmMem,
  KvmProcess,
  KvmTdx,
  KvmVmType,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmCreateGuestMemfd,
  kvmEnableCap,
  kvmMemoryAttributes,
  kvmTdxCapabilitiesFixed,
  kvmTdxCmd,
  kvmTdxInitMemRegion,
  kvmTdxInitVmFixed,
  kvmUserspaceMemoryRegion2,
  type Vcpu,
  type Vm,
} from "../src/index.js";
import { ScriptedGuest } from "./scripted-guest.js";

export const MiB = 1 << 20;
/** Scratch addresses in the VMM's user memory. */
export const CMD_AT = 0x10_0000;
export const STRUCT_AT = 0x20_0000;
export const SOURCE_AT = 0x100_0000;
export const GUEST_RAM_AT = 0x4000_0000;
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1n << 3n;

export interface TdxOpResult {
  ret: number;
  errno: number;
  hwError: bigint;
}

export class TdFixture {
  readonly p: KvmProcess;
  readonly guest = new ScriptedGuest();
  readonly kvm: number;
  readonly vmFd: number;
  vcpuFds: number[] = [];
  gmemFd = -1;

  /** `realCpu`: run guest code on the default executor (the x86 core) instead of the scripted guest. */
  constructor(opts: { cpus?: number; memory?: HostPhysicalMemory; realCpu?: boolean } = {}) {
    this.p = new KvmProcess({
      cpus: opts.cpus ?? 4,
      tdGuestExecutor: opts.realCpu ? undefined : this.guest,
      physicalMemory: opts.memory,
    });
    this.kvm = this.p.open("/dev/kvm");
    this.vmFd = this.p.ioctl(this.kvm, KVM_CREATE_VM, KvmVmType.TDX_VM);
    expect(this.vmFd).toBeGreaterThan(0);
    const cap = kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] });
    expect(this.p.ioctl(this.vmFd, KVM_ENABLE_CAP, cap)).toBe(0);
  }

  get vm(): Vm {
    return this.p.file(this.vmFd) as Vm;
  }
  vcpu(i = 0): Vcpu {
    return this.p.file(this.vcpuFds[i]!) as Vcpu;
  }

  /** KVM_MEMORY_ENCRYPT_OP on `fd` with the kvm_tdx_cmd in user memory; hw_error as written back. */
  op(fd: number, id: number, data: bigint | number = 0n, flags = 0): TdxOpResult {
    const mem = this.p.userMemory;
    mem.writeBytes(CMD_AT, kvmTdxCmd.encode({ id, flags, data: BigInt(data) }));
    const ret = this.p.ioctl(fd, KVM_MEMORY_ENCRYPT_OP, CMD_AT);
    const back = kvmTdxCmd.decode(mem.readBytes(CMD_AT, kvmTdxCmd.size));
    return { ret, errno: ret < 0 ? this.p.errno : 0, hwError: back.hw_error };
  }

  /** KVM_TDX_CAPABILITIES with room for 64 entries; the entries. */
  capabilities(): { attrs: bigint; xfam: bigint; cpuid: KvmCpuidEntry2[] } {
    const mem = this.p.userMemory;
    mem.writeBytes(STRUCT_AT, kvmTdxCapabilitiesFixed.encode({ cpuid: { nent: 64, padding: 0 } }));
    expect(this.op(this.vmFd, KvmTdx.CAPABILITIES, STRUCT_AT).ret).toBe(0);
    const fixed = kvmTdxCapabilitiesFixed.decode(mem.readBytes(STRUCT_AT, kvmTdxCapabilitiesFixed.size));
    const cpuid = Array.from({ length: fixed.cpuid.nent }, (_, i) =>
      kvmCpuidEntry2.decode(
        mem.readBytes(
          STRUCT_AT + kvmTdxCapabilitiesFixed.size + i * kvmCpuidEntry2.size,
          kvmCpuidEntry2.size,
        ),
      ),
    );
    return { attrs: fixed.supported_attrs, xfam: fixed.supported_xfam, cpuid };
  }

  /** A CPUID list INIT_VM accepts: the configurable bits, native F/M/S, GPAW in 0x80000008. */
  initVmCpuid(gpaw = 48): KvmCpuidEntry2[] {
    return this.capabilities().cpuid.map((e) => {
      const c = { ...e };
      if (c.function === 1) c.eax = 0;
      if (c.function === 0x80000008) c.eax = gpaw << 16;
      return c;
    });
  }

  /** Writes kvm_tdx_init_vm + entries at STRUCT_AT and runs KVM_TDX_INIT_VM. */
  initVm(
    o: { attributes?: bigint; xfam?: bigint; cpuid?: KvmCpuidEntry2[]; mrconfigid?: bigint[] } = {},
  ): TdxOpResult {
    const cpuid = o.cpuid ?? this.initVmCpuid();
    const mem = this.p.userMemory;
    mem.writeBytes(
      STRUCT_AT,
      kvmTdxInitVmFixed.encode({
        attributes: o.attributes ?? 0n,
        xfam: o.xfam ?? 0x3n,
        mrconfigid: o.mrconfigid ?? [0n, 0n, 0n, 0n, 0n, 0n],
        cpuid: { nent: cpuid.length, padding: 0 },
      }),
    );
    cpuid.forEach((e, i) => {
      mem.writeBytes(STRUCT_AT + kvmTdxInitVmFixed.size + i * kvmCpuidEntry2.size, kvmCpuidEntry2.encode(e));
    });
    return this.op(this.vmFd, KvmTdx.INIT_VM, STRUCT_AT);
  }

  /**
   * The selftests' order: KVM_TDX_GET_CPUID → KVM_SET_CPUID2 (x2APIC included) → KVM_TDX_INIT_VCPU
   * on vCPU fd `fd`.
   */
  initVcpuFd(fd: number, rcx = 0n, flags = 0): TdxOpResult {
    const mem = this.p.userMemory;
    mem.writeBytes(STRUCT_AT, kvmCpuid2Header.encode({ nent: 256, padding: 0 }));
    if (this.op(fd, KvmTdx.GET_CPUID, STRUCT_AT).ret === 0) this.p.ioctl(fd, KVM_SET_CPUID2, STRUCT_AT);
    return this.op(fd, KvmTdx.INIT_VCPU, rcx, flags);
  }

  initVcpu(i = 0, rcx = 0n): TdxOpResult {
    return this.initVcpuFd(this.vcpuFds[i]!, rcx);
  }

  createVcpu(id = this.vcpuFds.length): number {
    const fd = this.p.ioctl(this.vmFd, KVM_CREATE_VCPU, id);
    if (fd >= 0) this.vcpuFds.push(fd);
    return fd;
  }

  /** guest_memfd of `size` bound at `at.gpa` (0) in `at.slot` (0) with user memory at `at.userAddr` (GUEST_RAM_AT), all private. */
  addPrivateMemory(
    size = 2 * MiB,
    privateToo = true,
    at: { slot: number; gpa: number; userAddr: number } = { slot: 0, gpa: 0, userAddr: GUEST_RAM_AT },
  ): void {
    const p = this.p;
    this.gmemFd = p.ioctl(
      this.vmFd,
      KVM_CREATE_GUEST_MEMFD,
      kvmCreateGuestMemfd.encode({ size: BigInt(size) }),
    );
    expect(this.gmemFd).toBeGreaterThan(0);
    const region = kvmUserspaceMemoryRegion2.encode({
      slot: at.slot,
      flags: KvmMem.GUEST_MEMFD,
      guest_phys_addr: BigInt(at.gpa),
      memory_size: BigInt(size),
      userspace_addr: BigInt(at.userAddr),
      guest_memfd_offset: 0n,
      guest_memfd: this.gmemFd,
    });
    expect(p.ioctl(this.vmFd, KVM_SET_USER_MEMORY_REGION2, region)).toBe(0);
    if (privateToo) this.setAttributes(at.gpa, size, true);
  }

  setAttributes(gpa: number, size: number, isPrivate: boolean): void {
    const a = kvmMemoryAttributes.encode({
      address: BigInt(gpa),
      size: BigInt(size),
      attributes: isPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n,
    });
    expect(this.p.ioctl(this.vmFd, KVM_SET_MEMORY_ATTRIBUTES, a)).toBe(0);
  }

  /** KVM_TDX_INIT_MEM_REGION of `image` at `gpa`; the struct as written back. */
  initMemRegion(gpa: number, image: Uint8Array, measure: boolean, vcpu = 0) {
    const mem = this.p.userMemory;
    mem.writeBytes(SOURCE_AT, image);
    const nr = Math.ceil(image.length / 4096);
    mem.writeBytes(
      STRUCT_AT,
      kvmTdxInitMemRegion.encode({ source_addr: BigInt(SOURCE_AT), gpa: BigInt(gpa), nr_pages: BigInt(nr) }),
    );
    const r = this.op(
      this.vcpuFds[vcpu]!,
      KvmTdx.INIT_MEM_REGION,
      STRUCT_AT,
      measure ? KVM_TDX_MEASURE_MEMORY_REGION : 0,
    );
    return { ...r, region: kvmTdxInitMemRegion.decode(mem.readBytes(STRUCT_AT, kvmTdxInitMemRegion.size)) };
  }

  /** KVM_TDX_INIT_VM (default CPUID), then KVM_CREATE_VCPU + KVM_TDX_INIT_VCPU for each of `vcpus`. */
  initVmWithVcpus(vcpus = 1): void {
    expect(this.initVm().ret).toBe(0);
    for (let i = 0; i < vcpus; i++) {
      expect(this.createVcpu()).toBeGreaterThan(0);
      expect(this.initVcpu(i).ret).toBe(0);
    }
  }

  /** INIT_VM, one vCPU, INIT_VCPU, private memory, an image, FINALIZE: a runnable TD. */
  static runnable(image = new Uint8Array(4096).fill(0x90), o: { vcpus?: number } = {}): TdFixture {
    const t = new TdFixture();
    t.initVmWithVcpus(o.vcpus);
    t.addPrivateMemory();
    expect(t.initMemRegion(0xf_0000, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    return t;
  }

  /** The TD's MRTD (48 bytes) read with TDH.MNG.RD, as a hex string. */
  mrtd(): string {
    const td = this.vm.tdx;
    const words: string[] = [];
    for (let i = 0n; i < 6n; i++) {
      const r = td.module.tdhMngRd(td.tdr, 0x1310000300000000n + i);
      expect(r.status).toBe(0n);
      words.push((r.r8 ?? 0n).toString(16).padStart(16, "0"));
    }
    return words.join("");
  }
}

export { FALLOC_FL_KEEP_SIZE };
