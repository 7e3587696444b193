// System instructions: CPUID, RDMSR/WRMSR, RDTSC(P)/RDPID, I/O, HLT, CLI/STI, descriptor tables,
// MOV CR/DR, INVLPG, cache and fence no-ops, RDRAND/RDSEED, XSAVE family, VMCALL/TDCALL/SEAMCALL,
// flag instructions. Privileged ones check CPL 0 (#GP(0)); stops to the host are thrown as
// StopSignal with RIP left at the instruction (the completion API finishes it).
import { OK_MEM, PFX_REP, PFX_REPNE, PFX_REX_W, R_ASZ, R_OP0, R_OSZ, R_PFX } from "../decoder/record.js";
import { CrEffect, xsetbv } from "../exec/control.js";
import { raiseGP, raiseUD } from "../exec/exception.js";
import { lldt, loadDescriptorTable, ltr } from "../exec/far.js";
import { clc, cld, cli, cmc, lahf, sahf, stc, std, sti } from "../exec/flag-insns.js";
import { AC, arithFlags, IOPL, setArithFlags, setCF } from "../exec/flags.js";
import { readDr, writeDr, writeMxcsr } from "../exec/fpu-debug.js";
import { fxrstor, fxsave } from "../exec/fxsave.js";
import { checkIoPermission } from "../exec/io-permission.js";
import { isMsrHandled, readMsr, writeMsr } from "../exec/msr.js";
import { clts, lmsw, movFromCr, movToCr, rdtsc, smsw, tscAux } from "../exec/privileged.js";
import { FLAGS_REST, OUT_HI, RAX, RCX, RDX, RSI } from "../exec/regs.js";
import {
  S_BASE_HI,
  S_BASE_LO,
  S_SEL,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_STRIDE,
  SEG_TR,
} from "../exec/segment.js";
import { CR4_FSGSBASE, CR4_OSFXSR, CR4_UMIP, cpl } from "../exec/state.js";
import { xgetbv, xrstor, xsave } from "../exec/xsave.js";
import { CLS_CR, CLS_DR } from "../isa/operand-kinds.js";
import type { Handler } from "./block.js";
import type { Cpu } from "./cpu.js";
import { countZero, srcAddr } from "./h-string.js";
import { ea, memRead, memWrite, readOp, regWrite, writeOp } from "./operands.js";
import { StopSignal } from "./stops.js";

function requireCpl0(c: Cpu, what: string): void {
  if (cpl(c.st) !== 0) raiseGP(0, `${what} at CPL ${cpl(c.st)}`);
}

/** Runs `fn` with the retired count at this instruction's position (the TSC is derived from it). */
function atRetired<T>(c: Cpu, o: number, fn: () => T): T {
  const saved = c.st.retired;
  c.st.retired = c.retiredBase + (o >>> 5);
  try {
    return fn();
  } finally {
    c.st.retired = saved;
  }
}

export const hNop: Handler = () => {};

export const hCpuid: Handler = (c) => {
  const r = c.r;
  const leaf = r[RAX << 1];
  const sub = r[RCX << 1];
  const ctl = c.exits.cpuid;
  if (ctl === "stop") throw new StopSignal({ reason: "cpuid", leaf: leaf >>> 0, subleaf: sub >>> 0 }, true);
  const [a, b, cc, d] = ctl(leaf >>> 0, sub >>> 0);
  regWrite(c, 1, RAX, 4, a, 0);
  regWrite(c, 1, 3, 4, b, 0);
  regWrite(c, 1, RCX, 4, cc, 0);
  regWrite(c, 1, RDX, 4, d, 0);
};

export const hRdmsr: Handler = (c, _d, o) => {
  requireCpl0(c, "RDMSR");
  const r = c.r;
  const index = r[RCX << 1] >>> 0;
  if (!c.exits.allMsrs && isMsrHandled(index)) {
    const lo = atRetired(c, o, () => readMsr(c.st, index));
    regWrite(c, 1, RAX, 4, lo, 0);
    regWrite(c, 1, RDX, 4, r[OUT_HI], 0);
    return;
  }
  throw new StopSignal({ reason: "rdmsr", index }, true);
};

