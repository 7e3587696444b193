// Builds and runs the native differential harness (test/native/harness.c) with the system
// `cc`. The binary is cached in the OS temp directory under a hash of its source, so the
// test workers share one compile. Node-only: this is test code.

import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), "..", "native", "harness.c");

/** Why the harness cannot run here, or null when it can (x86-64 Linux/macOS with `cc`). */
export function nativeUnavailableReason(): string | null {
  if (arch() !== "x64") return `host is ${arch()}, the harness runs x86-64 instructions natively`;
  if (platform() === "win32") return "the harness needs a POSIX cc";
  const probe = spawnSync("cc", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return "no system `cc` on PATH";
  // TZCNT/LZCNT/POPCNT decode as BSF/BSR (or #UD) on CPUs without BMI1/ABM.
  if (platform() === "linux" && existsSync("/proc/cpuinfo")) {
    const flags =
      readFileSync("/proc/cpuinfo", "utf8")
        .match(/^flags\s*:(.*)$/m)?.[1]
        .split(" ") ?? [];
    for (const f of ["bmi1", "abm", "popcnt", "sse2"]) {
      if (!flags.includes(f)) return `host CPU lacks ${f}`;
    }
  }
  return null;
}

let cachedBinary: string | null = null;

export function harnessBinary(): string {
  if (cachedBinary) return cachedBinary;
  const source = readFileSync(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), "tdxsim-x86-native");
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `harness-${hash}`);
  if (!existsSync(bin)) {
    const tmp = `${bin}.${process.pid}.tmp`;
    execFileSync("cc", ["-O1", "-mno-red-zone", "-o", tmp, SOURCE], { stdio: "pipe" });
    renameSync(tmp, bin); // atomic: concurrent workers never see a half-written binary
  }
  cachedBinary = bin;
  return bin;
}

/** One vector: op name and five u64 inputs. */
export interface NativeVector {
  op: string;
  in: [bigint, bigint, bigint, bigint, bigint];
}

/** Native result: three u64 outputs, or "DE" when the instruction raised #DE. */
export type NativeResult = [bigint, bigint, bigint] | "DE";

export function runNative(vectors: NativeVector[]): NativeResult[] {
  const input = vectors.map((v) => `${v.op} ${v.in.map((x) => x.toString(16)).join(" ")}\n`).join("");
  const res = spawnSync(harnessBinary(), [], { input, encoding: "utf8", maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`native harness failed (status ${res.status}): ${res.stderr}`);
  const lines = res.stdout.split("\n");
  return vectors.map((_, i) => {
    const line = lines[i];
    if (line === "#DE") return "DE";
    const parts = line.split(" ").map((p) => BigInt(`0x${p}`));
    return [parts[0], parts[1], parts[2]];
  });
}
