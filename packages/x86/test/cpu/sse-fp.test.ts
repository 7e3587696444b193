// SSE scalar floating point through Cpu.run: gcc -O2 compiled C functions (built at test time)
// called in the harness guest and compared with the same arithmetic in JS (IEEE double/float,
// round to nearest), MXCSR flag accumulation, and the unsupported stop for an unmasked exception.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeGuestPhysical } from "../../src/index.js";
import { hostCanBuild } from "./bench-guest.js";
import { CODE, guest64, peek64, reg, STACK, stubVector } from "./harness.js";

const C_SOURCE = `
double poly(double x, long n) { double s = 0, p = 1; for (long i = 0; i < n; i++) { s += p / (double)(i + 1); p *= x; } return s; }
long to_int(double x) { return (long)x; }
float mixf(float a, double b) { return a * (float)b + __builtin_sqrtf(a); }
double hyp(double a, double b) { return __builtin_sqrt(a * a + b * b); }
int less(double a, double b) { return a < b; }
double scale(int k, double x) { return (double)k * x - 0.25; }
`;
/** Built with -O3: vectorized loops (MOVUPD/MULPD/ADDPD/UNPCKLPD, MOVUPS/MULPS/SHUFPS/UNPCKHPS). */
const C_VECTOR = `
void axpy(double *y, const double *x, double a, long n) { for (long i = 0; i < n; i++) y[i] += a * x[i]; }
float dotf(const float *a, const float *b, long n) { float s = 0; for (long i = 0; i < n; i++) s += a[i] * b[i]; return s; }
`;
const BASE = 0x300000;

function build(source = C_SOURCE, opt = "-O2"): { bin: Uint8Array; syms: Map<string, number> } {
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-fp-"));
  writeFileSync(join(dir, "f.c"), source);
  const flags = [
    opt,
    "-ffreestanding",
    "-fno-pic",
    "-fno-math-errno",
    "-mno-red-zone",
    "-fno-asynchronous-unwind-tables",
  ];
  execFileSync("gcc", [...flags, "-c", "-o", join(dir, "f.o"), join(dir, "f.c")]);
  execFileSync(
    "ld",
    ["-N", `-Ttext=0x${BASE.toString(16)}`, "-e", "0", "-o", join(dir, "f.elf"), join(dir, "f.o")],
    {
      stdio: "ignore",
    },
  );
  execFileSync("objcopy", ["-O", "binary", join(dir, "f.elf"), join(dir, "f.bin")]);
  const syms = new Map<string, number>();
  for (const line of execFileSync("nm", [join(dir, "f.elf")], { encoding: "utf8" }).split("\n")) {
    const [addr, kind, name] = line.trim().split(/\s+/);
    if (kind === "T") syms.set(name, Number.parseInt(addr, 16));
  }
  return { bin: new Uint8Array(readFileSync(join(dir, "f.bin"))), syms };
}

const f64 = (x: number): [number, number] => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  return [dv.getInt32(0, true), dv.getInt32(4, true)];
};
const f32 = (x: number): number => {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return dv.getInt32(0, true);
};

