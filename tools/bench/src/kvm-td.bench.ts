// Throughput of the TD paths through @tdxsim/kvm, run with:
//   pnpm --filter @tdxsim/bench bench kvm-td
// 1. KVM_RUN → TDVMCALL<Instruction.IO> OUT exit → KVM_RUN round trips, raw face (ioctl + kvm_run
//    bytes) and typed face (Vcpu.kvmRun → VcpuExit), each against bare TDH.VP.ENTER with the same
//    executor in the same process: (a) a scripted executor that issues the TDVMCALL at once (KVM's
//    own cost), (b) the real x86 core (TdCpuExecutor) running an assembled guest loop of TDCALLs.
// 2. Creating and finalizing a TD with a 64 MiB measured image through KVM (create, INIT_VM,
//    INIT_VCPU, INIT_MEM_REGION with MEASURE, FINALIZE; the image is in the VMM's memory before the
//    clock starts) against the module alone doing the same SEAMCALLs (baseline, same process).

import { KVM_RUN, type Vcpu } from "@tdxsim/kvm";
import { HostPhysicalMemory } from "@tdxsim/memory";
import {
  GUEST_IMAGE_BASE,
  longModeGuest,
  setReg,
  TdcallOutcome,
  type TdGuestExecutor,
  TdRunResult,
  type TdVcpu,
  TdxModule,
  tdvmcallOut,
} from "@tdxsim/tdx-module";
import { createModuleTd } from "./module-td.js";
import { buildRawTd, type RawTdOptions } from "./raw-td.js";

/** A guest that does TDVMCALL<IO> OUT 0x80 forever. */
const ioGuest: TdGuestExecutor = {
  run(v: TdVcpu): number {
    v.regs.longMode64 = true;
    v.regs.cpl = 0;
    const g = v.regs.gpr;
    setReg(g, 0, 0n);
    setReg(g, 1, 0xfc00n);
    setReg(g, 10, 0n);
    setReg(g, 11, 30n);
    setReg(g, 12, 1n);
    setReg(g, 13, 1n);
    setReg(g, 14, 0x80n);
    setReg(g, 15, 0x41n);
    return v.tdcall() === TdcallOutcome.TD_EXIT ? TdRunResult.TD_EXIT : TdRunResult.TRIPLE_FAULT;
  },
};

/** Best rate of `once` over one timed batch of n (called round-robin with the others, see runBench). */
function batchRate(n: number, once: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) once();
  return n / ((performance.now() - t0) / 1000);
}

/**
 * KVM_RUN round trips, raw and typed, against bare TDH.VP.ENTER with the same executor; the three
 * are timed in alternating batches (best of 5 each), so they see the same machine load.
 */
function runBench(label: string, o: RawTdOptions, n: number): void {
  const { p, vcpu } = buildRawTd(o);
  const run = p.mmap(vcpu, 12288)!;
  const typed = p.file(vcpu) as Vcpu;
  // the first KVM_RUN boots the guest (the real core runs from the reset vector to its loop)
  if (p.ioctl(vcpu, KVM_RUN, 0) !== 0 || run[8] !== 2) throw new Error(`${label}: not an IO exit`);
  const td = typed.vm.tdx;
  const tdvpr = td.vcpuPages.get(0)!.tdvpr;
  const hostGpr = new Int32Array(32);
  const out = new Int32Array(32);
  const subjects: [string, () => void][] = [
    ["baseline: TDH.VP.ENTER → TDCALL exit, no KVM", () => td.module.enter(tdvpr, hostGpr, out)],
    [
      "KVM_RUN → TDVMCALL IO OUT → KVM_RUN, raw face",
      () => {
        if (p.ioctl(vcpu, KVM_RUN, 0) !== 0 || run[8] !== 2) throw new Error("not an IO exit");
      },
    ],
    [
      "KVM_RUN → TDVMCALL IO OUT → KVM_RUN, typed face",
      () => {
        if (typed.kvmRun().kind !== "io") throw new Error("not an IO exit");
      },
    ],
  ];
  for (const [, once] of subjects) batchRate(n / 10, once); // warm-up
  const best = subjects.map(() => 0);
  for (let round = 0; round < 5; round++) {
    subjects.forEach(([, once], k) => {
      best[k] = Math.max(best[k]!, batchRate(n, once));
    });
  }
  subjects.forEach(([name], k) => {
    const ratio = k === 0 ? "" : ` (${(best[k]! / best[0]!).toFixed(2)}× bare TDH.VP.ENTER, same executor)`;
    console.log(`${label} ${name}: ${(best[k]! / 1e6).toFixed(3)} M round trips/s${ratio}`);
  });
}

