// Control transfer: Jcc/JMP/CALL/RET near and far, LOOP/JrCXZ, stack ops, ENTER/LEAVE,
// PUSHF/POPF, INT n/INT3/INTO/INT1, IRET, SYSCALL/SYSRET. Handlers run with RIP already at the
// next instruction; a taken branch overwrites it (the run loop ends a block at every branch).
import {
  OK_FAR,
  OK_MEM,
  PFX_REX_W,
  R_ASZ,
  R_IMM_HI,
  R_IMM_LO,
  R_IMM2,
  R_OP0,
  R_OSZ,
  R_PFX,
} from "../decoder/record.js";
import { EventKind } from "../exec/deliver.js";
import { loadDataSegment } from "../exec/descriptor.js";
import { raiseGP, raiseUD, UnsupportedError } from "../exec/exception.js";
import { farCall, farJump, farReturn } from "../exec/far.js";
import { swapgs, syscall, sysret } from "../exec/fast-syscall.js";
import { popf, pushfValue } from "../exec/flag-insns.js";
import { getOF, getZF, testCondition } from "../exec/flags.js";
import { iret } from "../exec/iret.js";
import { LF_AUX, LF_RES_HI, LF_RES_LO, RBP, RCX, RIP_HI, RIP_LO, RSP } from "../exec/regs.js";
import { SEG_SS } from "../exec/segment.js";
import { CLS_SEG } from "../isa/operand-kinds.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { adjustSp, ea, memRead, pop, push, readOp, regWrite, writeOp } from "./operands.js";

/** Sets RIP to a target (lo, hi) truncated to the operand size; #GP(0) if non-canonical in 64-bit mode. */
export function setRip(c: Cpu, osz: number, lo: number, hi: number): void {
  const r = c.r;
  if (osz === 8) {
    if (!c.mmu.isCanonicalHigh(hi)) raiseGP(0, "branch to a non-canonical address");
  } else {
    hi = 0;
    if (osz === 2) lo &= 0xffff;
  }
  r[RIP_LO] = lo;
  r[RIP_HI] = hi;
}

function jumpRel(c: Cpu, d: Int32Array, o: number): void {
  const r = c.r;
  const s = (r[RIP_LO] >>> 0) + (d[o + R_IMM_LO] >>> 0);
  setRip(c, d[o + R_OSZ], s | 0, (r[RIP_HI] + d[o + R_IMM_HI] + (s > 0xffffffff ? 1 : 0)) | 0);
}

