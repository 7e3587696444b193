// Model-specific registers the execution core owns (SDM Vol. 4 numbers). Guest RDMSR/WRMSR
// of any other index is not handled here: the interpreter stops with an rdmsr/wrmsr reason
// and the layer above (KVM-like VM, TDX module) decides, as VMX MSR exiting would.
// Values cross this module as lo/hi int32 pairs; the BigInt API is in api.ts.

import { raiseGP } from "./exception.js";
import { OUT_HI } from "./regs.js";
import { S_BASE_HI, S_BASE_LO, SEG_FS, SEG_GS, SEG_STRIDE } from "./segment.js";
import { type CpuState, CR4_LA57 } from "./state.js";

export const MSR = {
  IA32_TIME_STAMP_COUNTER: 0x10,
  IA32_APIC_BASE: 0x1b,
  IA32_TSC_ADJUST: 0x3b,
  IA32_SPEC_CTRL: 0x48,
  IA32_PRED_CMD: 0x49,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_PAT: 0x277,
  IA32_EFER: 0xc0000080,
  IA32_STAR: 0xc0000081,
  IA32_LSTAR: 0xc0000082,
  IA32_CSTAR: 0xc0000083,
  IA32_FMASK: 0xc0000084,
  IA32_FS_BASE: 0xc0000100,
  IA32_GS_BASE: 0xc0000101,
  IA32_KERNEL_GS_BASE: 0xc0000102,
  IA32_TSC_AUX: 0xc0000103,
} as const;

export type MsrName = keyof typeof MSR;

const NAME_BY_INDEX = new Map<number, MsrName>(
  (Object.entries(MSR) as [MsrName, number][]).map(([name, index]) => [index, name]),
);

export function msrName(index: number): string {
  return NAME_BY_INDEX.get(index >>> 0) ?? `MSR 0x${(index >>> 0).toString(16)}`;
}

/** MSRs kept as plain 64-bit values in CpuState.msrStore, by slot. */
const STORED: number[] = [
  MSR.IA32_TSC_ADJUST,
  MSR.IA32_SPEC_CTRL,
  MSR.IA32_SYSENTER_CS,
  MSR.IA32_SYSENTER_ESP,
  MSR.IA32_SYSENTER_EIP,
  MSR.IA32_MISC_ENABLE,
  MSR.IA32_PAT,
  MSR.IA32_STAR,
  MSR.IA32_LSTAR,
  MSR.IA32_CSTAR,
  MSR.IA32_FMASK,
  MSR.IA32_KERNEL_GS_BASE,
  MSR.IA32_TSC_AUX,
  MSR.IA32_APIC_BASE,
];
const SLOT = new Map<number, number>(STORED.map((index, slot) => [index, slot]));
export const MSR_STORE_SLOTS = STORED.length;

export function msrSlot(index: number): number {
  const s = SLOT.get(index >>> 0);
  if (s === undefined) throw new RangeError(`${msrName(index)} is not a stored MSR`);
  return s;
}

/** True when the execution core implements this MSR; others go to the layer above. */
export function isMsrHandled(index: number): boolean {
  const i = index >>> 0;
  return (
    SLOT.has(i) ||
    i === MSR.IA32_TIME_STAMP_COUNTER ||
    i === MSR.IA32_EFER ||
    i === MSR.IA32_PRED_CMD ||
    i === MSR.IA32_FS_BASE ||
    i === MSR.IA32_GS_BASE
  );
}

export const EFER_SCE = 1 << 0;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_EXTD = 1 << 10;
export const APIC_BASE_EN = 1 << 11;

/** TSC = retired instructions + offset (DESIGN decision 5: no wall clock). Returns lo, hi in r[OUT_HI]. */
export function readTsc(cpu: CpuState): number {
  const n = cpu.retired;
  const rLo = n % 4294967296;
  const rHi = Math.floor(n / 4294967296);
  const lo = rLo + (cpu.tscOffsetLo >>> 0);
  cpu.r[OUT_HI] = (rHi + cpu.tscOffsetHi + (lo > 0xffffffff ? 1 : 0)) | 0;
  return lo | 0;
}

function setTsc(cpu: CpuState, lo: number, hi: number): void {
  // offset = value - retired (mod 2^64)
  const n = cpu.retired;
  const rLo = n % 4294967296;
  const rHi = Math.floor(n / 4294967296);
  const d = (lo >>> 0) - rLo;
  cpu.tscOffsetLo = d | 0;
  cpu.tscOffsetHi = (hi - rHi - (d < 0 ? 1 : 0)) | 0;
}

