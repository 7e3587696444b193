// TDX module benchmarks: SHA-384 providers, TD build (PAGE.ADD + MR.EXTEND of a 64 MiB image) and the
// module's half of a TDVMCALL round trip (guest TDCALL → TD exit → re-entry), plus translate().
import { createHash } from "node:crypto";
import { HostPhysicalMemory } from "@tdxsim/memory";
import {
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  type HashProvider,
  longModeGuest,
  nobleHash,
  nodeCryptoHash,
  TdCpuExecutor,
  TdxModule,
  tdvmcallOut,
} from "@tdxsim/tdx-module";
import { measure, report } from "./measure.js";
import { createModuleTd } from "./module-td.js";

const MiB = 1024 * 1024;
const IMAGE = 64 * MiB;
const node = nodeCryptoHash()!;

// ---- SHA-384 providers ----
const buf = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
const shaNode = measure("SHA-384 node:crypto (64 KiB)", " MiB/s", (n) => {
  for (let i = 0; i < n; i++) node.sha384(buf);
});
shaNode.rate /= 16;
const shaNoble = measure("SHA-384 @noble/hashes (64 KiB)", " MiB/s", (n) => {
  for (let i = 0; i < n; i++) nobleHash.sha384(buf);
});
shaNoble.rate /= 16;
report(shaNode);
report(shaNoble, shaNode);

// ---- TD build ----
function buildTd(hash: HashProvider): {
  tdx: TdxModule;
  memory: HostPhysicalMemory;
  tdr: number;
  tdvpr: number;
  sources: number[];
} {
  const memory = new HostPhysicalMemory(512 * MiB);
  const tdx = new TdxModule(memory, { hash });
  const { tdr, tdvpr } = createModuleTd(tdx, memory);
  tdx.tdhMemSeptAdd(0, 3, tdr, memory.allocPage());
  tdx.tdhMemSeptAdd(0, 2, tdr, memory.allocPage());
  for (let gpa = 0; gpa < IMAGE; gpa += 2 * MiB) tdx.tdhMemSeptAdd(gpa, 1, tdr, memory.allocPage());
  const sources: number[] = [];
  for (let i = 0; i < 16; i++) {
    const s = memory.allocPage();
    memory.host.writeBytes(
      s,
      new Uint8Array(4096).map((_, k) => (k * 31 + i) & 0xff),
    );
    sources.push(s);
  }
  return { tdx, memory, tdr, tdvpr, sources };
}

// Bytes MRTD hashes per 4 KiB page: the PAGE.ADD record, then 16 MR.EXTEND records with their chunks.
const STREAM_BYTES_PER_PAGE = 128 + 16 * (128 + 256);

