// The SSE scalar floating-point family for the native differential harness: operands biased to
// the IEEE edge cases (signed zeros, denormals, extremes, infinities, QNaN/SNaN payloads,
// rounding midpoints), a random MXCSR (rounding control, DAZ, FTZ; exceptions masked), and the
// result bits, the MXCSR flags and (for COMIS/UCOMIS) ZF/PF/CF all compared.
import {
  convertFloat,
  F32,
  F64,
  floatToInt,
  intToFloat,
  laneOp,
  type PackedConversion,
  type PackedOp,
  packedConvert,
  packedOp,
  scalarBinary,
  scalarCompare,
} from "../../src/exec/sse-fp.js";
import { fastCompareDouble, fastIntToDouble, fastOut, scalarArith } from "../../src/exec/sse-fp-fast.js";
import type { Family, OpCase } from "./families.js";
import type { Rng } from "./rng.js";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

/** A random double bit pattern biased toward edge cases. */
function double(g: Rng): bigint {
  const sign = BigInt(g.int(2)) << 63n;
  const frac = g.next() & ((1n << 52n) - 1n);
  switch (g.int(14)) {
    case 0:
      return sign; // ±0
    case 1:
      return sign | (frac === 0n ? 1n : frac); // denormal
    case 2:
      return sign | (0x7ffn << 52n); // ±inf
    case 3:
      return sign | (0x7ffn << 52n) | (1n << 51n) | (frac >> 1n); // QNaN
    case 4:
      return sign | (0x7ffn << 52n) | ((frac >> 1n) | 1n); // SNaN
    case 5:
      return sign | (BigInt(g.int(3) + 0x7fc) << 52n) | frac; // near overflow
    case 6:
      return sign | (BigInt(g.int(60) + 1) << 52n) | frac; // near the denormal range
    case 7:
      return sign | (BigInt(1023 + g.int(66)) << 52n) | (g.int(2) ? frac & ~((1n << 30n) - 1n) : frac); // integers, 2^31/2^63 edges
    case 8:
      return sign | (BigInt(1023 + g.int(4) - 2) << 52n) | (frac & (g.int(2) ? 0xfn : M64)); // around 1
    default:
      return sign | (BigInt(900 + g.int(250)) << 52n) | frac;
  }
}

/** A random float bit pattern biased toward edge cases. */
function single(g: Rng): bigint {
  const sign = BigInt(g.int(2)) << 31n;
  const frac = g.next() & ((1n << 23n) - 1n);
  switch (g.int(14)) {
    case 0:
      return sign;
    case 1:
      return sign | (frac === 0n ? 1n : frac);
    case 2:
      return sign | (0xffn << 23n);
    case 3:
      return sign | (0xffn << 23n) | (1n << 22n) | (frac >> 1n);
    case 4:
      return sign | (0xffn << 23n) | ((frac >> 1n) | 1n);
    case 5:
      return sign | (BigInt(g.int(3) + 0xfc) << 23n) | frac;
    case 6:
      return sign | (BigInt(g.int(30) + 1) << 23n) | frac;
    case 7:
      return sign | (BigInt(127 + g.int(66)) << 23n) | frac;
    case 8:
      return sign | (BigInt(127 + g.int(4) - 2) << 23n) | (frac & (g.int(2) ? 0xfn : M64));
    default:
      return sign | (BigInt(100 + g.int(60)) << 23n) | frac;
  }
}

/** MXCSR: random RC, DAZ and FTZ; exceptions masked (the harness forces the masks too); no sticky flags. */
function mxcsr(g: Rng): bigint {
  return (
    0x1f80n |
    (BigInt(g.int(2) ? 0 : g.int(4)) << 13n) | // nearest half the time: real code's mode and the fast path's
    (g.int(4) === 0 ? 0x40n : 0n) |
    (g.int(4) === 0 ? 0x8000n : 0n)
  );
}

/** A second operand: independent, or near the first (cancellation, equal values, midpoints). */
function near(g: Rng, a: bigint, gen: (g: Rng) => bigint, width: number): bigint {
  switch (g.int(4)) {
    case 0:
      return a;
    case 1:
      return (a ^ (1n << BigInt(width - 1))) + BigInt(g.int(3)) - 1n; // ≈ -a
    default:
      return gen(g);
  }
}