describe.skipIf(hostCanBuild() !== undefined)("SSE scalar floating point in compiled C", () => {
  const scalar = build();
  const vector = build(C_VECTOR, "-O3");
  let { bin, syms } = scalar;

  /** Calls fn with SysV arguments (integers in RDI/RSI, floating point in XMM0/XMM1); returns the guest after RET. */
  function call(
    fn: string,
    ints: number[],
    xmm: (number | [number, number])[],
    setup?: (g: ReturnType<typeof guest64>) => void,
  ) {
    const g = guest64("hlt"); // CODE: the return address
    writeGuestPhysical(g.map, BASE, bin);
    setup?.(g);
    const st = g.cpu.st;
    const r = g.cpu.r;
    [7, 6, 2].forEach((reg, k) => {
      if (ints[k] !== undefined) {
        r[reg * 2] = ints[k];
        r[reg * 2 + 1] = ints[k] < 0 ? -1 : 0;
      }
    });
    xmm.forEach((v, k) => {
      const [lo, hi] = Array.isArray(v) ? v : f64(v);
      st.xmm.i32[k * 4] = lo;
      st.xmm.i32[k * 4 + 1] = hi;
    });
    writeGuestPhysical(g.map, STACK - 8, new Uint8Array(new BigUint64Array([BigInt(CODE)]).buffer));
    r[8] = STACK - 8;
    r[32] = syms.get(fn) ?? Number.NaN;
    expect(g.cpu.run(1_000_000)).toEqual({ reason: "hlt" });
    expect(r[32] >>> 0).toBe(CODE + 1); // returned
    return g;
  }
  const xmm0f64 = (g: ReturnType<typeof call>) => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setInt32(0, g.cpu.st.xmm.i32[0], true);
    dv.setInt32(4, g.cpu.st.xmm.i32[1], true);
    return dv.getFloat64(0, true);
  };

  it("double arithmetic, division, conversions and sqrt match IEEE results", () => {
    for (const [x, n] of [
      [0.5, 20],
      [-1.25, 37],
      [1.0000001, 1000],
    ]) {
      let s = 0;
      let p = 1;
      for (let i = 0; i < n; i++) {
        s += p / (i + 1);
        p *= x;
      }
      expect(xmm0f64(call("poly", [n], [x]))).toBe(s);
    }
    expect(xmm0f64(call("hyp", [], [3e200, 4e200]))).toBe(Number.POSITIVE_INFINITY); // overflow to inf
    expect(xmm0f64(call("hyp", [], [0.1, 0.2]))).toBe(Math.sqrt(0.1 * 0.1 + 0.2 * 0.2));
    expect(xmm0f64(call("scale", [-7], [1 / 3]))).toBe(-7 * (1 / 3) - 0.25);
    expect(reg(call("to_int", [], [-12345.99]).cpu, 0)).toBe(BigInt.asUintN(64, -12345n));
    expect(reg(call("to_int", [], [1e300]).cpu, 0)).toBe(0x8000000000000000n); // integer indefinite
    expect(reg(call("less", [], [1, 2]).cpu, 0)).toBe(1n);
    expect(reg(call("less", [], [Number.NaN, 2]).cpu, 0)).toBe(0n);
  });

  it("gcc -O3 vectorized loops (packed PD/PS arithmetic, shuffles, unpacks) match", () => {
    ({ bin, syms } = vector);
    try {
      const n = 37;
      const xs = Array.from({ length: n }, (_, i) => Math.sin(i + 1) * 1e3);
      const ys = Array.from({ length: n }, (_, i) => 1 / (i + 3));
      const DATA = 0x400000;
      const put = (g: ReturnType<typeof guest64>, at: number, a: Float64Array | Float32Array) =>
        writeGuestPhysical(g.map, at, new Uint8Array(a.buffer));
      // axpy(y, x, a, n) with y at DATA, x at DATA + 0x1000 (misaligned by 8 to take the unaligned paths)
      const g1 = call("axpy", [DATA, DATA + 0x1008, n], [1.75], (g) => {
        put(g, DATA, new Float64Array(ys));
        put(g, DATA + 0x1008, new Float64Array(xs));
      });
      const got = new Float64Array(
        new BigUint64Array(Array.from({ length: n }, (_, i) => peek64(g1.mem, DATA + 8 * i))).buffer,
      );
      expect(Array.from(got)).toEqual(ys.map((v, i) => v + 1.75 * xs[i]));
      const fa = new Float32Array(xs);
      const fb = new Float32Array(ys);
      const g2 = call("dotf", [DATA, DATA + 0x1000, n], [], (g) => {
        put(g, DATA, fa);
        put(g, DATA + 0x1000, fb);
      });
      let s = 0;
      for (let i = 0; i < n; i++) s = Math.fround(s + Math.fround(fa[i] * fb[i]));
      expect(g2.cpu.st.xmm.i32[0]).toBe(f32(s));
    } finally {
      ({ bin, syms } = scalar);
    }
  });

  it("float arithmetic rounds each step to single precision", () => {
    const g = call("mixf", [], [[f32(2.1), 0], 1.1]);
    const a = Math.fround(2.1);
    const want = Math.fround(Math.fround(a * Math.fround(1.1)) + Math.fround(Math.sqrt(a)));
    expect(g.cpu.st.xmm.i32[0]).toBe(f32(want));
  });

  it("MXCSR accumulates flags; an unmasked exception is #XM (or #UD without OSXMMEXCPT) before writing", () => {
    const g = call("hyp", [], [3e200, 4e200]);
    expect(g.cpu.st.mxcsr & 0x3f).toBe(0x28); // OE + PE
    for (const [osxmmexcpt, vector] of [
      [true, 19],
      [false, 6],
    ] as const) {
      const h = guest64("f: divsd xmm0, xmm1\nhlt");
      if (!osxmmexcpt) h.cpu.st.cr4 &= ~(1 << 10);
      h.cpu.st.mxcsr = 0x1f80 & ~(1 << 9); // ZM clear
      h.cpu.st.xmm.i32.set([...f64(1), 0, 0, 0, 0, 0, 0], 0);
      expect(h.cpu.run(100)).toEqual({ reason: "hlt" });
      expect(stubVector(h.cpu)).toBe(vector);
      expect(peek64(h.mem, Number(reg(h.cpu, 4)))).toBe(h.labels.get("f")); // fault: RIP at the DIVSD
      expect(h.cpu.st.xmm.i32[1]).toBe(f64(1)[1]); // destination unchanged
      expect(h.cpu.st.mxcsr & 0x3f).toBe(0x04); // ZE
    }
  });
});

