// The handler table: for each operation id, a selector that returns the handler for one decoded
// instruction (so hot shapes get specialised closures at decode time), and which operations end
// a decoded block (every control transfer).
import { loadDataSegment } from "../exec/descriptor.js";
import { SEG_SS } from "../exec/segment.js";
import * as sse from "../exec/sse-int.js";
import { MNEMONICS, OPS } from "../isa/forms.js";
import type { Handler } from "./block.js";
import { checkGeneralDetect } from "./debug.js";
import * as F from "./h-flow.js";
import { guardXsetbv, hFwait } from "./h-guards.js";
import * as I from "./h-int.js";
import * as L from "./h-legacy.js";
import * as X from "./h-sse.js";
import * as FP from "./h-sse-fp.js";
import * as S from "./h-string.js";
import * as Y from "./h-system.js";
import { SSE_MNEMONICS, unsupportedSse } from "./h-unsupported.js";
import { readOp } from "./operands.js";

export type Selector = (d: Int32Array, o: number) => Handler;

const N = MNEMONICS.length;
/** Selector per operation id; undefined = not executed here (the run loop stops as unsupported). */
export const SELECTORS: (Selector | undefined)[] = new Array(N).fill(undefined);
/** 1 for operations that end a block (they may change RIP, CS or the mode). */
export const ENDS_BLOCK = new Uint8Array(N);

function on(names: string | string[], sel: Selector | Handler, selector = false): void {
  for (const n of Array.isArray(names) ? names : [names]) {
    const id = OPS[n];
    if (id === undefined) throw new Error(`dispatch: no mnemonic ${n}`);
    SELECTORS[id] = selector ? (sel as Selector) : () => sel as Handler;
  }
}
const sel = (names: string | string[], s: Selector) => on(names, s, true);
const ends = (...names: string[]) => {
  for (const n of names) ENDS_BLOCK[OPS[n]] = 1;
};

const ALU = ["ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"];
ALU.forEach((m, i) => {
  sel(m, (d, o) => I.selectAlu(i, d, o));
});
sel("TEST", (d, o) => I.selectAlu(I.ALU_TEST, d, o));
["INC", "DEC", "NEG", "NOT"].forEach((m, k) => {
  sel(m, (d, o) => I.selectUnary(k, d, o));
});
sel("MOV", (d, o) => {
  const p0 = d[o + 9];
  const p1 = d[o + 10];
  const c0 = (p0 >>> 4) & 15;
  const c1 = (p1 >>> 4) & 15;
  if (c0 === 5 || c1 === 5) return movDr;
  if (c0 === 4 || c1 === 4) return Y.hMovCrDr;
  if (c0 === 3 && (p0 & 15) === 1) return hMovToSreg;
  return I.selectMov(d, o);
});
sel("MOVZX", I.selectMovzx);
on(["MOVSX", "MOVSXD"], I.hMovsx);
on("LEA", I.hLea);
on("XCHG", I.hXchg);
on("CMPXCHG", I.hCmpxchg);
on(["CMPXCHG8B", "CMPXCHG16B"], I.hCmpxchgNb);
on("XADD", I.hXadd);
on("BSWAP", I.hBswap);
on("MOVBE", I.hMovbe);
on("XLATB", I.hXlat);
["ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR"].forEach((m, i) => {
  sel(m, (d, o) => I.selectShiftFor(i, d, o));
});
on("SHLD", I.selectShd(true));
on("SHRD", I.selectShd(false));
on("MUL", I.selectMulDiv1(0));
const IMUL1 = I.selectMulDiv1(1);
sel("IMUL", (d, o) => (d[o + 8] === 1 ? IMUL1 : I.hImul2));
on("DIV", I.selectMulDiv1(2));
on("IDIV", I.selectMulDiv1(3));
["BT", "BTS", "BTR", "BTC"].forEach((m, i) => {
  on(m, I.selectBt(i));
});
["BSF", "BSR", "TZCNT", "LZCNT", "POPCNT"].forEach((m, i) => {
  on(m, I.selectBitScan(i));
});
const CC = ["O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"];
CC.forEach((cc, i) => {
  on(`SET${cc}`, I.selectSetcc(i));
  on(`CMOV${cc}`, I.selectCmovcc(i));
  on(`J${cc}`, F.selectJcc(i)); // not a block end: see h-flow.ts branch()
});
on(["CBW", "CWDE", "CDQE"], I.hCbw);
on(["CWD", "CDQ", "CQO"], I.hCwd);

