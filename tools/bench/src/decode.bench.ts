// Decode speed of @tdxsim/x86 over gcc -O2 output of the bench guest (work.c + kmain.c, the
// freestanding bench build), next to iced-x86's wasm decoder on the same bytes in the same run.
//
// @tdxsim/x86 and iced-x86 are loaded by path: tools/bench/package.json does not list them yet
// (the lead adds "@tdxsim/x86": "workspace:*" and "iced-x86" there; then these become imports).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, report } from "./measure.js";

interface X86Decoder {
  decodeInto(bytes: Uint8Array, pos: number, limit: number, mode: number, out: Int32Array, o: number): number;
  RECORD_STRIDE: number;
  R_STATUS: number;
  ST_OK: number;
}
interface IcedInstruction {
  length: number;
  free(): void;
}
interface IcedDecoder {
  position: number;
  ip: bigint;
  canDecode: boolean;
  decodeOut(i: IcedInstruction): void;
  free(): void;
}
interface Iced {
  Decoder: new (bitness: number, data: Uint8Array, options: number) => IcedDecoder;
  Instruction: new () => IcedInstruction;
}

const x86Dir = new URL("../../../packages/x86/", import.meta.url);
const x86 = (await import(new URL("src/index.ts", x86Dir).href)) as X86Decoder;
// plain locals: property loads on a module namespace object are slow in a hot loop
const { decodeInto, RECORD_STRIDE } = x86;
const iced = createRequire(new URL("package.json", x86Dir))("iced-x86") as Iced;

/** .text of the bench guest's objects, compiled now with the bench's flags. */
function benchText(): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-decode-bench-"));
  try {
    const parts: Uint8Array[] = [];
    for (const file of ["work.c", "kmain.c"]) {
      const obj = join(dir, `${file}.o`);
      const bin = join(dir, `${file}.bin`);
      execFileSync("gcc", [
        "-O2",
        "-ffreestanding",
        "-fno-pic",
        "-fno-stack-protector",
        "-mno-red-zone",
        "-c",
        `/work/shared/bench/${file}`,
        "-o",
        obj,
      ]);
      execFileSync("objcopy", ["-O", "binary", "-j", ".text", obj, bin]);
      parts.push(new Uint8Array(readFileSync(bin)));
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return all;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const code = benchText();
// instruction boundaries, found once with our decoder (all must decode)
const starts: number[] = [];
{
  const rec = new Int32Array(x86.RECORD_STRIDE);
  for (let pos = 0; pos < code.length; ) {
    const len = x86.decodeInto(code, pos, code.length, 64, rec, 0);
    if (rec[x86.R_STATUS] !== x86.ST_OK) throw new Error(`bench code does not decode at ${pos}`);
    starts.push(pos);
    pos += len;
  }
}
const count = starts.length;
console.log(`gcc -O2 work.c + kmain.c: ${code.length} bytes, ${count} instructions`);

// The decode-cache fill the executor does: every instruction into its record of a typed array.
const records = new Int32Array(count * RECORD_STRIDE);
const decodeOurs = (n: number) => {
  let done = 0;
  while (done < n) {
    let o = 0;
    for (let pos = 0; pos < code.length; ) {
      pos += decodeInto(code, pos, code.length, 64, records, o);
      o += RECORD_STRIDE;
    }
    done += count;
  }
};

const decoder = new iced.Decoder(64, code, 0);
const instr = new iced.Instruction();
const decodeIced = (n: number) => {
  let done = 0;
  while (done < n) {
    decoder.position = 0;
    decoder.ip = 0n;
    while (decoder.canDecode) decoder.decodeOut(instr);
    done += count;
  }
};

// alternate the two a few times and keep each one's best: the CI machines are shared and noisy
let ours = measure("@tdxsim/x86 decodeInto", " instr/s", decodeOurs);
let icedFigure = measure("iced-x86 Decoder.decodeOut (wasm)", " instr/s", decodeIced);
for (let round = 0; round < 3; round++) {
  const a = measure(ours.name, ours.unit, decodeOurs);
  const b = measure(icedFigure.name, icedFigure.unit, decodeIced);
  if (a.rate > ours.rate) ours = a;
  if (b.rate > icedFigure.rate) icedFigure = b;
}
decoder.free();
instr.free();

report(icedFigure);
report(ours, icedFigure);