runBench("scripted executor:", { executor: ioGuest, image: new Uint8Array(4096), gpa: 0 }, 300_000);
const loopGuest = longModeGuest(`
again:
  ${tdvmcallOut(0x80, "rbx", 1)}
  jmp again
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
runBench("x86 core (TdCpuExecutor):", { image: loopGuest, gpa: GUEST_IMAGE_BASE }, 60_000);

// ---- TD build: KVM against the module alone ----
const MiB = 1 << 20;
const IMAGE = 64 * MiB;
const image = new Uint8Array(IMAGE);
for (let i = 0; i < IMAGE; i += 4096) image[i] = i >>> 12;

/**
 * The module alone: the SEAMCALLs KVM issues for the same TD (MNG.CREATE, KEY.CONFIG, ADDCX, MNG.INIT,
 * VP.CREATE/ADDCX/INIT, SEPT.ADD, PAGE.ADD + 16 × MR.EXTEND per page, MR.FINALIZE), pages allocated
 * as it goes, the image's pages handed to PAGE.ADD as KeyID-0 source pages (prepared before the clock).
 */
function moduleBuildSeconds(): number {
  const memory = new HostPhysicalMemory(1024 * MiB);
  const tdx = new TdxModule(memory);
  const sources: number[] = [];
  for (let off = 0; off < IMAGE; off += 4096) {
    const s = memory.allocPage();
    memory.host.writeBytes(s, image.subarray(off, off + 4096));
    sources.push(s);
  }
  const t0 = performance.now();
  const { tdr } = createModuleTd(tdx, memory);
  tdx.tdhMemSeptAdd(0, 3, tdr, memory.allocPage());
  tdx.tdhMemSeptAdd(0, 2, tdr, memory.allocPage());
  for (let gpa = 0, i = 0; gpa < IMAGE; gpa += 4096, i++) {
    if (gpa % (2 * MiB) === 0) tdx.tdhMemSeptAdd(gpa, 1, tdr, memory.allocPage());
    const out = tdx.tdhMemPageAdd(gpa, 0, tdr, memory.allocPage(), sources[i]!);
    if (out.status !== 0n) throw new Error(`PAGE.ADD 0x${out.status.toString(16)}`);
    for (let off = 0; off < 4096; off += 256) tdx.tdhMrExtend(gpa + off, tdr);
  }
  if (tdx.tdhMrFinalize(tdr).status !== 0n) throw new Error("MR.FINALIZE");
  return (performance.now() - t0) / 1000;
}

function kvmBuildSeconds(): number {
  let t0 = 0;
  buildRawTd({ executor: ioGuest, image, gpa: 0, onStart: () => (t0 = performance.now()) });
  return (performance.now() - t0) / 1000;
}

let bestModule = 0;
let bestKvm = 0;
for (let round = 0; round < 5; round++) {
  // alternate, so both see the same machine load; best of each
  bestModule = Math.max(bestModule, 64 / moduleBuildSeconds());
  bestKvm = Math.max(bestKvm, 64 / kvmBuildSeconds());
}
console.log(
  `baseline: TD build 64 MiB measured, module alone (same SEAMCALLs): ${bestModule.toFixed(1)} MiB/s`,
);
console.log(
  `KVM create + INIT_VM + INIT_VCPU + 64 MiB measured INIT_MEM_REGION + FINALIZE: ${bestKvm.toFixed(1)} MiB/s (${(bestKvm / bestModule).toFixed(2)}× the module alone)`,
);
