// A normal (non-TD) VM set up the way classic KVM selftests do it, through raw ioctls only:
// KVM_CREATE_VM(0), one memslot of user memory, page tables built with @tdxsim/memory's
// PageTableBuilder, a GDT/TSS/IDT in guest memory, KVM_SET_SREGS straight into 64-bit long mode,
// KVM_SET_REGS with RIP at the assembled guest code. Every IDT vector has a stub that reports its
// vector with `out 0xee, eax` and halts, so exceptions show up as KVM_EXIT_IO on port 0xee.
import { linearPageAllocator, PageTableBuilder, type PteMemory } from "@tdxsim/memory";
import { assembleText } from "@tdxsim/x86/asm";
import { expect } from "vitest";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_RUN,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_USER_MEMORY_REGION,
  KvmProcess,
  type KvmRegs,
  type KvmSregs,
  kvmRegs,
  kvmSregs,
  kvmUserspaceMemoryRegion,
} from "../src/index.js";

export const MiB = 1024 * 1024;
/** Guest RAM: GPA [0, 4 MiB) in slot 0, backed by the VMM's memory at UADDR. */
export const RAM_SIZE = 4 * MiB;
export const UADDR = 0x4000_0000;
/** Scratch user memory for ioctl argument structs. */
export const ARGS = 0x1000_0000;
const TABLES = 0x1000;
const TABLES_END = 0x10000;
export const GDT = 0x10000;
export const IDT = 0x11000;
export const TSS = 0x12000;
export const STUBS = 0x20000;
export const CODE = 0x100000;
export const STACK_TOP = 0x200000;
/** TSS.RSP0 (a stack below STACK_TOP for interrupts and exceptions from CPL 3). */
export const RSP0 = 0x1f0000;
/** A GPA outside every memslot, mapped 1:1 for MMIO tests. */
export const MMIO = 0xc000_0000;
/** Exceptions and interrupts report their vector here. */
export const VECTOR_PORT = 0xee;

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

export class NormalVmFixture {
  readonly p = new KvmProcess();
  readonly kvmFd: number;
  readonly vmFd: number;
  readonly vcpuFd: number;
  readonly run: Uint8Array;
  readonly view: DataView;
  labels = new Map<string, bigint>();

  constructor() {
    const p = this.p;
    this.kvmFd = p.open("/dev/kvm");
    this.vmFd = p.ioctl(this.kvmFd, KVM_CREATE_VM, 0);
    expect(this.vmFd).toBeGreaterThan(0);
    const region = kvmUserspaceMemoryRegion.encode({
      slot: 0,
      flags: 0,
      guest_phys_addr: 0n,
      memory_size: BigInt(RAM_SIZE),
      userspace_addr: BigInt(UADDR),
    });
    expect(p.ioctl(this.vmFd, KVM_SET_USER_MEMORY_REGION, region)).toBe(0);
    this.vcpuFd = p.ioctl(this.vmFd, KVM_CREATE_VCPU, 0);
    expect(this.vcpuFd).toBeGreaterThan(0);
    this.run = p.mmap(this.vcpuFd, 12288)!;
    this.view = dv(this.run);
    this.buildSystemTables();
  }

  /** Guest-physical bytes, through the VMM's view of guest RAM. */
  writeGpa(gpa: number, bytes: Uint8Array): void {
    this.p.userMemory.writeBytes(UADDR + gpa, bytes);
  }

  readGpa(gpa: number, length: number): Uint8Array {
    return this.p.userMemory.readBytes(UADDR + gpa, length);
  }

  /** Zero and rebuild page tables, GDT, TSS and IDT (after a guest may have scribbled on them). */
  rebuildSystemTables(): void {
    this.writeGpa(0, new Uint8Array(STUBS + 0x1000));
    this.buildSystemTables();
  }

  private buildSystemTables(): void {
    const mem = this.p.userMemory;
    const pte: PteMemory = {
      read64(gpa, out) {
        out[0] = mem.read32(UADDR + gpa);
        out[1] = mem.read32(UADDR + gpa + 4);
      },
      write64(gpa, lo, hi) {
        mem.write32(UADDR + gpa, lo);
        mem.write32(UADDR + gpa + 4, hi);
      },
    };
    const b = new PageTableBuilder({
      levels: 4,
      memory: pte,
      allocTable: linearPageAllocator(TABLES, TABLES_END),
    });
    b.map(0, 0, RAM_SIZE, { maxPageSize: 2 * MiB, user: true }); // user-accessible: CPL 3 tests
    b.map(MMIO, MMIO, 0x1000, { maxPageSize: 0x1000 });
    this.cr3 = b.root;
    const q = (v: bigint) => {
      const x = new Uint8Array(8);
      dv(x).setBigUint64(0, v, true);
      return x;
    };
    // GDT: null, code64 (0x08), data (0x10), 64-bit TSS (0x18, two slots)
    [0n, 0x00209a0000000000n, 0x00cf92000000ffffn].forEach((d, i) => {
      this.writeGpa(GDT + 8 * i, q(d));
    });
    this.writeGpa(GDT + 24, q(0x67n | (BigInt(TSS) << 16n) | (0x8bn << 40n)));
    this.writeGpa(TSS + 4, q(BigInt(RSP0))); // RSP0: the stack for events taken at CPL 3
    // IDT: vector v → STUBS + 16v: mov eax, v; out 0xee, eax; hlt
    for (let v = 0; v < 256; v++) {
      const stub = STUBS + 16 * v;
      this.writeGpa(
        stub,
        assembleText(`mov eax, ${v}\nout ${VECTOR_PORT}, eax\nstop: hlt\njmp stop`, { mode: 64 }).bytes,
      );
      const lo =
        BigInt(stub & 0xffff) | (0x08n << 16n) | (0x8en << 40n) | (BigInt((stub >>> 16) & 0xffff) << 48n);
      this.writeGpa(IDT + 16 * v, q(lo));
      this.writeGpa(IDT + 16 * v + 8, q(0n));
    }
  }