/** Taken relative branch: the common case (same high word, 64-bit operand size) needs no canonical check. */
function branch(c: Cpu, d: Int32Array, o: number): void {
  // Jcc does not end a decoded block (the fall-through continues in it): a taken one does.
  c.breakBlock = true;
  c.taken = true;
  const r = c.r;
  const s = (r[RIP_LO] >>> 0) + (d[o + R_IMM_LO] >>> 0);
  const hi = (r[RIP_HI] + d[o + R_IMM_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
  if (hi === r[RIP_HI] && d[o + R_OSZ] === 8) r[RIP_LO] = s | 0;
  else setRip(c, d[o + R_OSZ], s | 0, hi);
}

// Flag reads straight from the lazy record (see flags.ts): one closure per condition so each
// call site stays monomorphic.
const zf = (r: Int32Array) => (r[LF_RES_LO] | r[LF_RES_HI]) === 0;
const cf = (r: Int32Array) => r[LF_AUX] < 0;
const sfNeOf = (r: Int32Array) =>
  (((r[LF_RES_HI] >>> 31) ^ r[LF_AUX] ^ (r[LF_AUX] >>> 31) ^ (r[LF_AUX] >>> 30)) & 1) === 1;

/**
 * The same conditions as JavaScript expressions over a register file named `r`, by condition code
 * (undefined: O, NO, S, NS, P, NP), for compiled blocks that test a Jcc inline (block-compiler.ts).
 */
export const JCC_CONDITION_JS: (string | undefined)[] = (() => {
  const zfJs = `((r[${LF_RES_LO}] | r[${LF_RES_HI}]) === 0)`;
  const cfJs = `(r[${LF_AUX}] < 0)`;
  const a = `r[${LF_AUX}]`;
  const sfNeOfJs = `((((r[${LF_RES_HI}] >>> 31) ^ ${a} ^ (${a} >>> 31) ^ (${a} >>> 30)) & 1) === 1)`;
  const t: (string | undefined)[] = new Array(16).fill(undefined);
  t[2] = cfJs;
  t[3] = `!${cfJs}`;
  t[4] = zfJs;
  t[5] = `!${zfJs}`;
  t[6] = `(${cfJs} || ${zfJs})`;
  t[7] = `(!${cfJs} && !${zfJs})`;
  t[12] = sfNeOfJs;
  t[13] = `!${sfNeOfJs}`;
  t[14] = `(${zfJs} || ${sfNeOfJs})`;
  t[15] = `(!${zfJs} && !${sfNeOfJs})`;
  return t;
})();

export function selectJcc(cc: number): Handler {
  switch (cc) {
    case 2:
      return (c, d, o) => {
        if (cf(c.r)) branch(c, d, o);
      };
    case 3:
      return (c, d, o) => {
        if (!cf(c.r)) branch(c, d, o);
      };
    case 4:
      return (c, d, o) => {
        if (zf(c.r)) branch(c, d, o);
      };
    case 5:
      return (c, d, o) => {
        if (!zf(c.r)) branch(c, d, o);
      };
    case 6:
      return (c, d, o) => {
        if (cf(c.r) || zf(c.r)) branch(c, d, o);
      };
    case 7:
      return (c, d, o) => {
        if (!cf(c.r) && !zf(c.r)) branch(c, d, o);
      };
    case 12:
      return (c, d, o) => {
        if (sfNeOf(c.r)) branch(c, d, o);
      };
    case 13:
      return (c, d, o) => {
        if (!sfNeOf(c.r)) branch(c, d, o);
      };
    case 14:
      return (c, d, o) => {
        if (zf(c.r) || sfNeOf(c.r)) branch(c, d, o);
      };
    case 15:
      return (c, d, o) => {
        if (!zf(c.r) && !sfNeOf(c.r)) branch(c, d, o);
      };
    default:
      return (c, d, o) => {
        if (testCondition(c.r, cc)) branch(c, d, o);
      };
  }
}

export const hJmp: Handler = (c, d, o) => {
  const p = d[o + R_OP0];
  const kind = p & 15;
  if (kind === 4 /* OK_REL */) jumpRel(c, d, o);
  else if (kind === OK_FAR) farTransfer(c, d, o, false);
  else if (kind === OK_MEM && p >>> 16 > d[o + R_OSZ]) farTransfer(c, d, o, false);
  else {
    const v = readOp(c, d, o, 0);
    setRip(c, d[o + R_OSZ], v, c.hi);
  }
};

export const hCall: Handler = (c, d, o) => {
  const r = c.r;
  const p = d[o + R_OP0];
  const kind = p & 15;
  const osz = d[o + R_OSZ];
  if (kind === OK_FAR || (kind === OK_MEM && p >>> 16 > osz)) {
    farTransfer(c, d, o, true);
    return;
  }
  let tLo: number;
  let tHi: number;
  if (kind === 4) {
    const s = (r[RIP_LO] >>> 0) + (d[o + R_IMM_LO] >>> 0);
    tLo = s | 0;
    tHi = (r[RIP_HI] + d[o + R_IMM_HI] + (s > 0xffffffff ? 1 : 0)) | 0;
  } else {
    tLo = readOp(c, d, o, 0);
    tHi = osz === 8 ? c.hi : 0;
  }
  if (osz === 8 && !c.mmu.isCanonicalHigh(tHi)) raiseGP(0, "CALL to a non-canonical address");
  push(c, osz, r[RIP_LO], r[RIP_HI]);
  setRip(c, osz, tLo, tHi);
};

function farTransfer(c: Cpu, d: Int32Array, o: number, call: boolean): void {
  const osz = d[o + R_OSZ];
  let sel: number;
  let offLo: number;
  let offHi = 0;
  if ((d[o + R_OP0] & 15) === OK_FAR) {
    offLo = d[o + R_IMM_LO];
    if (osz === 2) offLo &= 0xffff;
    sel = d[o + R_IMM2] & 0xffff;
  } else {
    const lo = ea(c, d, o);
    const hi = c.eaHi;
    offLo = memRead(c, osz, lo, hi);
    if (osz === 8) offHi = c.hi;
    sel = c.mmu.read16((lo + osz) | 0, hi);
  }
  if (osz === 2) throw new UnsupportedError("16-bit far JMP/CALL");
  if (call) farCall(c.st, c.sys, sel, offLo, offHi, osz === 8 ? 64 : 32);
  else farJump(c.st, c.sys, sel, offLo, offHi);
  c.modeChanged();
}

export const hRet: Handler = (c, d, o) => {
  const r = c.r;
  const osz = d[o + R_OSZ];
  const spLo = r[RSP << 1];
  const spHi = r[(RSP << 1) | 1];
  const v = pop(c, osz);
  const vHi = osz === 8 ? c.hi : 0;
  if (osz === 8 && !c.mmu.isCanonicalHigh(vHi)) {
    r[RSP << 1] = spLo;
    r[(RSP << 1) | 1] = spHi;
    raiseGP(0, "RET to a non-canonical address");
  }
  if (d[o + 8] > 0) adjustSp(c, d[o + R_IMM_LO] & 0xffff);
  setRip(c, osz, v, vHi);
};

export const hRetf: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  if (osz === 2) throw new UnsupportedError("16-bit far RET");
  farReturn(c.st, c.sys, osz === 8 ? 64 : 32, d[o + 8] > 0 ? d[o + R_IMM_LO] & 0xffff : 0);
  c.modeChanged();
};

/** LOOP (0), LOOPE (1), LOOPNE (2). */
export function selectLoop(kind: number): Handler {
  return (c, d, o) => {
    const r = c.r;
    const asz = d[o + R_ASZ];
    let nz: boolean;
    if (asz === 8) {
      const lo = (r[RCX << 1] - 1) | 0;
      const hi = lo === -1 ? (r[(RCX << 1) | 1] - 1) | 0 : r[(RCX << 1) | 1];
      r[RCX << 1] = lo;
      r[(RCX << 1) | 1] = hi;
      nz = (lo | hi) !== 0;
    } else {
      const v = (r[RCX << 1] - 1) | 0;
      regWrite(c, 1, RCX, asz, v, 0);
      nz = (asz === 4 ? v : v & 0xffff) !== 0;
    }
    if (kind === 1) nz = nz && getZF(r) === 1;
    else if (kind === 2) nz = nz && getZF(r) === 0;
    if (nz) jumpRel(c, d, o);
  };
}

export const hJrcxz: Handler = (c, d, o) => {
  const r = c.r;
  const asz = d[o + R_ASZ];
  const zero =
    asz === 8
      ? (r[RCX << 1] | r[(RCX << 1) | 1]) === 0
      : asz === 4
        ? r[RCX << 1] === 0
        : (r[RCX << 1] & 0xffff) === 0;
  if (zero) jumpRel(c, d, o);
};

// ---- stack ----

export const hPush: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  const p = d[o + R_OP0];
  let v = readOp(c, d, o, 0);
  let vHi = osz === 8 ? c.hi : 0;
  if (((p >>> 4) & 15) === CLS_SEG && (p & 15) === 1) vHi = 0;
  else if ((p & 15) === 3 /* imm */ && p >>> 16 < osz) {
    v = (v << 24) >> 24; // an imm8 narrower than the operand size is sign-extended
    vHi = v >> 31;
  }
  push(c, osz, v, vHi);
};

