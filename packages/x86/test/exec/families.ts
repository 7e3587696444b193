// Instruction families for the native differential test: how to generate inputs for each
// op, how our semantic helpers compute it, and which output bits are architecturally
// defined (the SDM's "undefined" flags are masked, with the rule next to each op).

import * as alu from "../../src/exec/alu.js";
import * as bitops from "../../src/exec/bitops.js";
import type { DataMemory } from "../../src/exec/data-memory.js";
import { X86Exception } from "../../src/exec/exception.js";
import { popf } from "../../src/exec/flag-insns.js";
import { arithFlags, readRflags, setArithFlags, testCondition, writeRflags } from "../../src/exec/flags.js";
import * as muldiv from "../../src/exec/muldiv.js";
import {
  newRegFile,
  OUT_HI,
  OUT2_HI,
  OUT2_LO,
  RAX,
  RCX,
  RDI,
  type RegFile,
  RSI,
} from "../../src/exec/regs.js";
import { SEG_CS, SEG_ES, setSegment } from "../../src/exec/segment.js";
import * as shift from "../../src/exec/shift.js";
import * as sse from "../../src/exec/sse-int.js";
import { CpuState, CR0_PE } from "../../src/exec/state.js";
import { RepPrefix, StringOp, stringOp } from "../../src/exec/string.js";
import { sseFpFamily } from "./family-sse-fp.js";
import type { NativeResult, NativeVector } from "./native-harness.js";
import type { Rng } from "./rng.js";

type Inputs = NativeVector["in"];
type Outputs = NativeResult;
type Masks = [bigint, bigint, bigint];

export interface OpCase {
  op: string;
  gen(rng: Rng): Inputs;
  ours(input: Inputs): Outputs;
  /** Bits of out0/out1/out2 that are defined for this input. */
  mask(input: Inputs): Masks;
}

export interface Family {
  name: string;
  /** The masking rule, as written in the SDM, for the README table. */
  rule: string;
  ops: OpCase[];
}

const M64 = (1n << 64n) - 1n;
const ALL = M64;
const FL = 0x8d5n; // CF PF AF ZF SF OF
const CF = 0x1n;
const AF = 0x10n;
const ZF = 0x40n;
const OF = 0x800n;

const lo32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
const hi32 = (x: bigint): number => Number(BigInt.asIntN(32, x >> 32n));
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const widthMask = (bits: number): bigint => (1n << BigInt(bits)) - 1n;

/** A register write of `bits` width: 8/16 merge, 32 zero-extends, 64 replaces. */
export function writeSized(old: bigint, val: bigint, bits: number): bigint {
  if (bits === 64) return val & M64;
  if (bits === 32) return val & 0xffffffffn;
  const m = widthMask(bits);
  return (old & ~m & M64) | (val & m);
}

function regsWithFlags(f: bigint): RegFile {
  const r = newRegFile();
  setArithFlags(r, Number(f));
  return r;
}
const flagsOut = (r: RegFile): bigint => BigInt(arithFlags(r));
const readRflagsOf = (cpu: CpuState): number => readRflags(cpu.r);

const SIZES = [8, 16, 32, 64] as const;
const SIZES3 = [16, 32, 64] as const;

// biome-ignore lint/suspicious/noExplicitAny: looking helpers up by name
const fn = (mod: any, name: string) => {
  const f = mod[name];
  if (typeof f !== "function") throw new Error(`no helper ${name}`);
  return f;
};

/** Call a binary sized helper and return the width-masked result as a bigint. */
function callBinary(mod: unknown, name: string, bits: number, r: RegFile, a: bigint, b: bigint): bigint {
  if (bits === 64) {
    const l = fn(mod, `${name}64`)(r, lo32(a), hi32(a), lo32(b), hi32(b));
    return u64(l, r[OUT_HI]);
  }
  return BigInt(fn(mod, `${name}${bits}`)(r, lo32(a), lo32(b)) >>> 0) & widthMask(bits);
}

function callUnary(mod: unknown, name: string, bits: number, r: RegFile, a: bigint): bigint {
  if (bits === 64) {
    const l = fn(mod, `${name}64`)(r, lo32(a), hi32(a));
    return u64(l, r[OUT_HI]);
  }
  return BigInt(fn(mod, `${name}${bits}`)(r, lo32(a)) >>> 0) & widthMask(bits);
}

// ---- ALU ---------------------------------------------------------------------------------------

