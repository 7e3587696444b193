// Unmasked SIMD floating-point exceptions against the host CPU: the MXCSR flags an instruction
// leaves when it raises #XM (read from the signal context) and that the destination is unchanged.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { F32, F64, packedOp, roundInfo } from "../../src/exec/sse-fp.js";
import { scalarArith } from "../../src/exec/sse-fp-fast.js";
import { xmFlags } from "../../src/exec/sse-fp-xm.js";
import { harnessBinary, nativeUnavailableReason } from "./native-harness.js";
import { Rng } from "./rng.js";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const PER_OP = Number(process.env.X86_XM_VECTORS ?? 300);

function double(g: Rng): bigint {
  const sign = BigInt(g.int(2)) << 63n;
  const frac = g.next() & ((1n << 52n) - 1n);
  const e = [0, 0x7ff, 1 + g.int(3), 0x7fd + g.int(2), 1023 + g.int(3) - 1, 900 + g.int(250)][g.int(6)];
  const f = e === 0x7ff && g.int(2) ? 0n : frac;
  return sign | (BigInt(e) << 52n) | (g.int(4) === 0 ? 0n : f);
}
function single(g: Rng): bigint {
  const sign = BigInt(g.int(2)) << 31n;
  const frac = g.next() & ((1n << 23n) - 1n);
  const e = [0, 0xff, 1 + g.int(3), 0xfd + g.int(2), 127 + g.int(3) - 1, 100 + g.int(60)][g.int(6)];
  const f = e === 0xff && g.int(2) ? 0n : frac;
  return sign | (BigInt(e) << 23n) | (g.int(4) === 0 ? 0n : f);
}

type Op = "add" | "sub" | "mul" | "div" | "sqrt";
const OPS: [string, Op, "sd" | "ss" | "pd" | "ps"][] = [
  ["xm_addsd", "add", "sd"],
  ["xm_subsd", "sub", "sd"],
  ["xm_mulsd", "mul", "sd"],
  ["xm_divsd", "div", "sd"],
  ["xm_sqrtsd", "sqrt", "sd"],
  ["xm_addss", "add", "ss"],
  ["xm_mulss", "mul", "ss"],
  ["xm_divss", "div", "ss"],
  ["xm_addpd", "add", "pd"],
  ["xm_mulpd", "mul", "pd"],
  ["xm_divpd", "div", "pd"],
  ["xm_sqrtpd", "sqrt", "pd"],
  ["xm_addps", "add", "ps"],
  ["xm_divps", "div", "ps"],
];

/** Our outcome: "#XM <mxcsr>" or the three output words. */
function ours(op: Op, form: string, v: bigint[]): string {
  const [d0, d1, s0, s1, m] = v;
  const mx = Number(m);
  const fmt = form[1] === "d" ? F64 : F32;
  let lanes: number[];
  let inexact: boolean[];
  let out: [bigint, bigint];
  if (form[0] === "s") {
    const lowMask = fmt === F64 ? M64 : M32;
    const r = scalarArith(op, d0 & lowMask, s0 & lowMask, fmt, mx);
    lanes = [r.flags];
    inexact = [roundInfo.unboundedInexact];
    out = [(d0 & ~lowMask & M64) | r.bits, d1];
  } else {
    const r = packedOp(op, [d0, d1], [s0, s1], fmt, mx);
    lanes = r.laneFlags;
    inexact = r.laneInexact;
    out = r.value;
  }
  const xm = xmFlags(lanes, mx, inexact);
  if (xm >= 0) return `#XM ${(mx | xm).toString(16)}`;
  const flags = lanes.reduce((a, b) => a | b, 0);
  return `${out[0].toString(16)} ${out[1].toString(16)} ${BigInt(mx | flags).toString(16)}`;
}

const unavailable =
  nativeUnavailableReason() ??
  (process.platform !== "linux" ? "the #XM flags come from the Linux signal context" : null);
describe.skipIf(unavailable !== null)("unmasked SIMD FP exceptions (#XM) agree with the host CPU", () => {
  it(`${PER_OP} vectors per op`, () => {
    const rng = new Rng(0x58);
    const lines: string[] = [];
    const vecs: [Op, string, bigint[]][] = [];
    for (const [name, op, form] of OPS) {
      const gen = form[1] === "d" ? double : single;
      const lane = (g: Rng) => (form[1] === "d" ? gen(g) : (gen(g) << 32n) | gen(g));
      for (let i = 0; i < PER_OP; i++) {
        let masks = 0;
        for (let b = 0; b < 6; b++) if (rng.int(3) !== 0) masks |= 1 << (7 + b);
        const m = BigInt(masks | (rng.int(2) ? 0 : rng.int(4) << 13) | (rng.int(4) === 0 ? 0x40 : 0));
        const v = [lane(rng), lane(rng), lane(rng), lane(rng), m];
        vecs.push([op, form, v]);
        lines.push(`${name} ${v.map((x) => x.toString(16)).join(" ")}\n`);
      }
    }
    const res = spawnSync(harnessBinary(), [], {
      input: lines.join(""),
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    const native = res.stdout.split("\n");
    const bad: string[] = [];
    vecs.forEach(([op, form, v], i) => {
      const theirs = native[i].startsWith("#XM")
        ? native[i]
        : native[i]
            .split(" ")
            .map((x, k) => (k === 2 ? (BigInt(`0x${x}`) & M32).toString(16) : x))
            .join(" ");
      const mine = ours(op, form, v);
      if (theirs !== mine && bad.length < 10)
        bad.push(`${op}${form} [${v.map((x) => x.toString(16)).join(" ")}] native=${theirs} ours=${mine}`);
    });
    expect(bad, bad.join("\n")).toEqual([]);
    // not vacuous: a good share of the vectors fault
    expect(native.filter((l) => l.startsWith("#XM")).length).toBeGreaterThan(vecs.length / 10);
  });
});