export const hPop: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  const p = d[o + R_OP0];
  if (((p >>> 4) & 15) === CLS_SEG && (p & 15) === 1) {
    const r = c.r;
    const spLo = r[RSP << 1];
    const spHi = r[(RSP << 1) | 1];
    const sel = pop(c, osz) & 0xffff;
    const seg = (p >>> 8) & 255;
    try {
      loadDataSegment(c.st, c.sys, seg, sel);
    } catch (e) {
      r[RSP << 1] = spLo;
      r[(RSP << 1) | 1] = spHi;
      throw e;
    }
    if (seg === SEG_SS) c.interruptShadow();
    c.modeChanged();
    return;
  }
  const r = c.r;
  const spLo = r[RSP << 1];
  const spHi = r[(RSP << 1) | 1];
  const v = pop(c, osz);
  const vHi = c.hi;
  try {
    writeOp(c, d, o, 0, v, vHi, false);
  } catch (e) {
    r[RSP << 1] = spLo;
    r[(RSP << 1) | 1] = spHi;
    throw e;
  }
};

export const hPushf: Handler = (c, d, o) => {
  push(c, d[o + R_OSZ], pushfValue(c.st), 0);
};

export const hPopf: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  const v = pop(c, osz);
  popf(c.st, v, (osz * 8) as 16 | 32 | 64);
  c.flagsChanged();
};