function aluFamily(): Family {
  const ops: OpCase[] = [];
  for (const name of ["add", "adc", "sub", "sbb", "and", "or", "xor", "cmp", "test"]) {
    const logic = ["and", "or", "xor", "test"].includes(name);
    const discard = name === "cmp" || name === "test";
    for (const bits of SIZES) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [g.operand(bits), g.operand(bits), 0n, 0n, g.flags()],
        ours: ([a, b, , , f]) => {
          const r = regsWithFlags(f);
          const res = callBinary(alu, name, bits, r, a, b);
          return [discard ? a : writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        // AND/OR/XOR/TEST: AF undefined.
        mask: () => [ALL, ALL, logic ? FL & ~AF : FL],
      });
    }
  }
  for (const name of ["inc", "dec", "neg", "not"]) {
    for (const bits of SIZES) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [g.operand(bits), 0n, 0n, 0n, g.flags()],
        ours: ([a, , , , f]) => {
          const r = regsWithFlags(f);
          let res: bigint;
          if (name === "not") {
            res =
              bits === 64
                ? u64(alu.not64(r, lo32(a), hi32(a)), r[OUT_HI])
                : BigInt(fn(alu, `not${bits}`)(lo32(a)) >>> 0) & widthMask(bits);
          } else {
            res = callUnary(alu, name, bits, r, a);
          }
          return [writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        mask: () => [ALL, ALL, FL],
      });
    }
  }
  return {
    name: "ALU",
    rule: "AND/OR/XOR/TEST: AF undefined; all other flags compared",
    ops,
  };
}

// ---- shifts and rotates ------------------------------------------------------------------------

function shiftCount(g: Rng, bits: number): bigint {
  return BigInt(g.int(3) === 0 ? g.int(256) : g.int(bits + 3));
}

function shiftFamily(): Family {
  const ops: OpCase[] = [];
  for (const name of ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]) {
    for (const bits of SIZES) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [g.operand(bits), shiftCount(g, bits), 0n, 0n, g.flags()],
        ours: ([a, c, , , f]) => {
          const r = regsWithFlags(f);
          let res: bigint;
          if (bits === 64) {
            res = u64(fn(shift, `${name}64`)(r, lo32(a), hi32(a), Number(c)), r[OUT_HI]);
          } else {
            res = BigInt(fn(shift, name)(r, bits, lo32(a), Number(c)) >>> 0) & widthMask(bits);
          }
          return [writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        mask: ([, c]) => {
          const n = Number(c) & (bits === 64 ? 63 : 31);
          if (n === 0) return [ALL, ALL, FL];
          let m = FL;
          if (n !== 1) m &= ~OF; // OF defined only for 1-bit shifts/rotates
          if (name === "shl" || name === "shr" || name === "sar") {
            m &= ~AF; // AF undefined for a nonzero count
            if ((name === "shl" || name === "shr") && n >= bits) m &= ~CF; // CF undefined, count >= size
          }
          return [ALL, ALL, m];
        },
      });
    }
  }
  for (const name of ["shld", "shrd"]) {
    for (const bits of SIZES3) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [g.operand(bits), shiftCount(g, bits), g.operand(bits), 0n, g.flags()],
        ours: ([a, c, b, , f]) => {
          const r = regsWithFlags(f);
          let res: bigint;
          if (bits === 64) {
            res = u64(fn(shift, `${name}64`)(r, lo32(a), hi32(a), lo32(b), hi32(b), Number(c)), r[OUT_HI]);
          } else {
            res = BigInt(fn(shift, name)(r, bits, lo32(a), lo32(b), Number(c)) >>> 0) & widthMask(bits);
          }
          return [writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        mask: ([, c]) => {
          const n = Number(c) & (bits === 64 ? 63 : 31);
          if (n === 0) return [ALL, ALL, FL];
          if (n > bits) return [0n, ALL, 0n]; // count > operand size: result and flags undefined
          return [ALL, ALL, n === 1 ? FL & ~AF : FL & ~AF & ~OF];
        },
      });
    }
  }
  return {
    name: "shift/rotate",
    rule: "count 0: all flags compared (unchanged); OF only for count 1; SHL/SHR/SAR: AF undefined, SHL/SHR CF undefined when count >= size; SHLD/SHRD: AF undefined, 16-bit count > 16 leaves result and flags undefined",
    ops,
  };
}

// ---- multiply and divide -------------------------------------------------------------------------