// control flow
on("JMP", F.hJmp);
on("CALL", F.hCall);
on("RET", F.hRet);
on("RETF", F.hRetf);
on("LOOP", F.selectLoop(0));
on("LOOPE", F.selectLoop(1));
on("LOOPNE", F.selectLoop(2));
on(["JCXZ", "JECXZ", "JRCXZ"], F.hJrcxz);
on("INT", F.selectInt("int"));
on("INT3", F.selectInt("int3"));
on("INTO", F.selectInt("into"));
on("INT1", F.selectInt("int1"));
on(["IRET", "IRETD", "IRETQ"], F.hIret);
on("SYSCALL", F.hSyscall);
on(["SYSRET", "SYSRETQ"], F.hSysret);
ends(
  "JMP",
  "CALL",
  "RET",
  "RETF",
  "LOOP",
  "LOOPE",
  "LOOPNE",
  "JCXZ",
  "JECXZ",
  "JRCXZ",
  "INT",
  "INT3",
  "INTO",
  "INT1",
);
ends("IRET", "IRETD", "IRETQ", "SYSCALL", "SYSRET", "SYSRETQ");
on("SWAPGS", F.hSwapgs);
on("PUSH", F.hPush);
on("POP", F.hPop);
on(["PUSHF", "PUSHFD", "PUSHFQ"], F.hPushf);
on(["POPF", "POPFD", "POPFQ"], F.hPopf);
on("LEAVE", F.hLeave);
on("ENTER", F.hEnter);

// strings
on(["MOVSB", "MOVSW", "MOVSQ"], S.selectString(S.STR_MOVS));
on(["STOSB", "STOSW", "STOSD", "STOSQ"], S.selectString(S.STR_STOS));
on(["LODSB", "LODSW", "LODSD", "LODSQ"], S.selectString(S.STR_LODS));
on(["CMPSB", "CMPSW", "CMPSQ"], S.selectString(S.STR_CMPS));
on(["SCASB", "SCASW", "SCASD", "SCASQ"], S.selectString(S.STR_SCAS));
// MOVSD/CMPSD are also SSE2 scalar-double mnemonics: the string forms have OK_STR operands.
const MOVS_STR = S.selectString(S.STR_MOVS);
const CMPS_STR = S.selectString(S.STR_CMPS);
const sse2Movsd = FP.selectScalarMove(64);
sel("MOVSD", (d, o) => ((d[o + 9] & 15) === 7 ? MOVS_STR : sse2Movsd));
sel("CMPSD", (d, o) => ((d[o + 9] & 15) === 7 ? CMPS_STR : sse2Cmpsd));