export const hLeave: Handler = (c, d, o) => {
  const r = c.r;
  const osz = d[o + R_OSZ];
  const spLo = r[RSP << 1];
  const spHi = r[(RSP << 1) | 1];
  if (c.mode64) {
    r[RSP << 1] = r[RBP << 1];
    r[(RSP << 1) | 1] = r[(RBP << 1) | 1];
  } else if (c.stack32) r[RSP << 1] = r[RBP << 1];
  else r[RSP << 1] = (r[RSP << 1] & 0xffff0000) | (r[RBP << 1] & 0xffff);
  try {
    const v = pop(c, osz);
    regWrite(c, 1, RBP, osz, v, c.hi);
  } catch (e) {
    r[RSP << 1] = spLo;
    r[(RSP << 1) | 1] = spHi;
    throw e;
  }
};

export const hEnter: Handler = (c, d, o) => {
  const r = c.r;
  const osz = d[o + R_OSZ];
  const size = d[o + R_IMM_LO] & 0xffff;
  const level = d[o + R_IMM2] & 31;
  push(c, osz, r[RBP << 1], r[(RBP << 1) | 1]);
  const frameLo = r[RSP << 1];
  const frameHi = r[(RSP << 1) | 1];
  if (level > 0) {
    let bpLo = r[RBP << 1];
    let bpHi = r[(RBP << 1) | 1];
    for (let i = 1; i < level; i++) {
      const s = (bpLo >>> 0) - osz;
      bpHi = c.mode64 ? (bpHi + (s < 0 ? -1 : 0)) | 0 : 0;
      bpLo = s | 0;
      const lin = c.mode64 ? bpLo : (bpLo + c.st.seg[SEG_SS * 8 + 1]) | 0;
      const v = memRead(c, osz, lin, bpHi);
      push(c, osz, v, c.hi);
    }
    push(c, osz, frameLo, frameHi);
  }
  regWrite(c, 1, RBP, c.mode64 ? 8 : c.stack32 ? 4 : 2, frameLo, frameHi);
  adjustSp(c, -size);
};

// ---- software interrupts, IRET, fast system calls ----

export function selectInt(kind: "int" | "int3" | "into" | "int1"): Handler {
  return (c, d, o) => {
    if (kind === "into" && !getOF(c.r)) return;
    const vector = kind === "int" ? d[o + R_IMM_LO] & 0xff : kind === "int3" ? 3 : kind === "into" ? 4 : 1;
    const ek =
      kind === "int"
        ? EventKind.SoftwareInterrupt
        : kind === "int1"
          ? EventKind.PrivilegedSoftwareException
          : EventKind.SoftwareException;
    c.deliver(vector, ek, -1);
  };
}

export const hIret: Handler = (c, d, o) => {
  const osz = d[o + R_OSZ];
  if (osz === 2) throw new UnsupportedError("16-bit IRET");
  iret(c.st, c.sys, osz === 8 ? 64 : 32);
  c.modeChanged();
  c.flagsChanged();
};

export const hSyscall: Handler = (c) => {
  syscall(c.st);
  c.modeChanged();
};
export const hSysret: Handler = (c, d, o) => {
  sysret(c.st, (d[o + R_PFX] & PFX_REX_W) !== 0);
  c.modeChanged();
};
export const hSwapgs: Handler = (c) => {
  if (!c.mode64) raiseUD("SWAPGS outside 64-bit mode");
  swapgs(c.st);
};