function mulDivFamily(): Family {
  const ops: OpCase[] = [];
  const oneOperand: [string, string][] = [
    ["mul", "mul"],
    ["imul1_", "imul"],
    ["div", "div"],
    ["idiv", "idiv"],
  ];
  for (const [native, ourName] of oneOperand) {
    const isDiv = ourName === "div" || ourName === "idiv";
    for (const bits of SIZES) {
      ops.push({
        op: `${native}${bits}`,
        gen: (g) => {
          const a = g.operand(bits);
          let d = g.operand(bits);
          let s = g.operand(bits);
          if (isDiv && g.int(4) !== 0) {
            // keep most vectors in range so quotients are exercised, not only #DE
            if ((s & widthMask(bits)) === 0n) s |= 1n;
            d =
              (d & ~widthMask(bits)) |
              (g.next() & (widthMask(bits) % (s & widthMask(bits))) & widthMask(bits - 1));
          }
          return [a, s, d, 0n, g.flags()];
        },
        ours: ([a, s, d, , f]) => {
          const r = regsWithFlags(f);
          try {
            return [...oursMulDiv(r, ourName, bits, a, s, d), flagsOut(r)] as Outputs;
          } catch (e) {
            if (e instanceof X86Exception && e.vector === 0) return "DE";
            throw e;
          }
        },
        // MUL/IMUL: SF ZF AF PF undefined. DIV/IDIV: all flags undefined.
        mask: () => [ALL, ALL, isDiv ? 0n : CF | OF],
      });
    }
  }
  for (const bits of SIZES3) {
    ops.push({
      op: `imul${bits}`,
      gen: (g) => [g.operand(bits), g.operand(bits), 0n, 0n, g.flags()],
      ours: ([a, b, , , f]) => {
        const r = regsWithFlags(f);
        const res = callBinary(muldiv, "imulTrunc", bits, r, a, b);
        return [writeSized(a, res, bits), 0n, flagsOut(r)];
      },
      mask: () => [ALL, ALL, CF | OF],
    });
  }
  return {
    name: "multiply/divide",
    rule: "MUL/IMUL: SF ZF AF PF undefined; DIV/IDIV: all flags undefined; #DE must match",
    ops,
  };
}

function oursMulDiv(
  r: RegFile,
  name: string,
  bits: number,
  a: bigint,
  s: bigint,
  d: bigint,
): [bigint, bigint] {
  const m = widthMask(bits);
  if (bits === 8) {
    const al = lo32(a);
    const ax =
      name === "mul"
        ? muldiv.mul8(r, al, lo32(s))
        : name === "imul"
          ? muldiv.imul8(r, al, lo32(s))
          : name === "div"
            ? muldiv.div8(al, lo32(s))
            : muldiv.idiv8(al, lo32(s));
    return [writeSized(a, BigInt(ax & 0xffff), 16), d];
  }
  if (bits === 64) {
    let l: number;
    if (name === "mul" || name === "imul") {
      l = fn(muldiv, `${name}64`)(r, lo32(a), hi32(a), lo32(s), hi32(s));
    } else {
      l = fn(muldiv, `${name}64`)(r, lo32(d), hi32(d), lo32(a), hi32(a), lo32(s), hi32(s));
    }
    return [u64(l, r[OUT_HI]), u64(r[OUT2_LO], r[OUT2_HI])];
  }
  let res: number;
  if (name === "mul" || name === "imul") res = fn(muldiv, `${name}${bits}`)(r, lo32(a), lo32(s));
  else res = fn(muldiv, `${name}${bits}`)(r, lo32(d), lo32(a), lo32(s));
  return [writeSized(a, BigInt(res >>> 0) & m, bits), writeSized(d, BigInt(r[OUT2_LO] >>> 0) & m, bits)];
}

// ---- bit operations ---------------------------------------------------------------------------------