const flagsOut = (m: bigint, raised: number, eflags = 0): bigint =>
  m | BigInt(raised) | (BigInt(eflags) << 32n);

export function sseFpFamily(): Family {
  const ops: OpCase[] = [];
  // out2 = MXCSR | RFLAGS << 32: RFLAGS is meaningful only for (U)COMIS
  const all: [bigint, bigint, bigint] = [M64, M64, M32];
  for (const [suffix, fmt, gen, width] of [
    ["sd", F64, double, 64],
    ["ss", F32, single, 32],
  ] as const) {
    const lowMask = width === 64 ? M64 : M32;
    const merge = (dst: bigint, v: bigint) => (dst & ~lowMask & M64) | v;
    for (const op of ["add", "sub", "mul", "div", "min", "max"] as const) {
      ops.push({
        op: `${op}${suffix}`,
        gen: (g) => {
          const a = gen(g);
          return [
            (g.next() & ~lowMask & M64) | a,
            g.next(),
            near(g, a, gen, width) | (g.next() & ~lowMask & M64),
            g.next(),
            mxcsr(g),
          ];
        },
        ours: ([d0, d1, s0, , m]) => {
          // add/sub/mul/div as the interpreter runs them: fast path first, exact path otherwise
          const r =
            op === "min" || op === "max"
              ? scalarBinary(op, d0 & lowMask, s0 & lowMask, fmt, Number(m))
              : scalarArith(op, d0 & lowMask, s0 & lowMask, fmt, Number(m));
          return [merge(d0, r.bits), d1, flagsOut(m, r.flags)];
        },
        mask: () => all,
      });
    }
    ops.push({
      op: `sqrt${suffix}`,
      gen: (g) => [g.next(), g.next(), gen(g) | (g.next() & ~lowMask & M64), g.next(), mxcsr(g)],
      ours: ([d0, d1, s0, , m]) => {
        const r = scalarArith("sqrt", 0n, s0 & lowMask, fmt, Number(m));
        return [merge(d0, r.bits), d1, flagsOut(m, r.flags)];
      },
      mask: () => all,
    });
    for (const signaling of [false, true]) {
      ops.push({
        op: `${signaling ? "" : "u"}comis${suffix[1]}`,
        gen: (g) => {
          const a = gen(g);
          return [a, g.next(), near(g, a, gen, width), g.next(), mxcsr(g)];
        },
        ours: ([d0, d1, s0, , m]) => {
          if (width === 64) {
            const lo = (v: bigint) => Number(v & M32) | 0;
            const image = fastCompareDouble(lo(d0), lo(d0 >> 32n), lo(s0), lo(s0 >> 32n));
            if (image >= 0) return [d0, d1, flagsOut(m, 0, image)];
          }
          const r = scalarCompare(d0 & lowMask, s0 & lowMask, fmt, Number(m), signaling);
          return [d0, d1, flagsOut(m, r.flags, r.eflags)];
        },
        mask: () => [M64, M64, M32 | (0x8d5n << 32n)], // ZF PF CF set by the compare, OF SF AF cleared
      });
    }
    for (const bits of [32, 64] as const) {
      ops.push({
        op: `cvtsi2s${suffix[1]}${bits}`,
        gen: (g) => [g.next(), g.next(), g.operand(bits), 0n, mxcsr(g)],
        ours: ([d0, d1, s0, , m]) => {
          const i32 = (x: bigint) => Number(x & M32) | 0;
          if (width === 64 && fastIntToDouble(i32(s0), i32(s0 >> 32n), bits === 64)) {
            const bitsOut = (BigInt(fastOut.hi >>> 0) << 32n) | BigInt(fastOut.lo >>> 0);
            return [merge(d0, bitsOut), d1, flagsOut(m, 0)];
          }
          const v = bits === 32 ? BigInt.asIntN(32, s0) : BigInt.asIntN(64, s0);
          const r = intToFloat(v, fmt, Number(m));
          return [merge(d0, r.bits), d1, flagsOut(m, r.flags)];
        },
        mask: () => all,
      });
      for (const truncate of [true, false]) {
        ops.push({
          op: `cvt${truncate ? "t" : ""}s${suffix[1]}2si${bits}`,
          gen: (g) => [0n, 0n, gen(g), 0n, mxcsr(g)],
          ours: ([, , s0, , m]) => {
            const r = floatToInt(s0 & lowMask, fmt, Number(m), truncate, bits);
            return [r.value, 0n, flagsOut(m, r.flags)];
          },
          mask: () => all,
        });
      }
    }
  }
  ops.push({
    op: "cvtsd2ss",
    gen: (g) => [g.next(), g.next(), double(g), 0n, mxcsr(g)],
    ours: ([d0, d1, s0, , m]) => {
      const r = convertFloat(s0, F64, F32, Number(m));
      return [(d0 & ~M32) | r.bits, d1, flagsOut(m, r.flags)];
    },
    mask: () => all,
  });
  ops.push({
    op: "cvtss2sd",
    gen: (g) => [g.next(), g.next(), single(g), 0n, mxcsr(g)],
    ours: ([, d1, s0, , m]) => {
      const r = convertFloat(s0 & M32, F32, F64, Number(m));
      return [r.bits, d1, flagsOut(m, r.flags)];
    },
    mask: () => all,
  });
  // Packed forms and compare predicates (lanes independent, flags ORed).
  for (const [suffix, fmt, gen, width] of [
    ["pd", F64, double, 64],
    ["ps", F32, single, 32],
  ] as const) {
    const lane = (g: Rng): bigint => (width === 64 ? gen(g) : (gen(g) << 32n) | gen(g));
    const names: PackedOp[] = ["add", "sub", "mul", "div", "min", "max", "sqrt"];
    for (let p = 0; p < 8; p++) names.push(`cmp${p}`);
    for (const op of names) {
      ops.push({
        op: op.startsWith("cmp") ? `cmp${suffix}${op.slice(3)}` : `${op}${suffix}`,
        gen: (g) => {
          const a0 = lane(g);
          const a1 = lane(g);
          const near2 = (x: bigint) => (g.int(3) === 0 ? x : lane(g));
          return [a0, a1, near2(a0), near2(a1), mxcsr(g)];
        },
        ours: ([d0, d1, s0, s1, m]) => {
          const r = packedOp(op, [d0, d1], [s0, s1], fmt, Number(m));
          return [r.value[0], r.value[1], flagsOut(m, r.flags)];
        },
        mask: () => all,
      });
    }
  }
  for (const [suffix, fmt, gen, width] of [
    ["sd", F64, double, 64],
    ["ss", F32, single, 32],
  ] as const) {
    const lowMask = width === 64 ? M64 : M32;
    for (let p = 0; p < 8; p++) {
      ops.push({
        op: `cmp${suffix}${p}`,
        gen: (g) => {
          const a = gen(g);
          return [(g.next() & ~lowMask & M64) | a, g.next(), near(g, a, gen, width), g.next(), mxcsr(g)];
        },
        ours: ([d0, d1, s0, , m]) => {
          const r = laneOp(`cmp${p}`, d0 & lowMask, s0 & lowMask, fmt, Number(m));
          return [(d0 & ~lowMask & M64) | r.bits, d1, flagsOut(m, r.flags)];
        },
        mask: () => all,
      });
    }
  }
  // Packed conversions: sources mix integers, doubles and floats per form.
  const conversions: [PackedConversion, (g: Rng) => bigint][] = [
    ["cvtdq2pd", (g) => g.operand(64)],
    ["cvtdq2ps", (g) => g.operand(64)],
    ["cvtps2pd", (g) => (single(g) << 32n) | single(g)],
    ["cvtpd2ps", double],
    ["cvtpd2dq", double],
    ["cvttpd2dq", double],
    ["cvtps2dq", (g) => (single(g) << 32n) | single(g)],
    ["cvttps2dq", (g) => (single(g) << 32n) | single(g)],
  ];
  for (const [op, gen] of conversions) {
    ops.push({
      op,
      gen: (g) => [g.next(), g.next(), gen(g), gen(g), mxcsr(g)],
      ours: ([, , s0, s1, m]) => {
        const r = packedConvert(op, [s0, s1], Number(m));
        return [r.value[0], r.value[1], flagsOut(m, r.flags)];
      },
      mask: () => all,
    });
  }
  return {
    name: "SSE floating point",
    rule: "none: result bits, MXCSR flags (all RC/DAZ/FTZ settings) and ZF/PF/CF of (U)COMIS compared",
    ops,
  };
}