/** Is lo/hi canonical for a linear-address width of `bits` (48 or 57)? */
export function isCanonical(hi: number, bits: number): boolean {
  const s = 64 - bits;
  return (hi << s) >> s === hi;
}

/**
 * Is lo/hi canonical for the paging mode in use: 57 bits with CR4.LA57, else 48. RIP loads
 * (far JMP/CALL/RET, IRET, SYSRET, gate targets) and stack pointers use this; addresses written to
 * MSRs and descriptor-table registers are checked against the CPU's maximum width instead
 * (`isCanonical(hi, config.linearAddressBits)`; SDM Vol. 3A 4.1.1 on 5-level-paging processors).
 */
export function isCanonicalForMode(cpu: CpuState, hi: number): boolean {
  return isCanonical(hi, cpu.cr4 & CR4_LA57 ? 57 : 48);
}

/** RDMSR of a handled MSR: returns lo, hi in r[OUT_HI]. #GP(0) for write-only MSRs. */
export function readMsr(cpu: CpuState, index: number): number {
  const i = index >>> 0;
  const r = cpu.r;
  switch (i) {
    case MSR.IA32_TIME_STAMP_COUNTER:
      return readTsc(cpu);
    case MSR.IA32_EFER:
      r[OUT_HI] = 0;
      return cpu.efer;
    case MSR.IA32_FS_BASE:
    case MSR.IA32_GS_BASE: {
      const seg = i === MSR.IA32_FS_BASE ? SEG_FS : SEG_GS;
      r[OUT_HI] = cpu.seg[seg * SEG_STRIDE + S_BASE_HI];
      return cpu.seg[seg * SEG_STRIDE + S_BASE_LO];
    }
    case MSR.IA32_PRED_CMD:
      raiseGP(0, "IA32_PRED_CMD is write-only");
  }
  const s = msrSlot(i);
  r[OUT_HI] = cpu.msrStore[2 * s + 1];
  return cpu.msrStore[2 * s];
}

function store(cpu: CpuState, index: number, lo: number, hi: number): void {
  const s = msrSlot(index);
  cpu.msrStore[2 * s] = lo;
  cpu.msrStore[2 * s + 1] = hi;
}

const PAT_VALID_TYPES = 0b11110011; // UC=0 WC=1 WT=4 WP=5 WB=6 UC-=7

/** WRMSR of a handled MSR with the SDM's #GP(0) checks. */
export function writeMsr(cpu: CpuState, index: number, lo: number, hi: number): void {
  const i = index >>> 0;
  const bad = (why: string): never => raiseGP(0, `WRMSR ${msrName(i)}: ${why}`);
  const canonical = () => {
    if (!isCanonical(hi, cpu.config.linearAddressBits)) bad("non-canonical address");
  };
  switch (i) {
    case MSR.IA32_TIME_STAMP_COUNTER: {
      // Writing the TSC moves TSC_ADJUST by the same delta (SDM 18.17.3).
      const oldLo = readTsc(cpu);
      const oldHi = cpu.r[OUT_HI];
      setTsc(cpu, lo, hi);
      const s = msrSlot(MSR.IA32_TSC_ADJUST);
      addTo(cpu.msrStore, 2 * s, lo, hi, oldLo, oldHi);
      return;
    }
    case MSR.IA32_TSC_ADJUST: {
      const s = msrSlot(MSR.IA32_TSC_ADJUST);
      const oldLo = cpu.msrStore[2 * s];
      const oldHi = cpu.msrStore[2 * s + 1];
      const tLo = readTsc(cpu);
      const tHi = cpu.r[OUT_HI];
      const sum = new Int32Array([tLo, tHi]);
      addTo(sum, 0, lo, hi, oldLo, oldHi);
      setTsc(cpu, sum[0], sum[1]);
      store(cpu, i, lo, hi);
      return;
    }
    case MSR.IA32_EFER:
      writeEfer(cpu, lo, hi);
      return;
    case MSR.IA32_APIC_BASE:
      writeApicBase(cpu, lo, hi, false);
      return;
    case MSR.IA32_PAT:
      for (let b = 0; b < 8; b++) {
        const t = ((b < 4 ? lo : hi) >>> ((b & 3) * 8)) & 0xff;
        if (t > 7 || !(PAT_VALID_TYPES & (1 << t))) bad(`entry ${b} has invalid memory type ${t}`);
      }
      break;
    case MSR.IA32_SPEC_CTRL:
      if (hi !== 0 || lo & ~cpu.config.specCtrlMask) bad("reserved bits set");
      break;
    case MSR.IA32_PRED_CMD:
      if (hi !== 0 || lo & ~1) bad("reserved bits set"); // IBPB: no speculative state to flush here
      return;
    case MSR.IA32_TSC_AUX:
      if (hi !== 0) bad("bits 63:32 are reserved");
      break;
    case MSR.IA32_LSTAR:
    case MSR.IA32_CSTAR:
    case MSR.IA32_KERNEL_GS_BASE:
    case MSR.IA32_SYSENTER_ESP:
    case MSR.IA32_SYSENTER_EIP:
      canonical();
      break;
    case MSR.IA32_FS_BASE:
    case MSR.IA32_GS_BASE: {
      canonical();
      const seg = i === MSR.IA32_FS_BASE ? SEG_FS : SEG_GS;
      cpu.seg[seg * SEG_STRIDE + S_BASE_LO] = lo;
      cpu.seg[seg * SEG_STRIDE + S_BASE_HI] = hi;
      return;
    }
  }
  store(cpu, i, lo, hi);
}