function bitFamily(): Family {
  const ops: OpCase[] = [];
  for (const name of ["bt", "bts", "btr", "btc"]) {
    const op = ["bt", "bts", "btr", "btc"].indexOf(name) as 0 | 1 | 2 | 3;
    for (const bits of SIZES3) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [g.operand(bits), BigInt(g.int(256)) | (g.next() & ~0xffn), 0n, 0n, g.flags()],
        ours: ([a, off, , , f]) => {
          const r = regsWithFlags(f);
          let res: bigint;
          if (bits === 64) res = u64(bitops.bt64(r, lo32(a), hi32(a), lo32(off), op), r[OUT_HI]);
          else if (name === "bt") {
            bitops.bt(r, bits, lo32(a), lo32(off));
            res = a & widthMask(bits);
          } else res = BigInt(fn(bitops, name)(r, bits, lo32(a), lo32(off)) >>> 0) & widthMask(bits);
          return [name === "bt" ? a : writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        // BT*: OF SF AF PF undefined; CF and (unchanged) ZF compared.
        mask: () => [ALL, ALL, CF | ZF],
      });
    }
  }
  for (const name of ["bsf", "bsr", "tzcnt", "lzcnt", "popcnt"]) {
    for (const bits of SIZES3) {
      ops.push({
        op: `${name}${bits}`,
        gen: (g) => [
          g.operand(bits),
          g.int(6) === 0 ? g.next() & ~widthMask(bits) & M64 : g.operand(bits),
          0n,
          0n,
          g.flags(),
        ],
        ours: ([a, s, , , f]) => {
          const r = regsWithFlags(f);
          let res: bigint;
          if (bits === 64) {
            const l =
              name === "bsf" || name === "bsr"
                ? fn(bitops, `${name}64`)(r, lo32(a), hi32(a), lo32(s), hi32(s))
                : fn(bitops, `${name}64`)(r, lo32(s), hi32(s));
            res = u64(l, r[OUT_HI]);
          } else if (name === "bsf" || name === "bsr") {
            res = BigInt(fn(bitops, name)(r, bits, lo32(a), lo32(s)) >>> 0) & widthMask(bits);
          } else {
            res = BigInt(fn(bitops, name)(r, bits, lo32(s)) >>> 0);
          }
          // BSF/BSR with a zero source: the interpreter skips the write (Intel keeps all 64 bits).
          const zeroSrc = (s & widthMask(bits)) === 0n;
          if ((name === "bsf" || name === "bsr") && zeroSrc) return [a, 0n, flagsOut(r)];
          return [writeSized(a, res, bits), 0n, flagsOut(r)];
        },
        mask: ([, s]) => {
          const zero = (s & widthMask(bits)) === 0n;
          // BSF/BSR: ZF only; destination undefined for a zero source.
          if (name === "bsf" || name === "bsr") return [zero ? 0n : ALL, ALL, ZF];
          // TZCNT/LZCNT: CF and ZF defined; POPCNT: all defined.
          return [ALL, ALL, name === "popcnt" ? FL : CF | ZF];
        },
      });
    }
  }
  for (const bits of [32, 64]) {
    ops.push({
      op: `bswap${bits}`,
      gen: (g) => [g.next(), 0n, 0n, 0n, g.flags()],
      ours: ([a, , , , f]) => {
        const r = regsWithFlags(f);
        const res =
          bits === 64
            ? u64(bitops.bswap64(r, lo32(a), hi32(a)), r[OUT_HI])
            : BigInt(bitops.bswap32(lo32(a)) >>> 0);
        return [res, 0n, flagsOut(r)];
      },
      mask: () => [ALL, ALL, FL],
    });
  }
  return {
    name: "bit test/scan",
    rule: "BT*: OF SF AF PF undefined; BSF/BSR: only ZF defined, destination undefined for a zero source; TZCNT/LZCNT: OF SF AF PF undefined",
    ops,
  };
}

// ---- CMPXCHG, XADD, sign extension, SETcc -------------------------------------------------------------

