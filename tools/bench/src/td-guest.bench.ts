// Guest speed inside a TD against the bare x86 core, run with:
//   pnpm --filter @tdxsim/bench bench td-guest     (TD_GUEST_BENCH_INSNS: instructions per sample, 20 M)
// The same 64-bit guest code, forever with a TDVMCALL<IO> OUT 0x80 after each pass, runs
//   (a) on a bare `Cpu` over a flat 4 GiB map from the TD's reset state (TDCALL stops are skipped), and
//   (b) inside a TD built through @tdxsim/kvm's raw face (ioctl + kvm_run bytes), KVM_RUN with the
//       real executor (TdCpuExecutor) and KVM's 1 M-instruction budget per KVM_RUN (-EINTR re-run),
// in the same process, alternating rounds (best of 5). Printed: guest MIPS by wall clock and by
// process CPU time, and TD/bare. Guests: a register loop (ALU + load/store + branch over a 2 KiB
// stack array) with a TDVMCALL every 4096 iterations or every 2^20 (the budget slices the run); the
// same with every value in a stack slot (the shape @tdxsim/tdx-lib's guest builder emits); ACCEPT +
// fill of 256 pages per pass.
//
// Measured 2026-11-25 (2-core machine, load 3-5), TD/bare by CPU time: register loop 0.98-0.99
// (~120 MIPS), stack-slot loop 0.95-0.98 (~87 MIPS), ACCEPT + fill 0.95 (~300 MIPS; 0.04, ~10 MIPS,
// before the executor stopped dropping every decoded block at each ACCEPT).
import { KVM_RUN } from "@tdxsim/kvm";
import { SparseMemory } from "@tdxsim/memory";
import {
  GUEST_IMAGE_BASE,
  longModeGuest,
  TdCpuExecutor,
  type TdVcpu,
  TdVcpuCpu,
  tdvmcallOut,
} from "@tdxsim/tdx-module";
import { Cpu, FlatGuestPhysicalMap, type Regs, type Sregs, writeGuestPhysical } from "@tdxsim/x86";
import { buildRawTd } from "./raw-td.js";

const KVM_EXIT_IO = 2;
const EINTR = 4;
/** Guest instructions per timed sample, each side. */
const SAMPLE = Number(process.env.TD_GUEST_BENCH_INSNS ?? 20e6);

/** ALU + load/store + branch over a 2 KiB stack array, registers for the loop state. */
function registerLoop(iterations: number): string {
  return `
  mov ecx, ${iterations}
  mov rsi, rsp
  sub rsi, 2048
inner:
  mov eax, ecx
  and eax, 255
  mov rdx, QWORD PTR [rsi+rax*8]
  add rdx, rcx
  xor rdx, rbx
  mov QWORD PTR [rsi+rax*8], rdx
  add rbx, rdx
  dec ecx
  jnz inner`;
}

/**
 * The shape @tdxsim/tdx-lib's guest builder emits for upm_fill (every value in a stack slot: 14 of
 * 22 instructions touch memory), storing the pattern over a 1 KiB stack array.
 */
function stackSlotLoop(iterations: number): string {
  return `
  push rbp
  mov rbp, rsp
  sub rsp, 0x40
  lea rdi, [rbp-0x800]
  mov QWORD PTR [rbp-0x8], rdi
  mov esi, ${iterations * 8}
  mov QWORD PTR [rbp-0x10], rsi
  mov QWORD PTR [rbp-0x18], rbx
  xor rax, rax
  mov QWORD PTR [rbp-0x20], rax
cond:
  mov rax, QWORD PTR [rbp-0x20]
  mov rcx, QWORD PTR [rbp-0x10]
  cmp rax, rcx
  setb cl
  movzx eax, cl
  mov QWORD PTR [rbp-0x28], rax
  mov rax, QWORD PTR [rbp-0x28]
  test rax, rax
  je done
  mov rax, QWORD PTR [rbp-0x8]
  mov rcx, QWORD PTR [rbp-0x20]
  and rcx, 0x3f8
  add rax, rcx
  mov QWORD PTR [rbp-0x30], rax
  mov rcx, QWORD PTR [rbp-0x30]
  mov rax, QWORD PTR [rbp-0x18]
  mov QWORD PTR [rcx], rax
  mov rax, QWORD PTR [rbp-0x20]
  mov rcx, 8
  add rax, rcx
  mov QWORD PTR [rbp-0x38], rax
  mov rax, QWORD PTR [rbp-0x38]
  mov QWORD PTR [rbp-0x20], rax
  jmp cond
done:
  leave
  inc rbx`;
}

/**
 * ACCEPT-heavy: TDG.MEM.PAGE.ACCEPT of each 4 KiB page of the TD's first MiB of the top 2 MiB
 * (KVM AUGs them on the first pass; PAGE_ALREADY_ACCEPTED after), each page then filled by a store
 * loop. On the bare Cpu the TDCALL is skipped.
 */
function acceptFillLoop(): string {
  return `
  mov r8, 0xffe00000
accept_next:
  mov rcx, r8
  mov eax, 6
  tdcall
  mov rdi, r8
  mov ecx, 512
fill:
  mov QWORD PTR [rdi], rcx
  add rdi, 8
  dec ecx
  jnz fill
  add r8, 0x1000
  mov r9, 0xfff00000
  cmp r8, r9
  jb accept_next`;
}