// system
on(
  ["NOP", "PAUSE", "LFENCE", "SFENCE", "MFENCE", "CLFLUSH", "CLFLUSHOPT", "CLWB", "ENDBR32", "ENDBR64"],
  Y.hNop,
);
on(["PREFETCHNTA", "PREFETCHT0", "PREFETCHT1", "PREFETCHT2", "PREFETCHW", "SERIALIZE"], Y.hNop);
on("FWAIT", hFwait);
on("CPUID", Y.hCpuid);
on("RDMSR", Y.hRdmsr);
on("WRMSR", Y.hWrmsr);
on("RDTSC", Y.hRdtsc);
on("RDTSCP", Y.hRdtscp);
on("RDPID", Y.hRdpid);
on("IN", Y.selectInOut(false));
on("OUT", Y.selectInOut(true));
on(["INSB", "INSW", "INSD"], Y.selectInsOuts(false));
on(["OUTSB", "OUTSW", "OUTSD"], Y.selectInsOuts(true));
on("HLT", Y.hHlt);
on("CLI", Y.hCli);
on("STI", Y.hSti);
on("LGDT", Y.selectLdt(false));
on("LIDT", Y.selectLdt(true));
on("SGDT", Y.selectSdt(false));
on("SIDT", Y.selectSdt(true));
on("LTR", Y.hLtr);
on("LLDT", Y.hLldt);
on("STR", Y.selectStoreSel(true));
on("SLDT", Y.selectStoreSel(false));
on("CLTS", Y.hClts);
on("LMSW", Y.hLmsw);
on("SMSW", Y.hSmsw);
on("INVLPG", Y.hInvlpg);
on("INVPCID", Y.hInvpcid);
for (const m of ["WBINVD", "INVD", "WBNOINVD"]) on(m, Y.selectCacheInstruction(m));
on(["RDRAND", "RDSEED"], Y.hRdrand);
on(["FXSAVE", "FXSAVE64"], Y.hFxsave);
on(["FXRSTOR", "FXRSTOR64"], Y.hFxrstor);
on(["XSAVE", "XSAVE64"], Y.hXsave);
on(["XRSTOR", "XRSTOR64"], Y.hXrstor);
on("XGETBV", Y.hXgetbv);
on("XSETBV", guardXsetbv(Y.hXsetbv));
on("LDMXCSR", Y.hLdmxcsr);
on("STMXCSR", Y.hStmxcsr);
on("RDFSBASE", Y.selectFsGsBase(false, false));
on("RDGSBASE", Y.selectFsGsBase(true, false));
on("WRFSBASE", Y.selectFsGsBase(false, true));
on("WRGSBASE", Y.selectFsGsBase(true, true));
on("VMCALL", Y.hVmcall);
on("TDCALL", Y.hTdcall);
on("SEAMCALL", Y.hSeamcall);
on(["UD0", "UD1", "UD2"], Y.hUd);
on("CLC", Y.hClc);
on("STC", Y.hStc);
on("CMC", Y.hCmc);
on("CLD", Y.hCld);
on("STD", Y.hStd);
on("LAHF", Y.hLahf);
on("SAHF", Y.hSahf);
on("CLAC", Y.selectClacStac(false));
on("STAC", Y.selectClacStac(true));
ends(
  "HLT",
  "STI",
  "LGDT",
  "LIDT",
  "LTR",
  "LLDT",
  "CLTS",
  "LMSW",
  "WRMSR",
  "XSETBV",
  "POPF",
  "POPFD",
  "POPFQ",
);

