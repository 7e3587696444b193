// SSE/SSE2 data movement and the integer/bitwise operations gcc -O2 emits, on exec's XMM file.
// A memory source is loaded into the scratch register XMM_SCRATCH (16). Legacy-SSE 128-bit memory
// operands must be 16-byte aligned (#GP(0)) except for the unaligned moves; CR0.EM or
// CR4.OSFXSR=0 → #UD, CR0.TS → #NM. MMX (mm register) forms stop as unsupported.
import { OK_MEM, OK_REG, R_IMM_LO, R_NOPS, R_OP0 } from "../decoder/record.js";
import { raiseGP, raiseUD, UnsupportedError, X86Exception } from "../exec/exception.js";
import * as sse from "../exec/sse-int.js";
import { CR0_EM, CR0_TS, CR4_OSFXSR } from "../exec/state.js";
import { CLS_GPR, CLS_MM, CLS_XMM } from "../isa/operand-kinds.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { ea, memWrite, readOp, regWrite, writeOp } from "./operands.js";

const SCRATCH = 16;

/**
 * SSE availability: CR0.EM=1 or CR4.OSFXSR=0 → #UD, CR0.TS=1 → #NM. With the record (d, o), an
 * MMX register form gets the MMX rules instead (CR0.EM → #UD, CR0.TS → #NM; OSFXSR not needed)
 * and then stops unsupported: MMX is not executed.
 */
export function checkSse(c: Cpu, d?: Int32Array, o = 0): void {
  const st = c.st;
  if (d !== undefined && usesMmx(d, o)) {
    if (st.cr0 & CR0_EM) raiseUD("MMX with CR0.EM=1");
    if (st.cr0 & CR0_TS) throw new X86Exception(7, -1, "MMX with CR0.TS=1");
    mmxUnsupported();
  }
  if (st.cr0 & CR0_EM || !(st.cr4 & CR4_OSFXSR)) raiseUD("SSE with CR0.EM=1 or CR4.OSFXSR=0");
  if (st.cr0 & CR0_TS) throw new X86Exception(7, -1, "SSE with CR0.TS=1");
}

function usesMmx(d: Int32Array, o: number): boolean {
  for (let k = 0; k < d[o + R_NOPS]; k++) {
    const p = d[o + R_OP0 + k];
    if ((p & 15) === OK_REG && ((p >>> 4) & 15) === CLS_MM) return true;
  }
  return false;
}

function mmxUnsupported(): never {
  throw new UnsupportedError("MMX register forms are not executed by this CPU");
}

/** XMM number of operand k; a memory operand is loaded into the scratch register. */
export function srcXmm(c: Cpu, d: Int32Array, o: number, k: number, aligned: boolean): number {
  const p = d[o + R_OP0 + k];
  if ((p & 15) === OK_REG) {
    if (((p >>> 4) & 15) !== CLS_XMM) mmxUnsupported();
    return (p >>> 8) & 255;
  }
  const lo = ea(c, d, o);
  const hi = c.eaHi;
  const size = p >>> 16;
  const x = c.st.xmm.i32;
  if (size === 16) {
    if (aligned && lo & 15) raiseGP(0, "unaligned 128-bit SSE memory operand");
    c.mmu.read128(lo, hi, x, SCRATCH * 4);
  } else if (size === 8) {
    x[SCRATCH * 4] = c.mmu.read64(lo, hi);
    x[SCRATCH * 4 + 1] = c.mmu.hi;
    x[SCRATCH * 4 + 2] = 0;
    x[SCRATCH * 4 + 3] = 0;
  } else {
    x[SCRATCH * 4] =
      size === 4 ? c.mmu.read32(lo, hi) : size === 2 ? c.mmu.read16(lo, hi) : c.mmu.read8(lo, hi);
    x[SCRATCH * 4 + 1] = 0;
    x[SCRATCH * 4 + 2] = 0;
    x[SCRATCH * 4 + 3] = 0;
  }
  return SCRATCH;
}

function dstXmm(d: Int32Array, o: number): number {
  const p = d[o + R_OP0];
  if (((p >>> 4) & 15) !== CLS_XMM) mmxUnsupported();
  return (p >>> 8) & 255;
}

type Bin = (x: sse.XmmFile, d: number, s: number) => void;

/** dst xmm ← op(dst, src xmm/m128). */
export function selectSseBinary(fn: Bin): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const dst = dstXmm(d, o);
    const s = srcXmm(c, d, o, 1, true);
    fn(c.st.xmm, dst, s);
  };
}

export function selectSseShuffle(fn: (x: sse.XmmFile, d: number, s: number, imm: number) => void): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const dst = dstXmm(d, o);
    const s = srcXmm(c, d, o, 1, true);
    fn(c.st.xmm, dst, s, d[o + R_IMM_LO] & 0xff);
  };
}

