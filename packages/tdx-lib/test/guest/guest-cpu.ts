// Runs guest-library code on the real @tdxsim/x86 CPU for the guest-half tests: a flat 4 GiB
// guest-physical space (SparseMemory, only touched pages allocated), TDCALL stops answered by
// the test (which plays the TDX module and the VMM), everything else that stops the CPU is an
// error naming the stop. Two entry states:
// - `long64()`: 64-bit mode with an identity map of the low 4 GiB, the library's GDT and an
//   IDT, so a routine can be called with SysV arguments (`call`) or entered through a gate
//   (`deliverException`);
// - `reset32()`: the TD vCPU reset state (32-bit protected mode, paging off, EFER = 0x901),
//   for td_boot.
import { SparseMemory } from "@tdxsim/memory";
import {
  AR_DB,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  Cpu,
  type CpuStop,
  FlatGuestPhysicalMap,
  GPR_NAMES,
  SEG_CS,
  setSegment,
  writeRflags,
} from "@tdxsim/x86";
import {
  buildGdtPage,
  encodeGateDescriptor64,
  GATE_TYPE_INTERRUPT64,
  GDT_LIMIT,
  IDT_LIMIT,
  SELFTEST_64BIT_EFER,
  TD_BOOT_CR0,
  TD_BOOT_CR4,
  TD_RESET_CR0,
  TD_RESET_EFER,
} from "../../src/index.js";

/** GPR numbers by lower-case name (the order of the CPU's register file, x86's GPR_NAMES). */
export const GPR = Object.fromEntries(GPR_NAMES.map((name, n) => [name, n])) as {
  readonly [name in (typeof GPR_NAMES)[number]]: number;
};

const MASK64 = (1n << 64n) - 1n;
const RIP_LO = 32;
const RIP_HI = 33;
const FOUR_GIB = 2 ** 32;

// Where long64() keeps its system structures: clear of the addresses the tests use (image at
// 0x400000, data 0x500000–0x800000), below the 16 MiB the tests stay under.
const PML4 = 0xa0_0000;
const PDPT = 0xa0_1000;
const PD0 = 0xa0_2000; // four PDs: 4 × 1 GiB of 2 MiB pages
const GDT = 0xa1_0000;
const IDT = 0xa1_1000;
/** A page of HLT: the return address `call` pushes, so a routine's RET stops the CPU there. */
const RETURN_PAGE = 0xa2_0000;
const HLT = 0xf4;

export class GuestCpu {
  readonly mem = new SparseMemory(FOUR_GIB);
  readonly cpu = new Cpu({ map: new FlatGuestPhysicalMap(this.mem) });
  /** GPRs by number, read and written in the CPU's register file. */
  readonly regs: bigint[];
  /** Instructions retired across every run. */
  retired = 0;

  constructor(
    /**
     * Called at TDCALL with the GPRs; it updates them as the module / VMM would. Returning
     * true ends the run after the TDCALL (the VMM took the exit to user space).
     */
    private readonly onTdcall: (regs: bigint[]) => unknown,
  ) {
    const r = this.cpu.r;
    this.regs = new Proxy([] as bigint[], {
      get: (_t, p) => {
        if (typeof p === "symbol" || !/^\d+$/.test(p)) return undefined;
        const n = Number(p);
        return (BigInt(r[2 * n + 1] >>> 0) << 32n) | BigInt(r[2 * n] >>> 0);
      },
      set: (_t, p, v: bigint) => {
        const n = Number(p as string);
        const value = BigInt.asUintN(64, v);
        r[2 * n] = Number(value & 0xffff_ffffn) | 0;
        r[2 * n + 1] = Number(value >> 32n) | 0;
        return true;
      },
    });
  }

  get rip(): bigint {
    const r = this.cpu.r;
    return (BigInt(r[RIP_HI] >>> 0) << 32n) | BigInt(r[RIP_LO] >>> 0);
  }

  set rip(v: bigint) {
    this.cpu.r[RIP_LO] = Number(v & 0xffff_ffffn) | 0;
    this.cpu.r[RIP_HI] = Number(v >> 32n) | 0;
  }

  load(address: bigint, bytes: Uint8Array): void {
    this.mem.writeBytes(Number(address), bytes);
    this.cpu.flushDecodedBlocks();
  }

  read(address: bigint, size: number): bigint {
    const b = this.mem.readBytes(Number(address), size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  }

  write(address: bigint, size: number, value: bigint): void {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = Number((value >> BigInt(8 * i)) & 0xffn);
    this.load(address, b);
  }

  /** 64-bit mode, CPL 0, identity-mapped low 4 GiB, the library's GDT, an empty IDT. */
  long64(): this {
    const st = this.cpu.st;
    this.write(BigInt(PML4), 8, BigInt(PDPT | 3));
    for (let i = 0; i < 4; i++) {
      this.write(BigInt(PDPT + 8 * i), 8, BigInt(PD0 + 0x1000 * i + 3));
      const pd = new Uint8Array(4096);
      const v = new DataView(pd.buffer);
      for (let j = 0; j < 512; j++) {
        const gpa = i * 2 ** 30 + j * 0x20_0000;
        v.setUint32(8 * j, (gpa % FOUR_GIB) + 0x83, true); // P | RW | PS
        v.setUint32(8 * j + 4, 0, true);
      }
      this.load(BigInt(PD0 + 0x1000 * i), pd);
    }
    this.load(BigInt(GDT), buildGdtPage(0));
    this.load(BigInt(RETURN_PAGE), new Uint8Array(4096).fill(HLT));
    st.cr0 = TD_BOOT_CR0 | 0x10; // ET reads as 1
    st.cr3Lo = PML4;
    st.cr3Hi = 0;
    st.cr4 = TD_BOOT_CR4;
    st.efer = SELFTEST_64BIT_EFER | 1; // | SCE, as the TDX module starts a vCPU
    st.gdtrBaseLo = GDT;
    st.gdtrBaseHi = 0;
    st.gdtrLimit = GDT_LIMIT;
    st.idtrBaseLo = IDT;
    st.idtrBaseHi = 0;
    st.idtrLimit = IDT_LIMIT;
    const data = AR_P | AR_S | 0x3 | AR_DB | AR_G;
    for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0x10, 0, 0, -1, data);
    setSegment(st.seg, SEG_CS, 0x08, 0, 0, -1, AR_P | AR_S | 0xb | AR_L | AR_G);
    writeRflags(st.r, 0x2);
    this.cpu.syncMode();
    return this;
  }

