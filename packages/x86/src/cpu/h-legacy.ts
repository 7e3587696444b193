// Legacy instructions outside the hot path: PUSHA/PUSHAD/POPA/POPAD (invalid in 64-bit mode),
// LDS/LES/LFS/LGS/LSS (far-pointer loads), SYSENTER/SYSEXIT (SDM Vol. 2 pages, Intel behaviour:
// both valid in 64-bit and compatibility mode).
import { OK_MEM, PFX_REX_W, R_OP0, R_OSZ, R_PFX } from "../decoder/record.js";
import { loadDataSegment } from "../exec/descriptor.js";
import { raiseGP, raiseUD } from "../exec/exception.js";
import { IF, RF, VM } from "../exec/flags.js";
import { EFER_LMA, isCanonicalForMode, MSR, msrSlot } from "../exec/msr.js";
import { FLAGS_REST, RCX, RDX, RIP_HI, RIP_LO, RSP } from "../exec/regs.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
  setSegment,
} from "../exec/segment.js";
import { CR0_PE, cpl } from "../exec/state.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { ea, memRead, pop, push, regWrite } from "./operands.js";

// ---- PUSHA / POPA ----

/** Runs `body`; if it faults, ESP is put back so the instruction has no effect (the writes below ESP are harmless). */
function keepSpOnFault(c: Cpu, body: () => void): void {
  const r = c.r;
  const sp = r[RSP << 1];
  try {
    body();
  } catch (e) {
    r[RSP << 1] = sp;
    throw e;
  }
}

/** PUSHA/PUSHAD: AX CX DX BX (original SP) BP SI DI, 16 or 32 bits each. */
export const hPusha: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  const r = c.r;
  const sp = r[RSP << 1];
  keepSpOnFault(c, () => {
    for (let reg = 0; reg < 8; reg++) push(c, osz, reg === RSP ? sp : r[reg << 1], 0);
  });
};

/** POPA/POPAD: DI SI BP (skip SP) BX DX CX AX. */
export const hPopa: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  const values = new Int32Array(8);
  keepSpOnFault(c, () => {
    for (let reg = 7; reg >= 0; reg--) values[reg] = pop(c, osz);
  });
  for (let reg = 0; reg < 8; reg++) if (reg !== RSP) regWrite(c, 1, reg, osz, values[reg], 0);
};

// ---- LDS / LES / LFS / LGS / LSS ----

/** Lxx r, m16:16/32/64: the segment is loaded (with its checks) before the register is written. */
export function selectLoadFarPointer(seg: number): Handler {
  return (c, d, o) => {
    if ((d[o + R_OP0 + 1] & 15) !== OK_MEM) raiseUD("far-pointer load from a register");
    const osz = d[o + R_OSZ];
    const lo = ea(c, d, o);
    const hi = c.eaHi;
    const off = memRead(c, osz, lo, hi);
    const offHi = osz === 8 ? c.hi : 0;
    const sel = c.mmu.read16((lo + osz) | 0, hi);
    loadDataSegment(c.st, c.sys, seg, sel);
    const p0 = d[o + R_OP0];
    regWrite(c, 1, (p0 >>> 8) & 255, osz, off, offHi);
    c.modeChanged(); // SS.B may have changed the stack width
  };
}

export const LOAD_FAR_POINTER: [string, number][] = [
  ["LDS", SEG_DS],
  ["LES", SEG_ES],
  ["LFS", SEG_FS],
  ["LGS", SEG_GS],
  ["LSS", SEG_SS],
];

// ---- SYSENTER / SYSEXIT ----

const FLAT_CODE = AR_P | AR_S | 0xb | AR_G;
const FLAT_STACK = AR_P | AR_S | 0x3 | AR_DB | AR_G;

function msrPair(c: Cpu, index: number): [number, number] {
  const s = 2 * msrSlot(index);
  return [c.st.msrStore[s], c.st.msrStore[s + 1]];
}

/** SYSENTER: to CPL 0 at IA32_SYSENTER_CS:EIP with IA32_SYSENTER_ESP (64-bit code when IA-32e mode is active). */
export const hSysenter: Handler = (c) => {
  const st = c.st;
  const csSel = msrPair(c, MSR.IA32_SYSENTER_CS)[0] & 0xffff;
  if (!(st.cr0 & CR0_PE)) raiseGP(0, "SYSENTER in real mode");
  if ((csSel & 0xfffc) === 0) raiseGP(0, "SYSENTER with IA32_SYSENTER_CS[15:2] = 0");
  const r = c.r;
  const long = (st.efer & EFER_LMA) !== 0;
  const [eipLo, eipHi] = msrPair(c, MSR.IA32_SYSENTER_EIP);
  const [espLo, espHi] = msrPair(c, MSR.IA32_SYSENTER_ESP);
  r[FLAGS_REST] &= ~(VM | IF | RF);
  const sel = csSel & 0xfffc;
  setSegment(st.seg, SEG_CS, sel, 0, 0, -1, FLAT_CODE | (long ? AR_L : AR_DB));
  setSegment(st.seg, SEG_SS, sel + 8, 0, 0, -1, FLAT_STACK);
  r[RIP_LO] = eipLo;
  r[RIP_HI] = long ? eipHi : 0;
  r[RSP << 1] = espLo;
  r[(RSP << 1) | 1] = long ? espHi : 0;
  c.modeChanged();
  c.flagsChanged();
};

/** SYSEXIT (REX.W: SYSEXITQ, back to 64-bit code): CPL 3 at CS = SYSENTER_CS + 16 (+32), RIP = rDX, RSP = rCX. */
export const hSysexit: Handler = (c, d, o) => {
  const st = c.st;
  const csBase = msrPair(c, MSR.IA32_SYSENTER_CS)[0] & 0xffff;
  if (!(st.cr0 & CR0_PE)) raiseGP(0, "SYSEXIT in real mode");
  if ((csBase & 0xfffc) === 0) raiseGP(0, "SYSEXIT with IA32_SYSENTER_CS[15:2] = 0");
  if (cpl(st) !== 0) raiseGP(0, `SYSEXIT at CPL ${cpl(st)}`);
  const r = c.r;
  const to64 = (d[o + R_PFX] & PFX_REX_W) !== 0;
  if (to64 && (!isCanonicalForMode(st, r[(RCX << 1) | 1]) || !isCanonicalForMode(st, r[(RDX << 1) | 1])))
    raiseGP(0, "SYSEXITQ with a non-canonical RCX or RDX");
  const dpl3 = 3 << AR_DPL_SHIFT;
  const cs = ((csBase + (to64 ? 32 : 16)) & 0xfffc) | 3;
  setSegment(st.seg, SEG_CS, cs, 0, 0, -1, FLAT_CODE | dpl3 | (to64 ? AR_L : AR_DB));
  setSegment(st.seg, SEG_SS, ((csBase + (to64 ? 40 : 24)) & 0xfffc) | 3, 0, 0, -1, FLAT_STACK | dpl3);
  r[RIP_LO] = r[RDX << 1];
  r[RIP_HI] = to64 ? r[(RDX << 1) | 1] : 0;
  r[RSP << 1] = r[RCX << 1];
  r[(RSP << 1) | 1] = to64 ? r[(RCX << 1) | 1] : 0;
  c.modeChanged();
  c.flagsChanged();
};