export const hWrmsr: Handler = (c, _d, o) => {
  requireCpl0(c, "WRMSR");
  const r = c.r;
  const index = r[RCX << 1] >>> 0;
  if (!c.exits.allMsrs && isMsrHandled(index)) {
    atRetired(c, o, () => writeMsr(c.st, index, r[RAX << 1], r[RDX << 1]));
    c.modeChanged(); // EFER, FS/GS base, ...
    return;
  }
  const value = (BigInt(r[RDX << 1] >>> 0) << 32n) | BigInt(r[RAX << 1] >>> 0);
  throw new StopSignal({ reason: "wrmsr", index, value }, true);
};

export const hRdtsc: Handler = (c, _d, o) => {
  const lo = atRetired(c, o, () => rdtsc(c.st));
  regWrite(c, 1, RDX, 4, c.r[OUT_HI], 0);
  regWrite(c, 1, RAX, 4, lo, 0);
};
export const hRdtscp: Handler = (c, _d, o) => {
  const lo = atRetired(c, o, () => rdtsc(c.st));
  regWrite(c, 1, RDX, 4, c.r[OUT_HI], 0);
  regWrite(c, 1, RAX, 4, lo, 0);
  regWrite(c, 1, RCX, 4, tscAux(c.st), 0);
};
export const hRdpid: Handler = (c, d, o) => {
  writeOp(c, d, o, 0, tscAux(c.st), 0, false);
};

// ---- I/O ----

/** With CPL > IOPL the TSS I/O permission bitmap decides (#GP(0) when a port's bit is set). */
function checkIo(c: Cpu, port: number, size: number): void {
  if (cpl(c.st) > (c.r[FLAGS_REST] & IOPL) >>> 12) checkIoPermission(c.st, c.sys, port, size as 1 | 2 | 4);
}

/** IN / OUT: operands (AL|eAX, ib|DX) or (ib|DX, AL|eAX). */
export function selectInOut(out: boolean): Handler {
  return (c, d, o) => {
    const pk = out ? 0 : 1;
    const pd = out ? 1 : 0;
    const port = readOp(c, d, o, pk) & 0xffff;
    const size = d[o + R_OP0 + pd] >>> 16;
    checkIo(c, port, size);
    const data = out ? readOp(c, d, o, pd) : 0;
    c.exitIo = { size, string: false, rep: false, asz: 0, dir: out ? 1 : 0 };
    // requestStop, not a throw: port I/O is the common exit of normal-VM guests
    c.requestStop(
      { reason: "io", port, size, direction: out ? "out" : "in", data, string: false, rep: false, count: 1 },
      true,
    );
  };
}

/** INS (out = false) / OUTS (out = true): one element per stop. */
export function selectInsOuts(out: boolean): Handler {
  return (c, d, o) => {
    const r = c.r;
    const asz = d[o + R_ASZ];
    const size = d[o + R_OP0 + (out ? 1 : 0)] >>> 16;
    const port = r[RDX << 1] & 0xffff;
    const rep = (d[o + R_PFX] & (PFX_REP | PFX_REPNE)) !== 0;
    if (rep && countZero(c, asz)) return; // REP with rCX = 0 runs no iteration, so no check either
    checkIo(c, port, size);
    let data = 0;
    if (out) {
      const a = srcAddr(c, d, o, asz, size);
      data = memRead(c, size, a, c.eaHi);
    }
    const count = rep ? (asz === 2 ? r[RCX << 1] & 0xffff : r[RCX << 1] >>> 0) : 1;
    c.exitIo = { size, string: true, rep, asz, dir: out ? 1 : 0, seg: d[o + 7] };
    throw new StopSignal(
      { reason: "io", port, size, direction: out ? "out" : "in", data, string: true, rep, count },
      true,
    );
  };
}

// ---- HLT, interrupts flag ----