  /** The TD vCPU's state at the reset vector: 32-bit flat protected mode, paging off, IF = 0. */
  reset32(): this {
    const st = this.cpu.st;
    st.cr0 = TD_RESET_CR0 | 0x10;
    st.cr4 = 0;
    st.efer = TD_RESET_EFER;
    const data = AR_P | AR_S | 0x3 | AR_DB | AR_G;
    for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0, 0, 0, -1, data);
    setSegment(st.seg, SEG_CS, 0, 0, 0, -1, AR_P | AR_S | 0xb | AR_DB | AR_G);
    writeRflags(st.r, 0x2);
    this.rip = 0xffff_fff0n;
    this.cpu.syncMode();
    return this;
  }

  /** Calls `entry` with SysV arguments (in 64-bit mode) and runs until it returns; returns RAX. */
  call(entry: bigint, args: bigint[] = [], stackTop = 0x80_0000n): bigint {
    const argRegs = [GPR.rdi, GPR.rsi, GPR.rdx, GPR.rcx, GPR.r8, GPR.r9];
    args.forEach((v, i) => {
      this.regs[argRegs[i]] = v & MASK64;
    });
    this.regs[GPR.rsp] = stackTop - 8n;
    this.write(this.regs[GPR.rsp], 8, BigInt(RETURN_PAGE));
    this.rip = entry;
    const stoppedAt = this.runToHlt();
    if (stoppedAt !== BigInt(RETURN_PAGE)) {
      throw new Error(`guest-cpu: HLT at 0x${stoppedAt.toString(16)}, not the return address`);
    }
    return this.regs[GPR.rax];
  }

  /**
   * Raises `vector` (no error code) at `interruptedRip` through a 64-bit interrupt gate to
   * `handler`, and runs until the handler's IRETQ lands: the interrupted code is a run of HLTs,
   * so the CPU stops on the first one reached (`returnedTo`). `during` runs after delivery and
   * may step the CPU (`runUntilRip`) to look at the handler part-way.
   */
  deliverException(vector: number, handler: bigint, interruptedRip: bigint, during?: () => void): void {
    this.load(
      BigInt(IDT + 16 * vector),
      encodeGateDescriptor64({
        offset: handler,
        selector: 0x8,
        type: GATE_TYPE_INTERRUPT64,
        dpl: 0,
        present: true,
      }),
    );
    this.load(interruptedRip, new Uint8Array(32).fill(HLT));
    this.rip = interruptedRip;
    const stop = this.cpu.injectException(vector);
    if (stop !== undefined) throw new Error(`guest-cpu: delivering vector ${vector}: ${describe(stop)}`);
    during?.();
    this.returnedTo = this.runToHlt();
  }

  /** Where the last `deliverException`'s handler returned to. */
  returnedTo: bigint | undefined;

  /** Runs one instruction at a time until RIP = `target` (TDCALLs answered on the way). */
  runUntilRip(target: bigint, limit = 100_000): void {
    for (let i = 0; this.rip !== target; i++) {
      if (i >= limit)
        throw new Error(`guest-cpu: RIP 0x${target.toString(16)} not reached in ${limit} steps`);
      const stop = this.cpu.run(1);
      if (stop.reason !== "budget-exhausted") this.handle(stop);
    }
  }

  /** Runs until HLT; returns the HLT's address. */
  runToHlt(limit = 1_000_000): bigint {
    const end = this.run(limit);
    if (end === "tdcall-exit") throw new Error("guest-cpu: the TDCALL handler ended the run before HLT");
    return end;
  }

  /** Runs until HLT (returns its address) or a TDCALL the handler ends the run at. */
  run(limit = 1_000_000): bigint | "tdcall-exit" {
    this.cpu.st.halted = false;
    for (;;) {
      const stop = this.cpu.run(limit);
      if (stop.reason === "hlt") {
        this.cpu.st.halted = false;
        return this.rip - 1n;
      }
      if (this.handle(stop)) return "tdcall-exit";
    }
  }

  private handle(stop: CpuStop): boolean {
    if (stop.reason !== "tdcall") {
      throw new Error(`guest-cpu: stop at RIP 0x${this.rip.toString(16)}: ${describe(stop)}`);
    }
    const snapshot = Array.from({ length: 16 }, (_, n) => this.regs[n]);
    const exit = this.onTdcall(snapshot) === true;
    snapshot.forEach((v, n) => {
      this.regs[n] = v;
    });
    this.cpu.skipInstruction();
    return exit;
  }
}

function describe(stop: CpuStop): string {
  return JSON.stringify(stop, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
}