/** Plain node:crypto SHA-384 over as many bytes as the MRTD stream of the image, in 64 KiB updates: wall and CPU ms. */
function streamHashMs(): { wall: number; cpu: number } {
  const block = new Uint8Array(64 * 1024);
  const total = (IMAGE / 4096) * STREAM_BYTES_PER_PAGE;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const h = createHash("sha384");
  for (let done = 0; done < total; done += block.length)
    h.update(done + block.length <= total ? block : block.subarray(0, total - done));
  h.digest();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

/** A provider whose MRTD stream discards its input: what the TD build costs besides SHA-384. */
const noHashStream: HashProvider = {
  ...node,
  name: "no-op stream",
  sha384Stream: () => ({ update() {}, digest: () => new Uint8Array(48) }),
};

// The figure times the SEAMCALL loop alone (TD creation and page allocation excluded). Each round also
// times the plain hash of the same stream right before it, so the ratio compares like with like on a
// noisy machine; the best round of each is reported.
function tdBuild(hash: HashProvider): {
  build: number;
  hash: number;
  ratio: number;
  cpu: number;
  cpuRatio: number;
} {
  const out = { build: 0, hash: 0, ratio: 0, cpu: 0, cpuRatio: 0 };
  for (let round = 0; round < 5; round++) {
    const { tdx, memory, tdr, sources } = buildTd(hash);
    const pages: number[] = [];
    for (let gpa = 0; gpa < IMAGE; gpa += 4096) pages.push(memory.allocPage());
    const floor = streamHashMs();
    const hashRate = IMAGE / MiB / (floor.wall / 1000);
    const hashCpuRate = IMAGE / MiB / (floor.cpu / 1000);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0, gpa = 0; gpa < IMAGE; gpa += 4096, i++) {
      tdx.tdhMemPageAdd(gpa, 0, tdr, pages[i], sources[i & 15]);
      for (let off = 0; off < 4096; off += 256) tdx.tdhMrExtend(gpa + off, tdr);
    }
    tdx.tdhMrFinalize(tdr);
    const buildRate = IMAGE / MiB / ((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(c0);
    const cpuRate = IMAGE / MiB / ((cpu.user + cpu.system) / 1e6);
    out.cpu = Math.max(out.cpu, cpuRate);
    out.cpuRatio = Math.max(out.cpuRatio, cpuRate / hashCpuRate);
    out.build = Math.max(out.build, buildRate);
    out.hash = Math.max(out.hash, hashRate);
    out.ratio = Math.max(out.ratio, buildRate / hashRate);
  }
  return out;
}

const baselineHash = (() => {
  // Plain node:crypto SHA-384 over the same byte stream MRTD hashes, one update per record and chunk.
  const record = new Uint8Array(128);
  const chunk = new Uint8Array(256);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    const h = createHash("sha384");
    for (let gpa = 0; gpa < IMAGE; gpa += 4096) {
      h.update(record);
      for (let off = 0; off < 4096; off += 256) {
        h.update(record);
        h.update(chunk);
      }
    }
    h.digest();
    best = Math.max(best, IMAGE / MiB / ((performance.now() - t0) / 1000));
  }
  return { name: "plain SHA-384 of the MRTD stream, unbuffered updates", rate: best, unit: " MiB/s" };
})();
report(baselineHash);
for (const [label, hash] of [
  ["node:crypto", node],
  ["@noble/hashes", nobleHash],
  ["no-op hash (our overhead alone)", noHashStream],
] as const) {
  const r = tdBuild(hash);
  const floor = { name: "plain SHA-384 of the MRTD stream, 64 KiB updates", rate: r.hash, unit: " MiB/s" };
  report(floor);
  report(
    { name: `TD build 64 MiB (PAGE.ADD + 16 × MR.EXTEND), ${label}`, rate: r.build, unit: " MiB/s" },
    floor,
  );
  console.log(`  best same-round ratio TD build / plain SHA-384 of its stream: ${r.ratio.toFixed(3)}`);
  // On a loaded machine wall time shows how much of a core the process got; CPU time does not.
  console.log(`  TD build rate by process CPU time (user+sys, best round): ${r.cpu.toFixed(1)} MiB/s`);
  console.log(
    `  best same-round ratio by CPU time (build / plain SHA-384 of its stream): ${r.cpuRatio.toFixed(3)}`,
  );
}

// ---- TDVMCALL round trip, module half ----
{
  const { tdx, memory, tdr, tdvpr } = buildTd(node);
  void memory;
  tdx.tdhMrFinalize(tdr);
  const v = tdx.takeGuestAccess().vcpu(tdvpr)!;
  v.regs.longMode64 = true;
  const g = v.regs.gpr;
  const copyBase = measure("baseline: copy 32 int32 registers twice", " ops/s", (n) => {
    const a = new Int32Array(32);
    for (let i = 0; i < n; i++) {
      a.set(g);
      g.set(a);
    }
  });
  report(copyBase);
  report(
    measure("TDVMCALL module half: TDCALL(VP.VMCALL) → TD exit → re-entry", " round trips/s", (n) => {
      for (let i = 0; i < n; i++) {
        g[0] = 0;
        g[1] = 0;
        g[2] = 0xffcc;
        g[3] = 0;
        g[20] = 0;
        g[22] = 0x1e;
        v.tdcall();
        v.resumeVmcall(v.exit.gpr);
      }
    }),
    copyBase,
  );
  // Full round trip through TDH.VP.ENTER: the executor stands in for the x86 core, whose guest code
  // would be a loop around TDCALL; here each entry issues that TDCALL directly.
  tdx.setGuestExecutor({
    run(vcpu) {
      const r = vcpu.regs.gpr;
      r[0] = 0;
      r[1] = 0;
      r[2] = 0xffcc;
      r[3] = 0;
      vcpu.tdcall();
      return 0; // TD_EXIT
    },
  });
  const hostOut = new Int32Array(32);
  const noCpu = measure(
    "TDVMCALL round trip via TDH.VP.ENTER (guest TDCALL → exit → VP.ENTER), no CPU",
    " round trips/s",
    (n) => {
      for (let i = 0; i < n; i++) {
        hostOut[20] = 0;
        hostOut[22] = 0x1e;
        tdx.enter(tdvpr, hostOut, hostOut);
      }
    },
  );
  report(noCpu, copyBase);
  // The same round trip with the guest on the x86 core: a loop of TDG.VP.VMCALL(Instruction.IO) in a
  // long-mode guest image, TDH.VP.ENTER answering each exit. Baseline: the no-CPU line above.
  {
    const { tdx: t3, memory: m3, tdr: tdr3, tdvpr: tdvpr3 } = buildTd(node);
    const image = longModeGuest(
      `again:\n${tdvmcallOut(0x80, "rax")}\n  jmp again\nve_handler: gp_handler: ud_handler: jmp ve_handler`,
    );
    // buildTd mapped the PML4 entry of GPA 0; the image sits below 4 GiB, in another 1 GiB region.
    for (let level = 2; level >= 1; level--) {
      const size = 4096 * 512 ** level;
      t3.tdhMemSeptAdd(GUEST_IMAGE_BASE - (GUEST_IMAGE_BASE % size), level, tdr3, m3.allocPage());
    }
    for (let i = 0; i < GUEST_IMAGE_PAGES; i++) {
      const src = m3.allocPage();
      m3.host.writeBytes(src, image.subarray(i * 4096, (i + 1) * 4096));
      t3.tdhMemPageAdd(GUEST_IMAGE_BASE + i * 4096, 0, tdr3, m3.allocPage(), src);
    }
    t3.tdhMrFinalize(tdr3);
    t3.setGuestExecutor(new TdCpuExecutor());
    const answer = new Int32Array(32);
    const out = new Int32Array(32);
    // TDX_SUCCESS + exit reason 77 (TDCALL)
    if (t3.enter(tdvpr3, undefined, out) !== 77) throw new Error("guest did not reach its first TDVMCALL");
    report(
      measure("TDVMCALL round trip via TDH.VP.ENTER, guest on the x86 core", " round trips/s", (n) => {
        for (let i = 0; i < n; i++) t3.enter(tdvpr3, answer, out);
      }),
      noCpu,
    );
  }
  // translate(): TLB fills on a mapped private page
  const { tdx: t2, memory: m2, tdr: tdr2, tdvpr: tdvpr2, sources } = buildTd(node);
  for (let i = 0; i < 64; i++) t2.tdhMemPageAdd(i * 4096, 0, tdr2, m2.allocPage(), sources[0]);
  t2.tdhMrFinalize(tdr2);
  const v2 = t2.takeGuestAccess().vcpu(tdvpr2)!;
  report(
    measure("translate() private 4 KiB (TLB fill)", " fills/s", (n) => {
      for (let i = 0; i < n; i++) if (v2.translate((i & 63) * 4096 + 8, 1) === null) throw new Error("fault");
    }),
  );
}