export const hHlt: Handler = (c) => {
  requireCpl0(c, "HLT");
  c.st.halted = true;
  c.attention = true;
  c.breakBlock = true;
};
export const hCli: Handler = (c) => {
  cli(c.st);
};
export const hSti: Handler = (c) => {
  if (sti(c.st)) c.interruptShadow();
  c.breakBlock = true;
};

// ---- descriptor tables ----

/** LGDT/LIDT (idt = true) m16&32/64. */
export function selectLdt(idt: boolean): Handler {
  return (c, d, o) => {
    requireCpl0(c, idt ? "LIDT" : "LGDT");
    const lo = ea(c, d, o);
    const hi = c.eaHi;
    const limit = c.mmu.read16(lo, hi);
    let bLo: number;
    let bHi = 0;
    if (c.mode64) {
      bLo = c.mmu.read64((lo + 2) | 0, hi);
      bHi = c.mmu.hi;
    } else {
      bLo = c.mmu.read32((lo + 2) | 0, hi);
      if (d[o + R_OSZ] === 2) bLo &= 0xffffff;
    }
    loadDescriptorTable(c.st, idt ? "idt" : "gdt", bLo, bHi, limit);
  };
}

export function selectSdt(idt: boolean): Handler {
  return (c, d, o) => {
    if (c.st.cr4 & CR4_UMIP && cpl(c.st) > 0) raiseGP(0, "SGDT/SIDT with CR4.UMIP at CPL > 0");
    const lo = ea(c, d, o);
    const hi = c.eaHi;
    const st = c.st;
    c.mmu.write16(lo, hi, idt ? st.idtrLimit : st.gdtrLimit);
    const bLo = idt ? st.idtrBaseLo : st.gdtrBaseLo;
    if (c.mode64) c.mmu.write64((lo + 2) | 0, hi, bLo, idt ? st.idtrBaseHi : st.gdtrBaseHi);
    else c.mmu.write32((lo + 2) | 0, hi, bLo);
  };
}

export const hLtr: Handler = (c, d, o) => {
  requireCpl0(c, "LTR");
  ltr(c.st, c.sys, readOp(c, d, o, 0) & 0xffff);
};
export const hLldt: Handler = (c, d, o) => {
  requireCpl0(c, "LLDT");
  lldt(c.st, c.sys, readOp(c, d, o, 0) & 0xffff);
};
export function selectStoreSel(tr: boolean): Handler {
  return (c, d, o) => {
    if (c.st.cr4 & CR4_UMIP && cpl(c.st) > 0) raiseGP(0, "STR/SLDT with CR4.UMIP at CPL > 0");
    const sel = c.st.seg[(tr ? SEG_TR : SEG_LDTR) * SEG_STRIDE + S_SEL] & 0xffff;
    writeOp(c, d, o, 0, sel, 0, false);
  };
}

// ---- control and debug registers ----

export const hMovCrDr: Handler = (c, d, o) => {
  const p0 = d[o + R_OP0];
  const p1 = d[o + R_OP0 + 1];
  const cls0 = (p0 >>> 4) & 15;
  const cls1 = (p1 >>> 4) & 15;
  const r = c.r;
  if (cls0 === CLS_CR) {
    const src = (p1 >>> 8) & 255;
    const lo = r[src << 1];
    const hi = c.mode64 ? r[(src << 1) | 1] : 0;
    const n = (p0 >>> 8) & 255;
    const crWrite = c.exits.crWrite;
    if (crWrite !== undefined && (n === 0 || n === 4) && cpl(c.st) === 0) {
      const action = crWrite(n, lo, hi);
      if (action === "gp") raiseGP(0, `MOV to CR${n}: value refused by the exit controls`);
      if (action === "stop")
        throw new StopSignal({ reason: "cr-access", cr: n, gpr: src, qualification: n | (src << 8) }, true);
    }
    const eff = movToCr(c.st, n, lo, hi);
    c.crWritten(eff);
  } else if (cls1 === CLS_CR) {
    const lo = movFromCr(c.st, (p1 >>> 8) & 255);
    regWrite(c, 1, (p0 >>> 8) & 255, c.mode64 ? 8 : 4, lo, r[OUT_HI]);
  } else if (cls0 === CLS_DR) {
    requireCpl0(c, "MOV to DR");
    const src = (p1 >>> 8) & 255;
    writeDr(c.st, (p0 >>> 8) & 255, r[src << 1], c.mode64 ? r[(src << 1) | 1] : 0);
  } else if (cls1 === CLS_DR) {
    requireCpl0(c, "MOV from DR");
    const [lo, hi] = readDr(c.st, (p1 >>> 8) & 255);
    regWrite(c, 1, (p0 >>> 8) & 255, c.mode64 ? 8 : 4, lo, hi);
  } else raiseUD("MOV CR/DR form");
};