  cr3 = 0;

  /** The long-mode kvm_sregs of a KVM selftest vCPU (vcpu_init_sregs), on top of KVM_GET_SREGS. */
  longModeSregs(): KvmSregs {
    const s = this.getSregs();
    const code = {
      base: 0n,
      limit: 0xffffffff,
      selector: 0x08,
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
      tr: { ...code, selector: 0x18, base: BigInt(TSS), limit: 0x67, type: 11, s: 0, l: 0, g: 0 },
      ldt: { ...code, selector: 0, type: 2, s: 0, l: 0, g: 0, unusable: 1, present: 0 },
      gdt: { base: BigInt(GDT), limit: 39, padding: [0, 0, 0] },
      idt: { base: BigInt(IDT), limit: 256 * 16 - 1, padding: [0, 0, 0] },
      cr0: 0x80050033n, // PE MP ET NE WP AM PG
      cr3: BigInt(this.cr3),
      cr4: 0x620n, // PAE OSFXSR OSXMMEXCPT
      efer: 0xd00n, // LME LMA NXE
    };
  }

  /** Assemble `source` at CODE, enter long mode through KVM_SET_SREGS, RIP = CODE, RSP = STACK_TOP. */
  load(source: string): void {
    const { bytes, labels } = assembleText(source, { mode: 64, origin: CODE });
    this.labels = labels;
    this.writeGpa(CODE, bytes);
    expect(this.setSregs(this.longModeSregs())).toBe(0);
    const regs = this.getRegs();
    expect(this.setRegs({ ...regs, rip: BigInt(CODE), rsp: BigInt(STACK_TOP), rflags: 2n })).toBe(0);
  }

  ioctl(request: number, arg: number | bigint | Uint8Array = 0): number {
    return this.p.ioctl(this.vcpuFd, request, arg);
  }

  kvmRun(): number {
    return this.ioctl(KVM_RUN, 0);
  }

  get exitReason(): number {
    return this.view.getUint32(8, true);
  }

  /** kvm_run.io as numbers, and the PIO data it points at. */
  get io() {
    const v = this.view;
    const dataOffset = Number(v.getBigUint64(40, true));
    const size = this.run[33]!;
    const count = v.getUint32(36, true);
    return {
      direction: this.run[32]!,
      size,
      port: v.getUint16(34, true),
      count,
      dataOffset,
      data: this.run.subarray(dataOffset, dataOffset + size * count),
    };
  }

  get mmio() {
    const v = this.view;
    return {
      physAddr: v.getBigUint64(32, true),
      data: this.run.subarray(40, 48),
      len: v.getUint32(48, true),
      isWrite: this.run[52]!,
    };
  }

  getRegs(): KvmRegs {
    expect(this.ioctl(KVM_GET_REGS, ARGS)).toBe(0);
    return kvmRegs.decode(this.p.userMemory.readBytes(ARGS, kvmRegs.size));
  }

  setRegs(regs: KvmRegs): number {
    this.p.userMemory.writeBytes(ARGS, kvmRegs.encode(regs));
    return this.ioctl(KVM_SET_REGS, ARGS);
  }

  getSregs(): KvmSregs {
    expect(this.ioctl(KVM_GET_SREGS, ARGS)).toBe(0);
    return kvmSregs.decode(this.p.userMemory.readBytes(ARGS, kvmSregs.size));
  }

  setSregs(sregs: KvmSregs): number {
    this.p.userMemory.writeBytes(ARGS, kvmSregs.encode(sregs));
    return this.ioctl(KVM_SET_SREGS, ARGS);
  }

  /** Run and expect KVM_EXIT_IO OUT on `port`; returns the first element's value. */
  expectOut(port: number, size = 4): number {
    expect(this.kvmRun()).toBe(0);
    const io = this.io;
    expect({ reason: this.exitReason, direction: io.direction, port: io.port, size: io.size }).toEqual({
      reason: 2,
      direction: 1,
      port,
      size,
    });
    const d = dv(io.data);
    return size === 1 ? io.data[0]! : size === 2 ? d.getUint16(0, true) : d.getUint32(0, true);
  }
}
