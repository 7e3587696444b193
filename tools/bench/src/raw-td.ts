// A TD built through @tdxsim/kvm's raw face (ioctl + struct bytes in the VMM's memory), as a C VMM
// or the KVM TDX selftests do it: shared by the benchmarks that time KVM_RUN and the TD build.
import {
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
  KvmMem,
  KvmProcess,
  KvmTdx,
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
} from "@tdxsim/kvm";
import type { TdGuestExecutor } from "@tdxsim/tdx-module";

const CMD = 0x10_0000;
const STRUCT = 0x20_0000;
const SOURCE = 0x1000_0000;

function op(p: KvmProcess, fd: number, id: number, data: number, flags = 0): void {
  p.userMemory.writeBytes(CMD, kvmTdxCmd.encode({ id, flags, data: BigInt(data) }));
  if (p.ioctl(fd, KVM_MEMORY_ENCRYPT_OP, CMD) !== 0) throw p.lastError;
}

export interface RawTdOptions {
  /** undefined: the real x86 core */
  executor?: TdGuestExecutor;
  /** the image pages, written into the VMM's memory at SOURCE before the clock starts */
  image: Uint8Array;
  /** guest physical base of the image and of its 2 MiB-aligned guest_memfd memslot */
  gpa: number;
  /** called when the TD build starts (after the image is in the VMM's memory) */
  onStart?: () => void;
}

export function buildRawTd(o: RawTdOptions): { p: KvmProcess; vcpu: number } {
  const imageBytes = o.image.length;
  const p = new KvmProcess({ tdGuestExecutor: o.executor });
  p.userMemory.writeBytes(SOURCE, o.image);
  o.onStart?.();
  const kvm = p.open("/dev/kvm");
  const vm = p.ioctl(kvm, KVM_CREATE_VM, 5);
  p.ioctl(vm, KVM_ENABLE_CAP, kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] }));
  p.userMemory.writeBytes(STRUCT, kvmTdxCapabilitiesFixed.encode({ cpuid: { nent: 64, padding: 0 } }));
  op(p, vm, KvmTdx.CAPABILITIES, STRUCT);
  const nent = kvmTdxCapabilitiesFixed.decode(p.userMemory.readBytes(STRUCT, kvmTdxCapabilitiesFixed.size))
    .cpuid.nent;
  const entries = Array.from({ length: nent }, (_, i) => {
    const e = kvmCpuidEntry2.decode(
      p.userMemory.readBytes(STRUCT + kvmTdxCapabilitiesFixed.size + 40 * i, 40),
    );
    if (e.function === 1) e.eax = 0;
    if (e.function === 0x80000008) e.eax = 48 << 16;
    return e;
  });
  p.userMemory.writeBytes(STRUCT, kvmTdxInitVmFixed.encode({ xfam: 3n, cpuid: { nent, padding: 0 } }));
  entries.forEach((e, i) => {
    p.userMemory.writeBytes(STRUCT + kvmTdxInitVmFixed.size + 40 * i, kvmCpuidEntry2.encode(e));
  });
  op(p, vm, KvmTdx.INIT_VM, STRUCT);
  const vcpu = p.ioctl(vm, KVM_CREATE_VCPU, 0);
  p.userMemory.writeBytes(STRUCT, kvmCpuid2Header.encode({ nent: 256, padding: 0 }));
  op(p, vcpu, KvmTdx.GET_CPUID, STRUCT);
  p.ioctl(vcpu, KVM_SET_CPUID2, STRUCT); // x2APIC, as the selftests do before INIT_VCPU
  op(p, vcpu, KvmTdx.INIT_VCPU, 0);
  const size = Math.max(imageBytes, 1 << 21);
  const slotBase = o.gpa - (o.gpa % (1 << 21));
  const gmem = p.ioctl(vm, KVM_CREATE_GUEST_MEMFD, kvmCreateGuestMemfd.encode({ size: BigInt(size) }));
  p.ioctl(
    vm,
    KVM_SET_USER_MEMORY_REGION2,
    kvmUserspaceMemoryRegion2.encode({
      slot: 0,
      flags: KvmMem.GUEST_MEMFD,
      guest_phys_addr: BigInt(slotBase),
      memory_size: BigInt(size),
      userspace_addr: 0x4000_0000n,
      guest_memfd: gmem,
    }),
  );
  p.ioctl(
    vm,
    KVM_SET_MEMORY_ATTRIBUTES,
    kvmMemoryAttributes.encode({ address: BigInt(slotBase), size: BigInt(size), attributes: 8n }),
  );
  const pages = imageBytes / 4096;
  p.userMemory.writeBytes(
    STRUCT,
    kvmTdxInitMemRegion.encode({ source_addr: BigInt(SOURCE), gpa: BigInt(o.gpa), nr_pages: BigInt(pages) }),
  );
  op(p, vcpu, KvmTdx.INIT_MEM_REGION, STRUCT, KVM_TDX_MEASURE_MEMORY_REGION);
  op(p, vm, KvmTdx.FINALIZE_VM, 0);
  return { p, vcpu };
}