function miscFamily(): Family {
  const ops: OpCase[] = [];
  for (const bits of SIZES) {
    const m = widthMask(bits);
    ops.push({
      op: `cmpxchg${bits}`,
      gen: (g) => {
        const dst = g.operand(bits);
        let acc = g.operand(bits);
        if (g.int(3) === 0) acc = (acc & ~m) | (dst & m);
        return [dst, g.operand(bits), acc, 0n, g.flags()];
      },
      ours: ([dst, src, acc, , f]) => {
        const r = regsWithFlags(f);
        const eq =
          bits === 64
            ? bitops.cmpxchg64(r, lo32(acc), hi32(acc), lo32(dst), hi32(dst))
            : bitops.cmpxchg(r, bits, lo32(acc), lo32(dst));
        if (eq) return [writeSized(dst, src, bits), acc, flagsOut(r)];
        // On a mismatch a register destination keeps all 64 bits (no 32-bit zero-extension).
        return [dst, writeSized(acc, dst, bits), flagsOut(r)];
      },
      mask: () => [ALL, ALL, FL],
    });
    ops.push({
      op: `xadd${bits}`,
      gen: (g) => [g.operand(bits), g.operand(bits), 0n, 0n, g.flags()],
      ours: ([dst, src, , , f]) => {
        const r = regsWithFlags(f);
        const sum =
          bits === 64
            ? u64(bitops.xadd64(r, lo32(dst), hi32(dst), lo32(src), hi32(src)), r[OUT_HI])
            : BigInt(bitops.xadd(r, bits, lo32(dst), lo32(src)) >>> 0) & m;
        return [writeSized(dst, sum, bits), writeSized(src, dst, bits), flagsOut(r)];
      },
      mask: () => [ALL, ALL, FL],
    });
  }
  const ext: [string, (a: bigint, d: bigint) => [bigint, bigint]][] = [
    ["cbw", (a, d) => [writeSized(a, BigInt(bitops.cbw(lo32(a))), 16), d]],
    ["cwde", (a, d) => [writeSized(a, BigInt(bitops.cwde(lo32(a)) >>> 0), 32), d]],
    ["cdqe", (a, d) => [u64(lo32(a), bitops.cdqe(lo32(a))), d]],
    ["cwd", (a, d) => [a, writeSized(d, BigInt(bitops.cwd(lo32(a))), 16)]],
    ["cdq", (a, d) => [a, writeSized(d, BigInt(bitops.cdq(lo32(a)) >>> 0), 32)]],
    ["cqo", (a) => [a, u64(bitops.cqo(hi32(a)), bitops.cqo(hi32(a)))]],
  ];
  for (const [name, calc] of ext) {
    ops.push({
      op: name,
      gen: (g) => [
        g.operand(name === "cbw" ? 8 : name === "cwde" || name === "cwd" ? 16 : name === "cqo" ? 64 : 32),
        0n,
        g.next(),
        0n,
        0n,
      ],
      ours: ([a, , d]) => [...calc(a, d), 0n] as Outputs,
      mask: () => [ALL, ALL, ALL],
    });
  }
  const ccNames = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
  ccNames.forEach((cc, i) => {
    ops.push({
      op: `set${cc}`,
      gen: (g) => [0n, 0n, 0n, 0n, g.flags()],
      ours: ([, , , , f]) => [BigInt(testCondition(regsWithFlags(f), i)), 0n, 0n],
      mask: () => [ALL, ALL, ALL],
    });
  });
  ccNames.forEach((cc, i) => {
    for (const bits of SIZES3) {
      ops.push({
        op: `cmov${cc}${bits}`,
        gen: (g) => [g.operand(bits), g.operand(bits), 0n, 0n, g.flags()],
        // The destination is written even when the condition is false (32-bit: zero-extended).
        ours: ([a, b, , , f]) => [writeSized(a, testCondition(regsWithFlags(f), i) ? b : a, bits), 0n, 0n],
        mask: () => [ALL, ALL, ALL],
      });
    }
  });
  ops.push({
    op: "popf_user",
    // Random RFLAGS images (TF excluded: it would single-step the harness).
    gen: (g) => [0n, 0n, 0n, 0n, g.next() & 0x3f7fd5n & ~0x100n],
    ours: ([, , , , v]) => {
      // A Linux user process: protected mode, CPL 3, IOPL 0, IF=1.
      const cpu = new CpuState();
      cpu.cr0 = CR0_PE;
      setSegment(cpu.seg, SEG_CS, 0x33, 0, 0, -1, 0xa0fb);
      writeRflags(cpu.r, 0x202);
      popf(cpu, Number(v), 64);
      return [0n, 0n, BigInt(readRflagsOf(cpu))];
    },
    mask: () => [ALL, ALL, ALL],
  });
  return { name: "cmpxchg/xadd/cbw/setcc/cmovcc/popf", rule: "all outputs compared", ops };
}

// ---- SSE2 integer ------------------------------------------------------------------------------------

function loadXmm(x: sse.XmmFile, n: number, loQ: bigint, hiQ: bigint): void {
  const a = x.i32;
  a[n * 4] = lo32(loQ);
  a[n * 4 + 1] = hi32(loQ);
  a[n * 4 + 2] = lo32(hiQ);
  a[n * 4 + 3] = hi32(hiQ);
}
function readXmm(x: sse.XmmFile, n: number): [bigint, bigint] {
  const a = x.i32;
  return [u64(a[n * 4], a[n * 4 + 1]), u64(a[n * 4 + 2], a[n * 4 + 3])];
}