/** a[i..i+1] += (lo,hi) - (subLo,subHi), 64-bit wrapping. */
function addTo(a: Int32Array, i: number, lo: number, hi: number, subLo: number, subHi: number): void {
  const d = (lo >>> 0) - (subLo >>> 0);
  const dLo = d | 0;
  const dHi = (hi - subHi - (d < 0 ? 1 : 0)) | 0;
  const s = (a[i] >>> 0) + (dLo >>> 0);
  a[i] = s | 0;
  a[i + 1] = (a[i + 1] + dHi + (s > 0xffffffff ? 1 : 0)) | 0;
}

function writeEfer(cpu: CpuState, lo: number, hi: number): void {
  const allowed = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
  if (hi !== 0 || lo & ~allowed) raiseGP(0, "WRMSR IA32_EFER: reserved bits set");
  const pagingOn = (cpu.cr0 & 0x80000000) !== 0;
  if (pagingOn && (lo & EFER_LME) !== (cpu.efer & EFER_LME)) {
    raiseGP(0, "WRMSR IA32_EFER: LME cannot change while CR0.PG=1");
  }
  // LMA is read-only: the processor sets it when paging is enabled with LME.
  cpu.efer = (lo & ~EFER_LMA) | (cpu.efer & EFER_LMA);
}

/** IA32_APIC_BASE; a host write (state restore) may change BSP and skips the mode-transition rules. */
export function writeApicBase(cpu: CpuState, lo: number, hi: number, host: boolean): void {
  const maxPhys = cpu.config.maxPhysAddr;
  const hiReserved = maxPhys >= 64 ? 0 : ~((1 << (maxPhys - 32)) - 1);
  if (lo & 0x2ff || hi & hiReserved) raiseGP(0, "WRMSR IA32_APIC_BASE: reserved bits set");
  const s = msrSlot(MSR.IA32_APIC_BASE);
  const old = cpu.msrStore[2 * s];
  const en = (lo & APIC_BASE_EN) !== 0;
  const extd = (lo & APIC_BASE_EXTD) !== 0;
  // SDM 11.12.5: x2APIC without xAPIC enable is invalid, and x2APIC → xAPIC must pass through disabled.
  if (extd && !en) raiseGP(0, "WRMSR IA32_APIC_BASE: x2APIC enabled with the APIC disabled");
  if (host) {
    cpu.msrStore[2 * s] = lo;
    cpu.msrStore[2 * s + 1] = hi;
    return;
  }
  if (old & APIC_BASE_EXTD && old & APIC_BASE_EN && en && !extd) {
    raiseGP(0, "WRMSR IA32_APIC_BASE: x2APIC to xAPIC without disabling first");
  }
  if (!(old & APIC_BASE_EXTD) && !(old & APIC_BASE_EN) && extd) {
    raiseGP(0, "WRMSR IA32_APIC_BASE: disabled to x2APIC without xAPIC first");
  }
  // BSP is read-only for the guest.
  cpu.msrStore[2 * s] = (lo & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
  cpu.msrStore[2 * s + 1] = hi;
}