describe("SSE FP data movement and packed forms in assembled guests", () => {
  const q = (g: ReturnType<typeof guest64>, n: number, k: number) =>
    (BigInt(g.cpu.st.xmm.i32[n * 4 + 2 * k + 1] >>> 0) << 32n) |
    BigInt(g.cpu.st.xmm.i32[n * 4 + 2 * k] >>> 0);
  const D = (x: number) => new BigUint64Array(new Float64Array([x]).buffer)[0];

  it("SHUFPD, UNPCKLPD/UNPCKHPD, MOVHLPS/MOVLHPS, MOVHPD/MOVLPD, CMPSD/CMPPD, ADDPD", () => {
    const g = guest64(
      [
        "movapd xmm0, [rip + a]", // (1, 2)
        "movapd xmm1, [rip + b]", // (3, 4)
        "movapd xmm2, xmm0\nshufpd xmm2, xmm1, 1", // (2, 3)
        "movapd xmm3, xmm0\nunpckhpd xmm3, xmm1", // (2, 4)
        "movapd xmm4, xmm0\nmovhlps xmm4, xmm1", // (4, 2)
        "movapd xmm5, xmm0\nmovlhps xmm5, xmm1", // (1, 3)
        "movapd xmm6, xmm0\nmovhpd xmm6, [rip + b]", // (1, 3)
        "movapd xmm7, xmm0\ncmpsd xmm7, xmm1, 1", // 1 < 3: low all ones, high 2
        "movapd xmm8, xmm0\naddpd xmm8, xmm1", // (4, 6)
        "movapd xmm9, xmm1\ncmppd xmm9, xmm0, 2", // 3 <= 1? no; 4 <= 2? no
        "cvttpd2dq xmm10, xmm1\ncvtdq2pd xmm11, xmm10", // (3, 4) → ints → (3, 4)
        "movapd xmm12, [rip + c]\nmovmskpd eax, xmm12\nmovmskps rbx, xmm12", // signs: pd 0b11, ps 0b1010
        "hlt",
        ".align 16",
        "a: .quad 0x3ff0000000000000, 0x4000000000000000",
        "b: .quad 0x4008000000000000, 0x4010000000000000",
        "c: .quad 0x8000000000000001, 0xc000000000000000",
      ].join("\n"),
    );
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    const pair = (n: number) => [q(g, n, 0), q(g, n, 1)];
    expect(pair(2)).toEqual([D(2), D(3)]);
    expect(pair(3)).toEqual([D(2), D(4)]);
    expect(pair(4)).toEqual([D(4), D(2)]);
    expect(pair(5)).toEqual([D(1), D(3)]);
    expect(pair(6)).toEqual([D(1), D(3)]);
    expect(pair(7)).toEqual([(1n << 64n) - 1n, D(2)]);
    expect(pair(8)).toEqual([D(4), D(6)]);
    expect(pair(9)).toEqual([0n, 0n]);
    expect(pair(10)).toEqual([0x0000000400000003n, 0n]);
    expect(pair(11)).toEqual([D(3), D(4)]);
    expect(reg(g.cpu, 0)).toBe(0b11n);
    expect(reg(g.cpu, 3)).toBe(0b1010n);
  });

  it("a misaligned 16-byte packed operand is #GP(0); scalar ones may be misaligned", () => {
    const g = guest64(
      "movsd xmm1, [rip + a + 1]\naddsd xmm1, [rip + a + 1]\naddpd xmm0, [rip + a + 8]\nhlt\n.align 16\na: .zero 32",
    );
    expect(g.cpu.run(100)).toEqual({ reason: "hlt" });
    expect(q(g, 1, 0)).toBe(0n);
    expect(stubVector(g.cpu)).toBe(13);
  });
});
