// @tdxsim/x86 CPU: boots the shared bench guest (/work/shared/bench: multiboot → long mode →
// work(1000), gcc -O2) in the interpreter and prints guest MIPS (retired instructions / second),
// next to the native rate of the same work() compiled with gcc -O2 and timed in this run.
//
// The guest builder lives with the x86 package's tests (test/cpu/bench-guest.ts), so it is loaded by path.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SparseMemory } from "@tdxsim/memory";
import * as x86 from "@tdxsim/x86";
import { formatRate } from "./measure.js";

interface GuestModule {
  buildBenchGuest(iters: number): Uint8Array;
  hostCanBuild(): string | undefined;
  BENCH_DIR: string;
}
const guest: GuestModule = await import(
  new URL("../../../packages/x86/test/cpu/bench-guest.ts", import.meta.url).href
);

const ITERS = Number(process.env.CPU_BENCH_ITERS ?? 1000);
const EXPECTED: Record<number, number> = { 1000: 0x38ce0d86, 200: 0xc326ab58 };

const why = guest.hostCanBuild();
if (why !== undefined) {
  console.log(`cpu bench skipped: ${why}`);
} else {
  // 1. Native: the same work.c, gcc -O2, timed in-process by a tiny driver (best of 5).
  const dir = mkdtempSync(join(tmpdir(), "tdxsim-cpu-bench-"));
  let nativeNs = 0;
  let nativeCpuNs = 0;
  try {
    writeFileSync(join(dir, "work.c"), readFileSync(join(guest.BENCH_DIR, "work.c")));
    writeFileSync(
      join(dir, "main.c"),
      `#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\nunsigned work(unsigned);\n` +
        `static double ns(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec); }\n` +
        `int main(int c, char **v) { unsigned n = atoi(v[1]); double best = 1e30, bestCpu = 1e30; unsigned r = 0;\n` +
        `for (int k = 0; k < 5; k++) { struct timespec a, b, ca, cb; clock_gettime(CLOCK_MONOTONIC, &a);\n` +
        `clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca); r = work(n); clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);\n` +
        `clock_gettime(CLOCK_MONOTONIC, &b); if (ns(a, b) < best) best = ns(a, b);\n` +
        `if (ns(ca, cb) < bestCpu) bestCpu = ns(ca, cb); } printf("%u %.0f %.0f\\n", r, best, bestCpu); return 0; }\n`,
    );
    execFileSync(
      "gcc",
      ["-O2", "-fno-pic", "-fno-stack-protector", "-mno-red-zone", "-no-pie", "-o", "w", "work.c", "main.c"],
      {
        cwd: dir,
      },
    );
    const [r, ns, cpuNs] = execFileSync(join(dir, "w"), [String(ITERS)], { encoding: "utf8" })
      .trim()
      .split(" ");
    nativeNs = Number(ns);
    nativeCpuNs = Number(cpuNs);
    if (EXPECTED[ITERS] !== undefined && Number(r) !== EXPECTED[ITERS])
      throw new Error(`native work(${ITERS}) = ${r}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // 2. The CPU (hot blocks compiled, the default): boot to the final OUT.
  const boot = (iters: number, compileThreshold?: number) => {
    const mem = new SparseMemory(1024 * 1024 * 1024); // 1 GiB guest (the stub identity-maps 1 GiB)
    const cpu = new x86.Cpu({ map: new x86.FlatGuestPhysicalMap(mem), compileThreshold });
    x86.loadMultiboot(cpu, guest.buildBenchGuest(iters), mem.size);
    const t0 = performance.now();
    const u0 = process.cpuUsage();
    let stop = cpu.run(50e6);
    while (stop.reason === "budget-exhausted") stop = cpu.run(50e6);
    const seconds = (performance.now() - t0) / 1000;
    const u = process.cpuUsage(u0);
    const cpuSeconds = (u.user + u.system) / 1e6;
    const checksum = (mem.peekWords(9)?.[0] ?? 0) >>> 0;
    if (stop.reason !== "io" || stop.port !== 0xf4)
      throw new Error(`guest stopped with ${JSON.stringify(stop)}`);
    if (EXPECTED[iters] !== undefined && checksum !== EXPECTED[iters]) {
      throw new Error(`guest work(${iters}) = 0x${checksum.toString(16)}`);
    }
    return { mem, cpu, seconds, cpuSeconds, checksum };
  };
  const { mem, cpu, seconds, cpuSeconds, checksum } = boot(ITERS);
  const retired = cpu.st.retired;
  const guestRate = retired / seconds;
  // The guest's instruction count stands in for the native one (same source, same gcc -O2).
  const nativeRate = retired / (nativeNs / 1e9);
  console.log(
    `guest work(${ITERS}) = 0x${checksum.toString(16)}: ${retired} instructions retired in ${seconds.toFixed(2)} s`,
  );
  console.log(
    `@tdxsim/x86 (${cpu.blocksCompiled} of ${cpu.blocksDecoded} blocks compiled): ${formatRate(guestRate)}IPS ` +
      `(${(guestRate / nativeRate).toExponential(2)} × native); by process CPU time ${formatRate(retired / cpuSeconds)}IPS ` +
      `(${(retired / cpuSeconds / (retired / (nativeCpuNs / 1e9))).toExponential(2)} × native by CPU time)`,
  );
  // 3. The same CPU with every block interpreted (compileThreshold 0), work(200) to keep it short.
  const interp = boot(200, 0);
  const interpRate = interp.cpu.st.retired / interp.seconds;
  console.log(
    `@tdxsim/x86 interpreter only, work(200): ${formatRate(interpRate)}IPS ` +
      `(by CPU time ${formatRate(interp.cpu.st.retired / interp.cpuSeconds)}IPS; compiled tier ${(retired / cpuSeconds / (interp.cpu.st.retired / interp.cpuSeconds)).toFixed(2)}× faster by CPU time)`,
  );
  const rss = process.memoryUsage().rss / 2 ** 20;
  const touched = (mem.allocatedPages * 4) / 1024;
  console.log(`memory: 1 GiB guest, ${touched.toFixed(1)} MiB touched, process RSS ${rss.toFixed(0)} MiB`);
  console.log(
    `native gcc -O2: ${(nativeNs / 1e6).toFixed(1)} ms = ${formatRate(nativeRate)}IPS (${(nativeRate / guestRate).toFixed(0)}× faster); ` +
      `by CPU time ${(nativeCpuNs / 1e6).toFixed(1)} ms`,
  );
}
