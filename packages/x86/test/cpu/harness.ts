// A ready-made 64-bit guest for CPU tests: identity-mapped 1 GiB (2 MiB pages, user-accessible),
// 16 MiB of RAM (GPAs above are MMIO), a GDT with kernel and user segments, a TSS (RSP0), and an
// IDT whose 256 vectors point at `hlt` stubs: after an exception the CPU stops with "hlt" and
// RIP = STUBS + vector * 16 + 1, the error code (if any) at [RSP].
import { SparseMemory } from "@tdxsim/memory";
import { assembleText } from "../../src/asm/index.js";
import {
  AR_DB,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  Cpu,
  type CpuOptions,
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_OSFXSR,
  CR4_OSXMMEXCPT,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  FlatGuestPhysicalMap,
  type GuestPhysicalMap,
  SEG_CS,
  SEG_TR,
  setSegment,
  writeGuestPhysical,
  writeRflags,
} from "../../src/index.js";

export const RAM = 16 * 1024 * 1024;
export const CODE = 0x100000;
export const STUBS = 0x200000;
export const STACK = 0x80000;
export const RSP0 = 0x90000;
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD = 0x3000;
const GDT = 0x5000;
const IDT = 0x6000;
const TSS = 0x8000;

export interface Guest {
  cpu: Cpu;
  mem: SparseMemory;
  map: GuestPhysicalMap;
  labels: Map<string, bigint>;
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export function guest64(
  source: string,
  opts: { user?: boolean; wrapMap?: (m: GuestPhysicalMap) => GuestPhysicalMap } & Partial<CpuOptions> = {},
): Guest {
  const mem = new SparseMemory(RAM);
  const flat = new FlatGuestPhysicalMap(mem);
  const map = opts.wrapMap ? opts.wrapMap(flat) : flat;
  const cpu = new Cpu({ ...opts, map });
  const w = (gpa: number, b: Uint8Array) => writeGuestPhysical(flat, gpa, b);
  w(PML4, u64(BigInt(PDPT | 7)));
  w(PDPT, u64(BigInt(PD | 7)));
  for (let i = 0; i < 512; i++) w(PD + i * 8, u64(BigInt(i * 0x200000 + 0x87)));
  // GDT: null, kernel code64 (0x08), kernel data (0x10), user data (0x1b), user code64 (0x23), TSS (0x28)
  const gdt = [0n, 0x00209a0000000000n, 0x0000920000000000n, 0x0000f20000000000n, 0x0020fa0000000000n];
  gdt.forEach((d, i) => {
    w(GDT + i * 8, u64(d));
  });
  const tssDesc = 0x67n | (BigInt(TSS & 0xffffff) << 16n) | (0x89n << 40n);
  w(GDT + 40, u64(tssDesc));
  w(GDT + 48, u64(0n));
  w(TSS + 4, u64(BigInt(RSP0)));
  w(TSS + 102, new Uint8Array([0x68, 0])); // I/O map base beyond the limit: no bitmap, CPL > IOPL I/O is #GP(0)
  for (let v = 0; v < 256; v++) {
    const target = BigInt(STUBS + v * 16);
    const lo = (target & 0xffffn) | (0x08n << 16n) | (0x8en << 40n) | (((target >> 16n) & 0xffffn) << 48n);
    w(IDT + v * 16, u64(lo));
    w(IDT + v * 16 + 8, u64(target >> 32n));
    w(STUBS + v * 16, new Uint8Array([0xf4])); // hlt
  }
  const { bytes, labels } = assembleText(source, { mode: 64, origin: CODE });
  w(CODE, bytes);
  setLongModeState(cpu, opts.user === true);
  return { cpu, mem, map, labels };
}

/** The entry state of guest64: long mode, paging on, flat segments, IDT/GDT/TSS loaded, RIP = CODE. */
export function setLongModeState(cpu: Cpu, user: boolean): void {
  const st = cpu.st;
  st.cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_WP;
  st.cr3Lo = PML4;
  st.cr3Hi = 0;
  st.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  st.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
  st.gdtrBaseLo = GDT;
  st.gdtrBaseHi = 0;
  st.gdtrLimit = 55;
  st.idtrBaseLo = IDT;
  st.idtrBaseHi = 0;
  st.idtrLimit = 256 * 16 - 1;
  st.halted = false;
  st.nmiBlocked = false;
  const data = AR_P | AR_S | 0x3 | AR_DB | AR_G | (user ? 3 << 5 : 0);
  for (let s = 0; s < 6; s++) setSegment(st.seg, s, user ? 0x1b : 0x10, 0, 0, -1, data);
  setSegment(
    st.seg,
    SEG_CS,
    user ? 0x23 : 0x08,
    0,
    0,
    -1,
    AR_P | AR_S | 0xb | AR_L | AR_G | (user ? 3 << 5 : 0),
  );
  setSegment(st.seg, SEG_TR, 0x28, TSS, 0, 0x67, AR_P | 0xb);
  writeRflags(st.r, 0x2);
  st.r[32] = CODE;
  st.r[33] = 0;
  st.r[8] = STACK; // RSP
  st.r[9] = 0;
  cpu.syncMode();
}

/** RIP as a number. */
export const rip = (cpu: Cpu): number => (cpu.r[33] >>> 0) * 2 ** 32 + (cpu.r[32] >>> 0);
/** The vector whose hlt stub the CPU stopped in. */
export const stubVector = (cpu: Cpu): number => (rip(cpu) - 1 - STUBS) / 16;
/** 64-bit GPR n as a bigint. */
export const reg = (cpu: Cpu, n: number): bigint =>
  (BigInt(cpu.r[2 * n + 1] >>> 0) << 32n) | BigInt(cpu.r[2 * n] >>> 0);
/** A 64-bit value of guest memory. */
export function peek64(mem: SparseMemory, gpa: number): bigint {
  const w = mem.peekWords(Math.floor(gpa / 4096));
  if (!w) return 0n;
  const i = (gpa % 4096) >> 2;
  return (BigInt(w[i + 1] >>> 0) << 32n) | BigInt(w[i] >>> 0);
}