function sseFamily(): Family {
  const ops: OpCase[] = [];
  const D = 3; // arbitrary register numbers
  const S = 11;
  const binary = [
    "paddb",
    "paddw",
    "paddd",
    "paddq",
    "psubb",
    "psubw",
    "psubd",
    "psubq",
    "pcmpeqb",
    "pcmpeqw",
    "pcmpeqd",
    "pcmpgtb",
    "pcmpgtw",
    "pcmpgtd",
    "pand",
    "pandn",
    "por",
    "pxor",
    "punpcklbw",
    "punpckhbw",
    "punpcklwd",
    "punpckhwd",
    "punpckldq",
    "punpckhdq",
    "punpcklqdq",
    "punpckhqdq",
    "pmuludq",
    "paddusb",
    "paddusw",
    "psubusb",
    "psubusw",
    "paddsb",
    "paddsw",
    "psubsb",
    "psubsw",
    "pminub",
    "pmaxub",
    "pminsw",
    "pmaxsw",
    "pavgb",
    "pavgw",
    "packsswb",
    "packuswb",
    "packssdw",
    "pmullw",
    "pmulhw",
    "pmulhuw",
    "pmaddwd",
    "psadbw",
  ];
  const vec = (g: Rng): bigint => {
    // Lanes equal between operands now and then, so compares see both outcomes.
    return g.int(4) === 0 ? 0n : g.next();
  };
  for (const name of binary) {
    ops.push({
      op: name,
      gen: (g) => {
        const d0 = vec(g);
        const d1 = vec(g);
        const same = g.int(3) === 0;
        return [d0, d1, same ? d0 ^ (g.next() & 0xff00ff00ff00ff00n) : vec(g), same ? d1 : vec(g), 0n];
      },
      ours: ([d0, d1, s0, s1]) => {
        const x = new sse.XmmFile();
        loadXmm(x, D, d0, d1);
        loadXmm(x, S, s0, s1);
        fn(sse, name)(x, D, S);
        return [...readXmm(x, D), 0n] as Outputs;
      },
      mask: () => [ALL, ALL, ALL],
    });
  }
  for (const name of ["psllw", "psrlw", "psraw", "pslld", "psrld", "psrad", "psllq", "psrlq"]) {
    ops.push({
      op: name,
      gen: (g) => [g.next(), g.next(), g.int(4) === 0 ? g.next() : BigInt(g.int(70)), g.next(), 0n],
      ours: ([d0, d1, s0, s1]) => {
        const x = new sse.XmmFile();
        loadXmm(x, D, d0, d1);
        loadXmm(x, S, s0, s1);
        fn(sse, name)(x, D, sse.xmmShiftCount(x, S));
        return [...readXmm(x, D), 0n] as Outputs;
      },
      mask: () => [ALL, ALL, ALL],
    });
  }
  for (const name of ["pshufd", "shufps", "pslldq", "psrldq"]) {
    ops.push({
      op: name,
      gen: (g) => [
        g.next(),
        g.next(),
        g.next(),
        g.next(),
        BigInt(name.endsWith("dq") && g.int(2) ? g.int(20) : g.int(256)),
      ],
      ours: ([d0, d1, s0, s1, imm]) => {
        const x = new sse.XmmFile();
        loadXmm(x, D, d0, d1);
        loadXmm(x, S, s0, s1);
        if (name === "pslldq" || name === "psrldq") fn(sse, name)(x, D, Number(imm));
        else fn(sse, name)(x, D, S, Number(imm));
        return [...readXmm(x, D), 0n] as Outputs;
      },
      mask: () => [ALL, ALL, ALL],
    });
  }
  ops.push({
    op: "pextrw",
    gen: (g) => [0n, 0n, g.next(), g.next(), BigInt(g.int(256))],
    ours: ([, , s0, s1, imm]) => {
      const x = new sse.XmmFile();
      loadXmm(x, S, s0, s1);
      return [0n, 0n, BigInt(sse.pextrw(x, S, Number(imm)))];
    },
    mask: () => [ALL, ALL, ALL],
  });
  ops.push({
    op: "pinsrw",
    gen: (g) => [g.next(), g.next(), g.next(), 0n, BigInt(g.int(256))],
    ours: ([d0, d1, gpr, , imm]) => {
      const x = new sse.XmmFile();
      loadXmm(x, D, d0, d1);
      sse.pinsrw(x, D, lo32(gpr), Number(imm));
      return [...readXmm(x, D), 0n] as Outputs;
    },
    mask: () => [ALL, ALL, ALL],
  });
  ops.push({
    op: "pmovmskb",
    gen: (g) => [0n, 0n, g.next(), g.next(), 0n],
    ours: ([, , s0, s1]) => {
      const x = new sse.XmmFile();
      loadXmm(x, S, s0, s1);
      return [0n, 0n, BigInt(sse.pmovmskb(x, S))];
    },
    mask: () => [ALL, ALL, ALL],
  });
  const mov: [string, (x: sse.XmmFile, g: bigint) => bigint][] = [
    [
      "movd_to_xmm",
      (x, g) => {
        sse.movdToXmm(x, D, lo32(g));
        return 0n;
      },
    ],
    [
      "movq_to_xmm",
      (x, g) => {
        sse.movqToXmm(x, D, lo32(g), hi32(g));
        return 0n;
      },
    ],
    ["movd_from_xmm", (x) => BigInt(sse.xmmDword(x, S, 0) >>> 0)],
    ["movq_from_xmm", (x) => u64(sse.xmmDword(x, S, 0), sse.xmmDword(x, S, 1))],
    [
      "movq_xmm_xmm",
      (x) => {
        sse.movqToXmm(x, D, sse.xmmDword(x, S, 0), sse.xmmDword(x, S, 1));
        return 0n;
      },
    ],
  ];
  for (const [name, run] of mov) {
    ops.push({
      op: name,
      gen: (g) => [g.next(), g.next(), g.next(), g.next(), g.next()],
      ours: ([d0, d1, s0, s1, gpr]) => {
        const x = new sse.XmmFile();
        loadXmm(x, D, d0, d1);
        loadXmm(x, S, s0, s1);
        const out = run(x, gpr);
        // the from-xmm forms report only the GPR; the harness reports xmm0 as zero then
        const [r0, r1] = name.endsWith("from_xmm") ? [0n, 0n] : readXmm(x, D);
        return [r0, r1, out];
      },
      mask: () => [ALL, ALL, ALL],
    });
  }
  return { name: "SSE2 integer", rule: "all outputs compared (no undefined results)", ops };
}

