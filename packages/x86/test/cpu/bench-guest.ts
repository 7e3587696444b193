// Builds the shared bench guest (/work/shared/bench) with gcc + ld into a temp dir (cached by
// source hash) with kmain calling work(iters), for the boot test and the benchmark.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BENCH_DIR = process.env.TDXSIM_BENCH_DIR ?? "/work/shared/bench";

export function hostCanBuild(): string | undefined {
  if (process.arch !== "x64") return "host is not x86-64";
  for (const tool of ["gcc", "ld"]) {
    try {
      execFileSync(tool, ["--version"], { stdio: "ignore" });
    } catch {
      return `${tool} not found`;
    }
  }
  if (!existsSync(join(BENCH_DIR, "work.c"))) return `${BENCH_DIR}/work.c not found`;
  return undefined;
}

/** Builds k.elf calling work(iters); returns the ELF bytes. */
export function buildBenchGuest(iters: number): Uint8Array {
  const src = ["work.c", "kmain.c", "boot64.S"].map((f) => readFileSync(join(BENCH_DIR, f), "utf8"));
  const hash = createHash("sha256").update(src.join("\0")).update(String(iters)).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `tdxsim-bench-guest-${hash}`);
  const elf = join(dir, "k.elf");
  if (existsSync(elf)) return new Uint8Array(readFileSync(elf));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "work.c"), src[0]);
  // kmain.c calls work(1000); the variant calls work(ITERS).
  if (!src[1].includes("work(1000)")) throw new Error("kmain.c no longer calls work(1000)");
  writeFileSync(join(dir, "kmain.c"), src[1].replace("work(1000)", "work(ITERS)"));
  writeFileSync(join(dir, "boot64.S"), src[2]);
  const cflags = [
    "-O2",
    "-ffreestanding",
    "-fno-pic",
    "-fno-stack-protector",
    "-mno-red-zone",
    `-DITERS=${iters}`,
  ];
  execFileSync("gcc", [...cflags, "-c", "work.c", "kmain.c"], { cwd: dir });
  execFileSync("gcc", ["-c", "boot64.S"], { cwd: dir });
  execFileSync(
    "ld",
    ["-m", "elf_x86_64", "-Ttext=0x100000", "-o", "k.elf", "boot64.o", "kmain.o", "work.o"],
    {
      cwd: dir,
      stdio: ["ignore", "ignore", "ignore"],
    },
  );
  return new Uint8Array(readFileSync(elf));
}
