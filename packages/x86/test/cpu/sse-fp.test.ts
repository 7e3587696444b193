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
import { CODE, guest64, reg, STACK } from "./harness.js";

const C_SOURCE = `
double poly(double x, long n) { double s = 0, p = 1; for (long i = 0; i < n; i++) { s += p / (double)(i + 1); p *= x; } return s; }
long to_int(double x) { return (long)x; }
float mixf(float a, double b) { return a * (float)b + __builtin_sqrtf(a); }
double hyp(double a, double b) { return __builtin_sqrt(a * a + b * b); }
int less(double a, double b) { return a < b; }
double scale(int k, double x) { return (double)k * x - 0.25; }
`;
const BASE = 0x300000;

function build(): { bin: Uint8Array; syms: Map<string, number> } {
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-fp-"));
  writeFileSync(join(dir, "f.c"), C_SOURCE);
  const flags = [
    "-O2",
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
  const { bin, syms } = build();

  /** Calls fn with SysV arguments (integers in RDI/RSI, floating point in XMM0/XMM1); returns the guest after RET. */
  function call(fn: string, ints: number[], xmm: (number | [number, number])[]) {
    const g = guest64("hlt"); // CODE: the return address
    writeGuestPhysical(g.map, BASE, bin);
    const st = g.cpu.st;
    const r = g.cpu.r;
    [7, 6].forEach((reg, k) => {
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

  it("float arithmetic rounds each step to single precision", () => {
    const g = call("mixf", [], [[f32(2.1), 0], 1.1]);
    const a = Math.fround(2.1);
    const want = Math.fround(Math.fround(a * Math.fround(1.1)) + Math.fround(Math.sqrt(a)));
    expect(g.cpu.st.xmm.i32[0]).toBe(f32(want));
  });

  it("MXCSR accumulates flags; an unmasked exception stops unsupported before writing", () => {
    const g = call("hyp", [], [3e200, 4e200]);
    expect(g.cpu.st.mxcsr & 0x3f).toBe(0x28); // OE + PE
    const h = guest64("divsd xmm0, xmm1\nhlt");
    h.cpu.st.mxcsr = 0x1f80 & ~(1 << 9); // ZM clear
    h.cpu.st.xmm.i32.set([...f64(1), 0, 0, 0, 0, 0, 0], 0);
    const stop = h.cpu.run(100);
    expect(stop).toMatchObject({ reason: "unsupported", message: expect.stringContaining("#XM") });
    expect(h.cpu.st.xmm.i32[1]).toBe(f64(1)[1]); // unchanged
  });
});
