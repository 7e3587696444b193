// Figures for the real executor: TDVMCALL round trips through TDH.VP.ENTER with the guest on the
// x86 core, and guest instructions per second in a TD (a register loop between TDVMCALLs).
// Run: node --conditions=@tdxsim/source --import tsx scripts/executor-bench.ts
import { HostPhysicalMemory } from "@tdxsim/memory";
import {
  buildTdParams,
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  longModeGuest,
  TdCpuExecutor,
  TdxModule,
  tdvmcallOut,
} from "../src/index.js";

function boot(body: string) {
  const memory = new HostPhysicalMemory(1 << 30);
  const tdx = new TdxModule(memory);
  const tdr = memory.allocPage();
  tdx.tdhMngCreate(tdr, 2);
  tdx.tdhMngKeyConfig(tdr);
  for (let i = 0; i < 6; i++) tdx.tdhMngAddcx(memory.allocPage(), tdr);
  const params = memory.allocPage();
  memory.host.writeBytes(params, buildTdParams({ maxVcpus: 1 }));
  tdx.tdhMngInit(tdr, params);
  const tdvpr = memory.allocPage();
  tdx.tdhVpCreate(tdvpr, tdr);
  for (let i = 0; i < 5; i++) tdx.tdhVpAddcx(memory.allocPage(), tdvpr);
  tdx.tdhVpInit(tdvpr, 0n);
  const image = longModeGuest(`${body}\nve_handler: gp_handler: ud_handler: jmp ve_handler`);
  for (let level = 3; level >= 1; level--) {
    const size = 4096 * 512 ** level;
    tdx.tdhMemSeptAdd(GUEST_IMAGE_BASE - (GUEST_IMAGE_BASE % size), level, tdr, memory.allocPage());
  }
  for (let i = 0; i < GUEST_IMAGE_PAGES; i++) {
    const src = memory.allocPage();
    memory.host.writeBytes(src, image.subarray(i * 4096, (i + 1) * 4096));
    const status = tdx.tdhMemPageAdd(GUEST_IMAGE_BASE + i * 4096, 0, tdr, memory.allocPage(), src).status;
    if (status !== 0n) throw new Error(`PAGE.ADD: 0x${status.toString(16)}`);
  }
  tdx.tdhMrFinalize(tdr);
  tdx.setGuestExecutor(new TdCpuExecutor());
  return { tdx, tdvpr };
}

function measure(label: string, body: string, perExit: number, n: number) {
  const { tdx, tdvpr } = boot(body);
  const out = new Int32Array(32);
  const answer = new Int32Array(32);
  tdx.enter(tdvpr, undefined, out); // boot to the first exit
  for (let i = 0; i < Math.min(n, 20_000); i++) tdx.enter(tdvpr, answer, out); // warm up the JIT
  const t0 = performance.now();
  for (let i = 0; i < n; i++) tdx.enter(tdvpr, answer, out);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label}: ${(n / s / 1e3).toFixed(0)} k exits/s, ${((n * perExit) / s / 1e6).toFixed(1)} M guest instructions/s`,
  );
}

for (let round = 0; round < 3; round++) {
  measure("TDVMCALL round trip", `again:\n${tdvmcallOut(0x80, "rax")}\n  jmp again`, 9, 300_000);
  measure(
    "loop of 100k add/dec/jnz between TDVMCALLs",
    `again:\n  mov ecx, 100000\n1: add rax, rcx ; dec ecx ; jnz 1b\n${tdvmcallOut(0x80, "rax")}\n  jmp again`,
    300_010,
    100,
  );
}