export const hClts: Handler = (c) => {
  clts(c.st);
};
export const hLmsw: Handler = (c, d, o) => {
  const v = readOp(c, d, o, 0);
  c.crWritten(lmsw(c.st, v & 0xffff));
};
export const hSmsw: Handler = (c, d, o) => {
  if (c.st.cr4 & CR4_UMIP && cpl(c.st) > 0) raiseGP(0, "SMSW with CR4.UMIP at CPL > 0");
  const v = smsw(c.st);
  writeOp(c, d, o, 0, (d[o + R_OP0] & 15) === OK_MEM ? v & 0xffff : v, 0, false);
};

export const hInvlpg: Handler = (c, d, o) => {
  requireCpl0(c, "INVLPG");
  const lo = ea(c, d, o);
  c.mmu.invlpg(lo, c.eaHi);
  c.breakBlock = true; // chained blocks assume an unchanged translation of the code page
};
export const hInvpcid: Handler = (c, d, o) => {
  requireCpl0(c, "INVPCID");
  const type = readOp(c, d, o, 0);
  const lo = ea(c, d, o);
  const hi = c.eaHi;
  if (type >>> 0 > 3) raiseGP(0, "INVPCID type > 3");
  if (type === 0) c.mmu.invlpg(c.mmu.read32((lo + 8) | 0, hi), c.mmu.read32((lo + 12) | 0, hi));
  else c.mmu.flushAll(); // PCIDs are not tagged: a wider flush is always allowed
  c.breakBlock = true;
};
/** WBINVD, WBNOINVD, INVD: no caches to act on; they stop when the exit controls list them. */
export function selectCacheInstruction(mnemonic: string): Handler {
  return (c) => {
    requireCpl0(c, mnemonic);
    if (c.exits.stopInstructions.has(mnemonic))
      throw new StopSignal({ reason: "instruction", mnemonic }, true);
  };
}

// ---- random numbers (deterministic: a seeded xorshift, so runs replay exactly) ----

export const hRdrand: Handler = (c, d, o) => {
  const size = d[o + R_OP0] >>> 16;
  const lo = c.nextRandom();
  const hi = c.nextRandom();
  writeOp(c, d, o, 0, size === 2 ? lo & 0xffff : lo, hi, false);
  setArithFlags(c.r, 1); // CF=1 (valid), other flags 0
};

// ---- XSAVE family, MXCSR ----

