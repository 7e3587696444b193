// Throughput of the TD paths through @tdxsim/kvm, run with:
//   pnpm --filter @tdxsim/bench bench kvm-td
// 1. KVM_RUN → TDVMCALL<Instruction.IO> OUT exit → KVM_RUN round trips, raw face (ioctl + kvm_run
//    bytes) and typed face (Vcpu.kvmRun → VcpuExit), with an executor that issues the TDVMCALL at
//    once (the cost of the guest's own instructions is the CPU's, not measured here).
// 2. Creating and finalizing a TD with a 64 MiB measured image (KVM_TDX_INIT_MEM_REGION + MEASURE).

import {
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_RUN,
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
  type Vcpu,
} from "@tdxsim/kvm";
import { setReg, TdcallOutcome, type TdGuestExecutor, TdRunResult, type TdVcpu } from "@tdxsim/tdx-module";

/** A guest that does TDVMCALL<IO> OUT 0x80 forever. */
const ioGuest: TdGuestExecutor = {
  run(v: TdVcpu): number {
    v.regs.longMode64 = true;
    v.regs.cpl = 0;
    const g = v.regs.gpr;
    setReg(g, 0, 0n);
    setReg(g, 1, 0xfc00n);
    setReg(g, 10, 0n);
    setReg(g, 11, 30n);
    setReg(g, 12, 1n);
    setReg(g, 13, 1n);
    setReg(g, 14, 0x80n);
    setReg(g, 15, 0x41n);
    return v.tdcall() === TdcallOutcome.TD_EXIT ? TdRunResult.TD_EXIT : TdRunResult.TRIPLE_FAULT;
  },
};

const CMD = 0x10_0000;
const STRUCT = 0x20_0000;
const SOURCE = 0x1000_0000;

function op(p: KvmProcess, fd: number, id: number, data: number, flags = 0): void {
  p.userMemory.writeBytes(CMD, kvmTdxCmd.encode({ id, flags, data: BigInt(data) }));
  if (p.ioctl(fd, KVM_MEMORY_ENCRYPT_OP, CMD) !== 0) throw p.lastError;
}

function buildTd(imageBytes: number) {
  const p = new KvmProcess({ tdGuestExecutor: ioGuest });
  const kvm = p.open("/dev/kvm");
  const vm = p.ioctl(kvm, KVM_CREATE_VM, 5);
  p.ioctl(vm, KVM_ENABLE_CAP, kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] }));
  p.userMemory.writeBytes(STRUCT, kvmTdxCapabilitiesFixed.encode({ cpuid: { nent: 64, padding: 0 } }));
  op(p, vm, KvmTdx.CAPABILITIES, STRUCT);
  const nent = kvmTdxCapabilitiesFixed.decode(p.userMemory.readBytes(STRUCT, kvmTdxCapabilitiesFixed.size))
    .cpuid.nent;
  const entries = Array.from({ length: nent }, (_, i) => {
    const e = kvmCpuidEntry2.decode(p.userMemory.readBytes(STRUCT + 2056 + 40 * i, 40));
    if (e.function === 1) e.eax = 0;
    if (e.function === 0x80000008) e.eax = 48 << 16;
    return e;
  });
  p.userMemory.writeBytes(STRUCT, kvmTdxInitVmFixed.encode({ xfam: 3n, cpuid: { nent, padding: 0 } }));
  entries.forEach((e, i) => {
    p.userMemory.writeBytes(STRUCT + 264 + 40 * i, kvmCpuidEntry2.encode(e));
  });
  op(p, vm, KvmTdx.INIT_VM, STRUCT);
  const vcpu = p.ioctl(vm, KVM_CREATE_VCPU, 0);
  p.userMemory.writeBytes(STRUCT, kvmCpuid2Header.encode({ nent: 256, padding: 0 }));
  op(p, vcpu, KvmTdx.GET_CPUID, STRUCT);
  p.ioctl(vcpu, KVM_SET_CPUID2, STRUCT); // x2APIC, as the selftests do before INIT_VCPU
  op(p, vcpu, KvmTdx.INIT_VCPU, 0);
  const size = Math.max(imageBytes, 1 << 21);
  const gmem = p.ioctl(vm, KVM_CREATE_GUEST_MEMFD, kvmCreateGuestMemfd.encode({ size: BigInt(size) }));
  p.ioctl(
    vm,
    KVM_SET_USER_MEMORY_REGION2,
    kvmUserspaceMemoryRegion2.encode({
      slot: 0,
      flags: KvmMem.GUEST_MEMFD,
      memory_size: BigInt(size),
      userspace_addr: 0x4000_0000n,
      guest_memfd: gmem,
    }),
  );
  p.ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, kvmMemoryAttributes.encode({ size: BigInt(size), attributes: 8n }));
  const pages = Math.max(1, imageBytes / 4096);
  for (let i = 0; i < pages; i++) p.userMemory.write32(SOURCE + i * 4096, i);
  p.userMemory.writeBytes(
    STRUCT,
    kvmTdxInitMemRegion.encode({ source_addr: BigInt(SOURCE), gpa: 0n, nr_pages: BigInt(pages) }),
  );
  op(p, vcpu, KvmTdx.INIT_MEM_REGION, STRUCT, KVM_TDX_MEASURE_MEMORY_REGION);
  op(p, vm, KvmTdx.FINALIZE_VM, 0);
  return { p, vcpu };
}

function roundTrips(label: string, n: number, once: () => void, baseline?: number): number {
  for (let i = 0; i < n / 10; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) once();
  const rate = n / ((performance.now() - t0) / 1000);
  const ratio = baseline ? ` (${(rate / baseline).toFixed(2)}× bare TDH.VP.ENTER)` : "";
  console.log(`${label}: ${(rate / 1e6).toFixed(2)} M round trips/s${ratio}`);
  return rate;
}

const { p, vcpu } = buildTd(4096);
const run = p.mmap(vcpu, 12288)!;
const N = 1_000_000;
const typed = p.file(vcpu) as Vcpu;
// baseline in the same process: TDH.VP.ENTER alone (module + executor), no KVM around it
const td = typed.vm.tdx;
const tdvpr = td.vcpuPages.get(0)!.tdvpr;
const hostGpr = new Int32Array(32);
const out = new Int32Array(32);
const bare = roundTrips("baseline: TDH.VP.ENTER → TDCALL exit, no KVM", N, () => {
  td.module.enter(tdvpr, hostGpr, out);
});
roundTrips(
  "KVM_RUN → TDVMCALL IO OUT → KVM_RUN, raw face",
  N,
  () => {
    if (p.ioctl(vcpu, KVM_RUN, 0) !== 0 || run[8] !== 2) throw new Error("not an IO exit");
  },
  bare,
);
roundTrips(
  "KVM_RUN → TDVMCALL IO OUT → KVM_RUN, typed face",
  N,
  () => {
    if (typed.kvmRun().kind !== "io") throw new Error("not an IO exit");
  },
  bare,
);

const MiB64 = 64 << 20;
for (let i = 0; i < 2; i++) {
  const t0 = performance.now();
  buildTd(MiB64);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `create + 64 MiB measured INIT_MEM_REGION + finalize: ${s.toFixed(2)} s = ${(64 / s).toFixed(1)} MiB/s`,
  );
}