/** `body` forever, a TDVMCALL<IO> OUT 0x80 of RBX after each pass. */
function guestLoop(body: string): Uint8Array {
  return longModeGuest(`
  xor ebx, ebx
outer:
  ${body}
  ${tdvmcallOut(0x80, "rbx", 4)}
  jmp outer
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
}

/** The TD's reset state as the executor loads it (captured from a probe Cpu at the first entry). */
let resetState: { regs: Regs; sregs: Sregs } | undefined;

/** A TD with `image` at GUEST_IMAGE_BASE (measured), one vCPU, finalized; the raw face throughout. */
function buildTd(image: Uint8Array) {
  const inner = new TdCpuExecutor();
  const entered: TdVcpu[] = [];
  const executor = {
    run(v: TdVcpu, budget: number): number {
      if (entered.length === 0) entered.push(v);
      if (resetState === undefined) {
        const probe = new TdVcpuCpu(v, {}).cpu;
        resetState = { regs: probe.getRegs(), sregs: probe.getSregs() };
      }
      return inner.run(v, budget);
    },
  };
  const { p, vcpu } = buildRawTd({ executor, image, gpa: GUEST_IMAGE_BASE });
  return { p, vcpu, inner, entered };
}

interface Side {
  /** Runs at least `insns` guest instructions; returns how many ran. */
  run(insns: number): number;
}

/** (b): KVM_RUN until `insns` guest instructions retired; IO exits and -EINTR both re-enter. */
function tdSide(image: Uint8Array): Side {
  const { p, vcpu, inner, entered } = buildTd(image);
  const run = p.mmap(vcpu, 12288)!;
  const kvmRun = () => {
    if (p.ioctl(vcpu, KVM_RUN, 0) === 0) {
      if (run[8] !== KVM_EXIT_IO) throw new Error(`TD: exit reason ${run[8]}, not IO`);
    } else if (p.errno !== EINTR) throw p.lastError;
  };
  kvmRun(); // boots to the first exit; the Cpu exists from here
  const c = inner.cpuOf(entered[0]!);
  if (c === undefined) throw new Error("TD: no Cpu after the first KVM_RUN");
  return {
    run(insns) {
      const r0 = c.st.retired;
      while (c.st.retired - r0 < insns) kvmRun();
      return c.st.retired - r0;
    },
  };
}

/** (a): the same image on a bare Cpu, flat 4 GiB map, from the TD's reset state; TDCALL skipped. */
function bareSide(image: Uint8Array): Side {
  const mem = new SparseMemory(2 ** 32);
  const map = new FlatGuestPhysicalMap(mem);
  const cpu = new Cpu({ map });
  writeGuestPhysical(map, GUEST_IMAGE_BASE, image);
  if (resetState === undefined) throw new Error("bare: the TD's reset state was not captured");
  cpu.setSregs(resetState.sregs);
  cpu.setRegs(resetState.regs);
  return {
    run(insns) {
      const r0 = cpu.st.retired;
      while (cpu.st.retired - r0 < insns) {
        const stop = cpu.run(insns - (cpu.st.retired - r0));
        if (stop.reason === "tdcall") cpu.skipInstruction();
        else if (stop.reason !== "budget-exhausted") throw new Error(`bare: ${JSON.stringify(stop)}`);
      }
      return cpu.st.retired - r0;
    },
  };
}

interface Rate {
  wall: number;
  cpu: number;
}

function sample(side: Side): Rate {
  const t0 = performance.now();
  const u0 = process.cpuUsage();
  const n = side.run(SAMPLE);
  const wall = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  return { wall: n / wall / 1e6, cpu: n / ((u.user + u.system) / 1e6) / 1e6 };
}

function compare(label: string, body: string): void {
  const image = guestLoop(body);
  const td = tdSide(image);
  const bare = bareSide(image);
  td.run(SAMPLE / 4); // warm-up: hot blocks compiled on both
  bare.run(SAMPLE / 4);
  const best = { td: { wall: 0, cpu: 0 }, bare: { wall: 0, cpu: 0 } };
  for (let round = 0; round < 5; round++) {
    for (const [k, side] of [
      ["bare", bare],
      ["td", td],
    ] as const) {
      const r = sample(side);
      best[k].wall = Math.max(best[k].wall, r.wall);
      best[k].cpu = Math.max(best[k].cpu, r.cpu);
    }
  }
  const f = (r: Rate) => `${r.wall.toFixed(1)} MIPS wall, ${r.cpu.toFixed(1)} MIPS CPU`;
  console.log(`baseline: bare Cpu, flat map (${label}): ${f(best.bare)}`);
  console.log(
    `TD via KVM_RUN, TdCpuExecutor (${label}): ${f(best.td)} ` +
      `(${(best.td.wall / best.bare.wall).toFixed(2)}× bare by wall, ${(best.td.cpu / best.bare.cpu).toFixed(2)}× by CPU)`,
  );
}

compare("register loop, TDVMCALL exit every 4096 iterations", registerLoop(4096));
compare("register loop, exit every 2^20 iterations: KVM_RUN budget slices", registerLoop(1 << 20));
compare("stack-slot loop (guest builder's shape), exit every 4096 iterations", stackSlotLoop(4096));
compare("stack-slot loop, exit every 2^20 iterations", stackSlotLoop(1 << 20));
compare("ACCEPT + fill of 256 pages per exit", acceptFillLoop());