function requireFx(c: Cpu): void {
  if (!(c.st.cr4 & CR4_OSFXSR)) raiseUD("FXSAVE/FXRSTOR with CR4.OSFXSR=0");
}
export const hFxsave: Handler = (c, d, o) => {
  const lo = ea(c, d, o);
  fxsave(c.st, c.sys, lo, c.eaHi, cpl(c.st) === 3);
};
export const hFxrstor: Handler = (c, d, o) => {
  const lo = ea(c, d, o);
  fxrstor(c.st, c.sys, lo, c.eaHi, cpl(c.st) === 3);
};
export const hXsave: Handler = (c, d, o) => {
  const lo = ea(c, d, o);
  xsave(c.st, c.sys, lo, c.eaHi, c.r[RAX << 1], cpl(c.st) === 3);
};
export const hXrstor: Handler = (c, d, o) => {
  const lo = ea(c, d, o);
  xrstor(c.st, c.sys, lo, c.eaHi, c.r[RAX << 1], cpl(c.st) === 3);
};
export const hXgetbv: Handler = (c) => {
  const lo = xgetbv(c.st, c.r[RCX << 1]);
  regWrite(c, 1, RDX, 4, c.r[OUT_HI], 0);
  regWrite(c, 1, RAX, 4, lo, 0);
};
export const hXsetbv: Handler = (c) => {
  requireCpl0(c, "XSETBV");
  const r = c.r;
  if ((r[RAX << 1] & ~c.exits.xcr0Allowed) !== 0)
    raiseGP(0, "XSETBV: XCR0 component not allowed by the exit controls (e.g. a TD's XFAM)");
  xsetbv(c.st, r[RCX << 1], r[RAX << 1], r[RDX << 1]);
};
export const hLdmxcsr: Handler = (c, d, o) => {
  requireFx(c);
  writeMxcsr(c.st, readOp(c, d, o, 0));
};
export const hStmxcsr: Handler = (c, d, o) => {
  requireFx(c);
  writeOp(c, d, o, 0, c.st.mxcsr, 0, false);
};

// ---- host calls ----

// These exits stop through requestStop (no exception: TD guests stop on every TDCALL).
export const hVmcall: Handler = (c) => {
  c.requestStop({ reason: "vmcall" }, true);
};
export const hTdcall: Handler = (c) => {
  requireCpl0(c, "TDCALL");
  c.requestStop({ reason: "tdcall" }, true);
};
export const hSeamcall: Handler = (c) => {
  requireCpl0(c, "SEAMCALL");
  c.requestStop({ reason: "seamcall" }, true);
};

export const hUd: Handler = () => {
  raiseUD("UD0/UD1/UD2");
};

// ---- flag instructions ----

export const hClc: Handler = (c) => clc(c.st);
export const hStc: Handler = (c) => stc(c.st);
export const hCmc: Handler = (c) => cmc(c.st);
export const hCld: Handler = (c) => cld(c.st);
export const hStd: Handler = (c) => std(c.st);
export const hLahf: Handler = (c) => {
  regWrite(c, 2, 0, 1, lahf(c.st), 0);
};
export const hSahf: Handler = (c) => {
  sahf(c.st, (c.r[0] >>> 8) & 0xff);
};
export const hClacStac: Handler = (c, d) => {
  requireCpl0(c, "CLAC/STAC");
  void d;
};
export function selectClacStac(set: boolean): Handler {
  return (c) => {
    requireCpl0(c, set ? "STAC" : "CLAC");
    if (set) c.r[FLAGS_REST] |= AC;
    else c.r[FLAGS_REST] &= ~AC;
    c.flagsChanged();
  };
}

export { arithFlags, CrEffect, memWrite, PFX_REX_W, RSI, setCF };

/** RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE: 64-bit mode with CR4.FSGSBASE (else #UD); writes need a canonical base. */
export function selectFsGsBase(gs: boolean, write: boolean): Handler {
  return (c, d, o) => {
    if (!c.mode64 || !(c.st.cr4 & CR4_FSGSBASE))
      raiseUD("RD/WR FS/GS BASE outside 64-bit mode or with CR4.FSGSBASE=0");
    const b = (gs ? SEG_GS : SEG_FS) * SEG_STRIDE;
    const seg = c.st.seg;
    const size = d[o + R_OP0] >>> 16;
    if (write) {
      const lo = readOp(c, d, o, 0);
      const hi = size === 8 ? c.hi : 0;
      if (!c.mmu.isCanonicalHigh(hi)) raiseGP(0, "WRFSBASE/WRGSBASE: non-canonical base");
      seg[b + S_BASE_LO] = lo;
      seg[b + S_BASE_HI] = hi;
    } else writeOp(c, d, o, 0, seg[b + S_BASE_LO], seg[b + S_BASE_HI], false);
  };
}