// ---- string instructions ---------------------------------------------------------------------------

const STR_WINDOW = 304;

/** The harness's two 640-byte buffers as a DataMemory: DS → A, ES → B. */
class StringBuffers implements DataMemory {
  readonly a = new Uint8Array(640);
  readonly b = new Uint8Array(640);
  constructor(in0: bigint, in1: bigint, in2: bigint, in3: bigint) {
    for (let i = 0; i < 640; i++) {
      this.a[i] = (i * 7 + 3) & 0xff;
      this.b[i] = (i * 13 + 5) & 0xff;
    }
    const put = (buf: Uint8Array, at: number, v: bigint) => {
      for (let k = 0; k < 8; k++) buf[at + k] = Number((v >> BigInt(8 * k)) & 0xffn);
    };
    put(this.a, STR_WINDOW, in0);
    put(this.a, STR_WINDOW + 8, in1);
    put(this.b, STR_WINDOW, in2);
    put(this.b, STR_WINDOW + 8, in3);
  }
  private buf(seg: number): Uint8Array {
    return seg === SEG_ES ? this.b : this.a;
  }
  read(seg: number, offLo: number, _offHi: number, bytes: 1 | 2 | 4): number {
    const b = this.buf(seg);
    let v = 0;
    for (let k = bytes - 1; k >= 0; k--) v = (v << 8) | b[offLo + k];
    return v | 0;
  }
  write(seg: number, offLo: number, _offHi: number, bytes: 1 | 2 | 4, value: number): void {
    const b = this.buf(seg);
    for (let k = 0; k < bytes; k++) b[offLo + k] = (value >>> (8 * k)) & 0xff;
  }
  window(buf: Uint8Array, at: number): bigint {
    let v = 0n;
    for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(buf[at + k]);
    return v;
  }
}

