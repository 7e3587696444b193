// KVM_RUN → KVM_EXIT_IO → KVM_RUN round trips of a normal (KVM_X86_DEFAULT_VM) vCPU on the x86
// core, run with:
//   pnpm --filter @tdxsim/bench bench kvm-normal
// The guest is `loop: out 0x80, al; jmp loop` in 64-bit long mode, entered through KVM_SET_SREGS
// (page tables from PageTableBuilder, a GDT in guest memory), as classic KVM selftests do.
// Baseline, same process: the bare Cpu running the same guest (run → io stop → skipInstruction),
// i.e. what KVM adds on top of the CPU is the ratio.
import { KVM_RUN, KvmProcess, type KvmSregs, type Vcpu } from "@tdxsim/kvm";
import { linearPageAllocator, PageTableBuilder, SparseMemory } from "@tdxsim/memory";
import { Cpu, FlatGuestPhysicalMap, writeGuestPhysical } from "@tdxsim/x86";
import { assembleText } from "@tdxsim/x86/asm";

const UADDR = 0x4000_0000;
const RAM = 4 << 20;
const GDT = 0x10000;
const TSS = 0x12000;
const CODE = 0x100000;
const GUEST = "loop: out 0x80, al\njmp loop";

function q(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

/** Page tables, GDT (code64, data, TSS) and the guest code, written through `write`; returns CR3. */
function buildGuest(write: (gpa: number, b: Uint8Array) => void, read32: (gpa: number) => number): number {
  const b = new PageTableBuilder({
    levels: 4,
    memory: {
      read64(gpa, out) {
        out[0] = read32(gpa);
        out[1] = read32(gpa + 4);
      },
      write64(gpa, lo, hi) {
        const x = new Uint8Array(8);
        const v = new DataView(x.buffer);
        v.setUint32(0, lo >>> 0, true);
        v.setUint32(4, hi >>> 0, true);
        write(gpa, x);
      },
    },
    allocTable: linearPageAllocator(0x1000, 0x10000),
  });
  b.map(0, 0, RAM, { maxPageSize: 2 << 20 });
  [0n, 0x00209a0000000000n, 0x00cf92000000ffffn].forEach((d, i) => {
    write(GDT + 8 * i, q(d));
  });
  write(GDT + 24, q(0x67n | (BigInt(TSS) << 16n) | (0x8bn << 40n)));
  write(CODE, assembleText(GUEST, { mode: 64, origin: CODE }).bytes);
  return b.root;
}

function longMode(s: KvmSregs, cr3: number): KvmSregs {
  const code = {
    base: 0n,
    limit: 0xffffffff,
    selector: 8,
    type: 11,
    present: 1,
    dpl: 0,
    db: 0,
    s: 1,
    l: 1,
    g: 1,
    avl: 0,
    unusable: 0,
    padding: 0,
  };
  const data = { ...code, selector: 0x10, type: 3, db: 1, l: 0 };
  return {
    ...s,
    cs: code,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    tr: { ...code, selector: 0x18, base: BigInt(TSS), limit: 0x67, s: 0, l: 0, g: 0 },
    ldt: { ...code, selector: 0, type: 2, s: 0, l: 0, g: 0, present: 0, unusable: 1 },
    gdt: { base: BigInt(GDT), limit: 39, padding: [0, 0, 0] },
    cr0: 0x80050033n,
    cr3: BigInt(cr3),
    cr4: 0x620n,
    efer: 0xd00n,
  };
}

function normalVm() {
  const p = new KvmProcess();
  const vm = p.openKvm().createVm(0);
  vm.setUserMemoryRegion({
    slot: 0,
    flags: 0,
    guestPhysAddr: 0n,
    memorySize: BigInt(RAM),
    userspaceAddr: BigInt(UADDR),
  });
  const vcpu: Vcpu = vm.createVcpu(0);
  const cr3 = buildGuest(
    (gpa, b) => p.userMemory.writeBytes(UADDR + gpa, b),
    (gpa) => p.userMemory.read32(UADDR + gpa),
  );
  vcpu.setSregs(longMode(vcpu.getSregs(), cr3));
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(CODE), rsp: 0x200000n, rflags: 2n });
  return { p, vcpu, run: p.mmap(vcpu.fd, 12288)! };
}

function roundTrips(label: string, n: number, once: () => void, baseline?: number): number {
  for (let i = 0; i < n / 10; i++) once();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) once();
  const rate = n / ((performance.now() - t0) / 1000);
  const ratio = baseline ? ` (${(rate / baseline).toFixed(2)}× the bare CPU)` : "";
  console.log(`${label}: ${(rate / 1e6).toFixed(2)} M round trips/s${ratio}`);
  return rate;
}

const N = 1_000_000;

// baseline: the same guest on a bare Cpu over flat memory, no KVM
const mem = new SparseMemory(RAM);
const flat = new FlatGuestPhysicalMap(mem);
const cr3 = buildGuest(
  (gpa, b) => writeGuestPhysical(flat, gpa, b),
  (gpa) => mem.read32(gpa),
);
const cpu = new Cpu({ map: flat });
{
  const { vcpu } = normalVm(); // borrow the long-mode state KVM_GET_SREGS/SET_SREGS produced
  cpu.setSregs({ ...vcpu.normal.cpu.getSregs(), cr3: BigInt(cr3) });
  cpu.setRegs(vcpu.normal.cpu.getRegs());
}
const bare = roundTrips("baseline: bare Cpu.run → io stop → skipInstruction", N, () => {
  if (cpu.run(1000).reason !== "io") throw new Error("not an io stop");
  cpu.skipInstruction();
});

const raw = normalVm();
roundTrips(
  "KVM_RUN → KVM_EXIT_IO OUT → KVM_RUN, raw face (ioctl + kvm_run bytes)",
  N,
  () => {
    if (raw.p.ioctl(raw.vcpu.fd, KVM_RUN, 0) !== 0 || raw.run[8] !== 2) throw new Error("not an IO exit");
  },
  bare,
);
const typed = normalVm();
roundTrips(
  "KVM_RUN → KVM_EXIT_IO OUT → KVM_RUN, typed face (Vcpu.kvmRun → VcpuExit)",
  N,
  () => {
    if (typed.vcpu.kvmRun().kind !== "io") throw new Error("not an IO exit");
  },
  bare,
);