/** PSxx xmm, imm8 or xmm/m128 (count). */
export function selectSseShift(fn: (x: sse.XmmFile, d: number, count: number) => void): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const dst = dstXmm(d, o);
    const p1 = d[o + R_OP0 + 1];
    let count: number;
    if ((p1 & 15) === 3 /* imm */) count = d[o + R_IMM_LO] & 0xff;
    else count = sse.xmmShiftCount(c.st.xmm, srcXmm(c, d, o, 1, true));
    fn(c.st.xmm, dst, count);
  };
}

export function selectByteShift(fn: (x: sse.XmmFile, d: number, imm: number) => void): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    fn(c.st.xmm, dstXmm(d, o), d[o + R_IMM_LO] & 0xff);
  };
}

/** 128-bit moves (MOVDQA/MOVDQU/MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVNTDQ/MOVNTPS/LDDQU). */
export function selectMov128(aligned: boolean): Handler {
  return (c, d, o) => {
    checkSse(c, d, o);
    const x = c.st.xmm.i32;
    const p0 = d[o + R_OP0];
    if ((p0 & 15) === OK_REG) {
      const dst = dstXmm(d, o);
      const s = srcXmm(c, d, o, 1, aligned);
      x[dst * 4] = x[s * 4];
      x[dst * 4 + 1] = x[s * 4 + 1];
      x[dst * 4 + 2] = x[s * 4 + 2];
      x[dst * 4 + 3] = x[s * 4 + 3];
      return;
    }
    const p1 = d[o + R_OP0 + 1];
    if (((p1 >>> 4) & 15) !== CLS_XMM) mmxUnsupported();
    const s = (p1 >>> 8) & 255;
    const lo = ea(c, d, o);
    if (aligned && lo & 15) raiseGP(0, "unaligned 128-bit SSE store");
    c.mmu.write128(lo, c.eaHi, x, s * 4);
  };
}

/** MOVD / MOVQ in all their forms (xmm ← r/m32/64, r/m32/64 ← xmm, xmm ← xmm/m64, xmm/m64 ← xmm). */
export const hMovdq: Handler = (c, d, o) => {
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  const cls0 = (p0 >>> 4) & 15;
  const cls1 = (p1 >>> 4) & 15;
  checkSse(c, d, o);
  const xf = c.st.xmm;
  const x = xf.i32;
  const k0 = p0 & 15;
  const k1 = p1 & 15;
  if (k0 === OK_REG && cls0 === CLS_XMM) {
    const dst = (p0 >>> 8) & 255;
    if (k1 === OK_REG && cls1 === CLS_XMM) {
      const s = (p1 >>> 8) & 255;
      sse.movqToXmm(xf, dst, x[s * 4], x[s * 4 + 1]);
      return;
    }
    const v = readOp(c, d, o, 1);
    const size = p1 >>> 16;
    if (size === 8) sse.movqToXmm(xf, dst, v, c.hi);
    else sse.movdToXmm(xf, dst, v);
    return;
  }
  // Destination is a GPR or memory; source is an XMM register.
  const s = (p1 >>> 8) & 255;
  const size = p0 >>> 16;
  if (k0 === OK_MEM) {
    const lo = ea(c, d, o);
    memWrite(c, size === 8 ? 8 : 4, lo, c.eaHi, x[s * 4], x[s * 4 + 1]);
  } else if (cls0 === CLS_GPR) regWrite(c, CLS_GPR, (p0 >>> 8) & 255, size, x[s * 4], x[s * 4 + 1]);
  else writeOp(c, d, o, 0, x[s * 4], x[s * 4 + 1], false);
};

export const hPmovmskb: Handler = (c, d, o) => {
  checkSse(c, d, o);
  const p1 = d[o + R_OP0 + 1];
  if (((p1 >>> 4) & 15) !== CLS_XMM) mmxUnsupported();
  const v = sse.pmovmskb(c.st.xmm, (p1 >>> 8) & 255);
  const p0 = d[o + R_OP0];
  regWrite(c, CLS_GPR, (p0 >>> 8) & 255, p0 >>> 16, v, 0);
};

export const hPextrw: Handler = (c, d, o) => {
  checkSse(c, d, o);
  const p1 = d[o + R_OP0 + 1];
  if (((p1 >>> 4) & 15) !== CLS_XMM) mmxUnsupported();
  const v = sse.pextrw(c.st.xmm, (p1 >>> 8) & 255, d[o + R_IMM_LO] & 0xff);
  writeOp(c, d, o, 0, v, 0, false);
};

export const hPinsrw: Handler = (c, d, o) => {
  checkSse(c, d, o);
  const dst = dstXmm(d, o);
  const v = readOp(c, d, o, 1);
  sse.pinsrw(c.st.xmm, dst, v, d[o + R_IMM_LO] & 0xff);
};