function stringFamily(): Family {
  const ops: OpCase[] = [];
  const sizes: [string, 1 | 2 | 4 | 8][] = [
    ["b", 1],
    ["w", 2],
    ["l", 4],
    ["q", 8],
  ];
  const kinds: [string, number][] = [
    ["movs", StringOp.MOVS],
    ["stos", StringOp.STOS],
    ["lods", StringOp.LODS],
    ["cmps", StringOp.CMPS],
    ["scas", StringOp.SCAS],
  ];
  for (const [name, op] of kinds) {
    const prefixes: [string, number][] = [
      ["", RepPrefix.NONE],
      ["rep_", RepPrefix.REPE],
    ];
    if (op === StringOp.CMPS || op === StringOp.SCAS) prefixes.push(["repne_", RepPrefix.REPNE]);
    for (const [prefix, rep] of prefixes) {
      for (const [suffix, size] of sizes) {
        ops.push({
          op: `str_${prefix}${name}${suffix}`,
          gen: (g) => {
            const v16 = BigInt(g.int(4) === 0 ? g.int(0x10000) : [0, 0x0303, 0xffff, 0x1111][g.int(4)]);
            const rep4 = v16 * 0x0001000100010001n;
            // Buffers equal to each other or to the scanned value now and then, so REPE/REPNE run on.
            const pick = (): bigint => [g.next(), rep4, rep4 ^ (1n << BigInt(g.int(64)))][g.int(3)];
            const a0 = pick();
            const a1 = pick();
            const same = g.int(2) === 0;
            const ctl =
              BigInt(g.int(3) === 0 ? g.int(32) : g.int(6)) |
              (BigInt(g.int(2)) << 8n) |
              (v16 << 16n) |
              (g.flags() << 32n) |
              (BigInt(g.int(16)) << 44n) |
              (BigInt(same ? 0 : g.int(16)) << 48n);
            return [a0, a1, same ? a0 : pick(), same ? a1 : pick(), ctl];
          },
          ours: ([a0, a1, b0, b1, ctl]) => {
            const mem = new StringBuffers(a0, a1, b0, b1);
            const cpu = new CpuState();
            const r = cpu.r;
            const count = Number(ctl & 31n);
            const v16 = Number((ctl >> 16n) & 0xffffn);
            const rax = v16 * 0x10001;
            writeRflags(r, Number((ctl >> 32n) & 0x8d5n) | (Number((ctl >> 8n) & 1n) << 10));
            r[2 * RCX] = count;
            r[2 * RAX] = rax;
            r[2 * RAX + 1] = rax;
            const si = STR_WINDOW + Number((ctl >> 44n) & 15n);
            const di = STR_WINDOW + Number((ctl >> 48n) & 15n);
            r[2 * RSI] = si;
            r[2 * RDI] = di;
            stringOp(cpu, mem, op, size, 64, rep);
            const out2 =
              BigInt(r[2 * RCX] & 0xff) |
              (BigInt((r[2 * RSI] - si + 512) & 0x3ff) << 8n) |
              (BigInt((r[2 * RDI] - di + 512) & 0x3ff) << 18n) |
              (BigInt(arithFlags(r)) << 32n) |
              (BigInt(r[2 * RAX] & 0xffff) << 48n);
            return [mem.window(mem.b, STR_WINDOW), mem.window(mem.b, STR_WINDOW + 8), out2];
          },
          mask: () => [ALL, ALL, ALL],
        });
      }
    }
  }
  return { name: "string", rule: "all outputs compared (DF, REP count, REPE/REPNE termination, flags)", ops };
}

export function families(): Family[] {
  return [
    aluFamily(),
    shiftFamily(),
    mulDivFamily(),
    bitFamily(),
    miscFamily(),
    sseFamily(),
    stringFamily(),
    sseFpFamily(),
  ];
}

export interface FamilyResult {
  name: string;
  rule: string;
  total: number;
  agree: number;
  mismatches: string[];
}

const hex = (x: bigint): string => x.toString(16);

/** Generate `perOp` vectors for every op of the family, run them natively and on our helpers. */
export function compareFamily(
  family: Family,
  perOp: number,
  seed: number,
  runNative: (v: NativeVector[]) => NativeResult[],
  rngFor: (seed: number) => Rng,
  unmasked = false,
): FamilyResult {
  const vectors: NativeVector[] = [];
  const cases: OpCase[] = [];
  const rng = rngFor(seed);
  for (const c of family.ops) {
    for (let i = 0; i < perOp; i++) {
      vectors.push({ op: c.op, in: c.gen(rng) });
      cases.push(c);
    }
  }
  const native = runNative(vectors);
  let agree = 0;
  const mismatches: string[] = [];
  vectors.forEach((v, i) => {
    const c = cases[i];
    const theirs = native[i];
    const ours = c.ours(v.in);
    let ok: boolean;
    if (theirs === "DE" || ours === "DE") ok = theirs === ours;
    else {
      // Integer ops report RFLAGS in out2 and mask it to defined arithmetic flags (the
      // native value also carries IF and bit 1); other ops put a GPR there and compare all.
      let [m0, m1, m2] = c.mask(v.in);
      // Unmasked mode (a report figure): compare the SDM-undefined bits too.
      if (unmasked) [m0, m1, m2] = [ALL, ALL, (m2 & ~FL) === 0n ? FL : ALL];
      ok =
        (theirs[0] & m0) === (ours[0] & m0) &&
        (theirs[1] & m1) === (ours[1] & m1) &&
        (theirs[2] & m2) === (ours[2] & m2);
    }
    if (ok) agree++;
    else if (mismatches.length < 20) {
      const show = (o: Outputs) => (o === "DE" ? "#DE" : o.map(hex).join(" "));
      mismatches.push(
        `${v.op} in=[${v.in.map(hex).join(" ")}] native=[${show(theirs)}] ours=[${show(ours)}]`,
      );
    }
  });
  return { name: family.name, rule: family.rule, total: vectors.length, agree, mismatches };
}