// SSE/SSE2
on(["MOVDQA", "MOVAPS", "MOVAPD", "MOVNTDQ", "MOVNTPS", "MOVNTPD"], X.selectMov128(true));
on(["MOVDQU", "MOVUPS", "MOVUPD", "LDDQU"], X.selectMov128(false));
on(["MOVD", "MOVQ"], X.hMovdq);
const bin: [string, (x: sse.XmmFile, d: number, s: number) => void][] = [
  ["PADDB", sse.paddb],
  ["PADDW", sse.paddw],
  ["PADDD", sse.paddd],
  ["PADDQ", sse.paddq],
  ["PSUBB", sse.psubb],
  ["PSUBW", sse.psubw],
  ["PSUBD", sse.psubd],
  ["PSUBQ", sse.psubq],
  ["PCMPEQB", sse.pcmpeqb],
  ["PCMPEQW", sse.pcmpeqw],
  ["PCMPEQD", sse.pcmpeqd],
  ["PCMPGTB", sse.pcmpgtb],
  ["PCMPGTW", sse.pcmpgtw],
  ["PCMPGTD", sse.pcmpgtd],
  ["PAND", sse.pand],
  ["PANDN", sse.pandn],
  ["POR", sse.por],
  ["PXOR", sse.pxor],
  ["ANDPS", sse.pand],
  ["ANDPD", sse.pand],
  ["ANDNPS", sse.pandn],
  ["ANDNPD", sse.pandn],
  ["ORPS", sse.por],
  ["ORPD", sse.por],
  ["XORPS", sse.pxor],
  ["XORPD", sse.pxor],
  ["PMULUDQ", sse.pmuludq],
  ["PUNPCKLBW", sse.punpcklbw],
  ["PUNPCKLWD", sse.punpcklwd],
  ["PUNPCKLDQ", sse.punpckldq],
  ["PUNPCKLQDQ", sse.punpcklqdq],
  ["PUNPCKHBW", sse.punpckhbw],
  ["PUNPCKHWD", sse.punpckhwd],
  ["PUNPCKHDQ", sse.punpckhdq],
  ["PUNPCKHQDQ", sse.punpckhqdq],
  ["PADDUSB", sse.paddusb],
  ["PADDUSW", sse.paddusw],
  ["PSUBUSB", sse.psubusb],
  ["PSUBUSW", sse.psubusw],
  ["PADDSB", sse.paddsb],
  ["PADDSW", sse.paddsw],
  ["PSUBSB", sse.psubsb],
  ["PSUBSW", sse.psubsw],
  ["PMINUB", sse.pminub],
  ["PMAXUB", sse.pmaxub],
  ["PMINSW", sse.pminsw],
  ["PMAXSW", sse.pmaxsw],
  ["PAVGB", sse.pavgb],
  ["PAVGW", sse.pavgw],
  ["PACKSSWB", sse.packsswb],
  ["PACKUSWB", sse.packuswb],
  ["PACKSSDW", sse.packssdw],
  ["PMULLW", sse.pmullw],
  ["PMULHW", sse.pmulhw],
  ["PMULHUW", sse.pmulhuw],
  ["PMADDWD", sse.pmaddwd],
  ["PSADBW", sse.psadbw],
];
for (const [m, fn] of bin) on(m, X.selectSseBinary(fn));
on("PSHUFD", X.selectSseShuffle(sse.pshufd));
on("SHUFPS", X.selectSseShuffle(sse.shufps));
const shifts: [string, (x: sse.XmmFile, d: number, n: number) => void][] = [
  ["PSLLW", sse.psllw],
  ["PSRLW", sse.psrlw],
  ["PSRAW", sse.psraw],
  ["PSLLD", sse.pslld],
  ["PSRLD", sse.psrld],
  ["PSRAD", sse.psrad],
  ["PSLLQ", sse.psllq],
  ["PSRLQ", sse.psrlq],
];
for (const [m, fn] of shifts) on(m, X.selectSseShift(fn));
on("PSLLDQ", X.selectByteShift(sse.pslldq));
on("PSRLDQ", X.selectByteShift(sse.psrldq));
on("PMOVMSKB", X.hPmovmskb);
on("PEXTRW", X.hPextrw);
on("PINSRW", X.hPinsrw);

// legacy instructions (h-legacy.ts)
on(["PUSHA", "PUSHAD"], L.hPusha);
on(["POPA", "POPAD"], L.hPopa);
for (const [m, seg] of L.LOAD_FAR_POINTER) on(m, L.selectLoadFarPointer(seg));
on("SYSENTER", L.hSysenter);
on(["SYSEXIT", "SYSEXITQ"], L.hSysexit);
ends("SYSENTER", "SYSEXIT", "SYSEXITQ", "LSS");

// SSE scalar floating point (h-sse-fp.ts)
for (const [m, h] of FP.scalarFpHandlers()) on(m, h);
for (const [m, h] of FP.packedFpHandlers()) on(m, h);
const sse2Cmpsd = FP.selectScalarComparePredicate(64, "CMPSD");
on("UNPCKLPD", X.selectSseBinary(sse.punpcklqdq));
on("UNPCKHPD", X.selectSseBinary(sse.punpckhqdq));
on("UNPCKLPS", X.selectSseBinary(sse.punpckldq));
on("UNPCKHPS", X.selectSseBinary(sse.punpckhdq));

// SSE instructions without a handler (floating point): #UD/#NM checks, then an unsupported stop naming them.
for (const m of SSE_MNEMONICS) if (SELECTORS[OPS[m]] === undefined) on(m, unsupportedSse(m));

/** MOV to/from DRn: DR7.GD's #DB first; a DR7 write may arm breakpoints, so the run loop looks again. */
const movDr: Handler = (c, d, o) => {
  checkGeneralDetect(c);
  Y.hMovCrDr(c, d, o);
  c.attention = true;
  c.breakBlock = true;
};

/** MOV Sreg, r/m16 (CS is #UD in the decoder). MOV SS opens the interrupt shadow. */
const hMovToSreg: Handler = (c, d, o) => {
  const v = readOp(c, d, o, 1) & 0xffff;
  const seg = (d[o + 9] >>> 8) & 255;
  loadDataSegment(c.st, c.sys, seg, v);
  if (seg === SEG_SS) c.interruptShadow();
  c.modeChanged();
};
