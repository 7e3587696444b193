// `tdxsim run`'s TD runner: builds the TD, runs its vCPUs round-robin through KVM_RUN (each
// KVM_RUN limited to a slice of instructions, so a spinning vCPU cannot starve the others) and
// prints every exit, until each vCPU reported success, one failed, or the instruction limit is hit.
import { KvmError, KvmExit, KvmMpState, type TdxExit, type VcpuExit } from "@tdxsim/kvm";
import {
  decodeRunExit,
  describeExit,
  type IoExit,
  KVM_EXIT_IO_IN,
  memoryConversionForExit,
  type RunExit,
  type TdVm,
} from "@tdxsim/tdx-lib";
import type { TdGuestRunner, TdGuestRunRequest } from "../guest-runner.js";
import type { CliIo } from "../io.js";
import { type BuiltTd, buildTd, TdBuildError } from "./build-td.js";
import {
  fatalErrorLine,
  hex,
  ioLine,
  isSuccessReport,
  isValueReport,
  littleEndian,
  ReportDecoder,
} from "./exit-lines.js";

/** Exit statuses of `tdxsim run`. */
export const RUN_EXIT_SUCCESS = 0;
export const RUN_EXIT_GUEST_FAILED = 1;
export const RUN_EXIT_UNUSABLE = 2;

export interface TdGuestRunnerOptions {
  /** Guest instructions one KVM_RUN may execute before the next vCPU's turn. */
  readonly slice?: number;
  /** Total guest instructions before the run is declared runaway. */
  readonly maxInstructions?: number;
}

export const DEFAULT_RUN_SLICE = 1_000_000;
export const DEFAULT_MAX_INSTRUCTIONS = 500_000_000;

/** The runner the CLI registers (`registeredGuestRunner`). */
export function createTdGuestRunner(options: TdGuestRunnerOptions = {}): TdGuestRunner {
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`TD guest runner option ${name} ${value} is not a positive integer`);
    }
  }
  return async (request, io) => runTdGuest(request, io, options);
}

type VcpuState = "running" | "succeeded";

interface Outcome {
  readonly status: number;
  readonly why: string;
}

export function runTdGuest(
  request: TdGuestRunRequest,
  io: CliIo,
  options: TdGuestRunnerOptions = {},
): number {
  const { path, image, vcpus, trace } = request;
  const out = (line: string) => io.stdout.write(`${line}\n`);
  let built: BuiltTd;
  try {
    built = buildTd(image, vcpus);
  } catch (error) {
    io.stderr.write(`tdxsim run: cannot build a TD for ${path}: ${errorText(error)}\n`);
    return RUN_EXIT_UNUSABLE;
  }
  out(
    `${path}: ${image.type}, entry ${hex(image.entry)}, ${vcpus} vCPU${vcpus > 1 ? "s" : ""}; TD finalized`,
  );
  const start = io.now();
  const limits = { ...options, maxInstructions: request.maxInstructions ?? options.maxInstructions };
  const outcome = new TdRunLoop(built, limits, trace, out).run();
  const seconds = ((io.now() - start) / 1000).toFixed(3);
  out(
    `result: ${outcome.status === RUN_EXIT_SUCCESS ? "PASS" : "FAIL"} — ${outcome.why} (${built.executor.retired} guest instructions, ${seconds} s)`,
  );
  return outcome.status;
}

class TdRunLoop {
  private readonly td: TdVm;
  private readonly states: VcpuState[];
  private readonly reports: ReportDecoder[];
  private readonly slice: number;
  private readonly maxInstructions: number;
  private exits = 0;

  constructor(
    private readonly built: BuiltTd,
    options: TdGuestRunnerOptions,
    private readonly trace: boolean,
    private readonly out: (line: string) => void,
  ) {
    this.td = built.td;
    this.states = this.td.vcpus.map(() => "running");
    this.reports = this.td.vcpus.map(() => new ReportDecoder());
    this.slice = options.slice ?? DEFAULT_RUN_SLICE;
    this.maxInstructions = options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS;
  }

  run(): Outcome {
    for (;;) {
      let anyRunning = false;
      for (let index = 0; index < this.states.length; index++) {
        if (this.states[index] !== "running") continue;
        anyRunning = true;
        const outcome = this.step(index);
        if (outcome) return outcome;
        if (this.built.executor.retired >= this.maxInstructions) {
          return {
            status: RUN_EXIT_GUEST_FAILED,
            why: `no result after ${this.built.executor.retired} guest instructions (limit ${this.maxInstructions}); the guest never reported success on port 0x30`,
          };
        }
      }
      if (!anyRunning) {
        const n = this.states.length;
        return {
          status: RUN_EXIT_SUCCESS,
          why: n === 1 ? "the guest reported success" : `all ${n} vCPUs reported success`,
        };
      }
    }
  }

  /** One KVM_RUN of vCPU `index` and its exit; an Outcome ends the run. */
  private step(index: number): Outcome | undefined {
    const vcpu = this.td.vcpus[index]!.vcpu;
    const say = (line: string) => this.out(`vCPU ${index}: ${line}`);
    let typed: VcpuExit;
    try {
      // Never past the limit: the last slice is what is left of it.
      vcpu.setRunBudget(Math.min(this.slice, this.maxInstructions - this.built.executor.retired));
      typed = vcpu.kvmRun();
    } catch (error) {
      const why = `KVM_RUN failed: ${errorText(error)}`;
      say(why);
      return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index}: ${why}` };
    }
    this.exits++;
    if (typed.kind === "intr") {
      if (vcpu.getMpState() === KvmMpState.HALTED) {
        const why =
          "halted with nothing to wake it before reporting success (KVM_RUN: EINTR, mp_state HALTED)";
        say(why);
        return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index} ${why}` };
      }
      if (this.trace) say("KVM_EXIT_INTR (instruction slice used up; next vCPU's turn)");
      return undefined;
    }
    if (typed.kind === "tdx") {
      // KVM_EXIT_TDX: KVM preset the answer (6.16: ret and, for GetTdVmCallInfo leaf 1, R11..R14);
      // like a VMM with nothing to add, leave it as it is.
      say(tdxExitLine(typed));
      return undefined;
    }
    const exit = decodeRunExit(vcpu.run.bytes);
    if (this.trace) say(`exit ${this.exits}: ${describeExit(exit)}`);
    return this.handle(index, exit, say);
  }

  private handle(index: number, exit: RunExit, say: (line: string) => void): Outcome | undefined {
    if (isSuccessReport(exit)) {
      say("success (tdx_test_success: port 0x30)");
      this.states[index] = "succeeded";
      return undefined;
    }
    if (isValueReport(exit)) {
      say(this.reports[index]!.line(Number(littleEndian((exit as IoExit).data))));
      return undefined;
    }
    const fatal = fatalErrorLine(exit);
    if (fatal !== undefined) {
      say(fatal);
      return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index} reported a ${fatal}` };
    }
    switch (exit.kind) {
      case "io":
        // An IN gets 0 (nothing behind the port); an OUT's data is printed.
        if (exit.direction === KVM_EXIT_IO_IN) exit.data.fill(0);
        say(ioLine(exit, 0n));
        return undefined;
      case "mmio":
        if (!exit.isWrite) exit.data.fill(0);
        say(
          exit.isWrite
            ? `MMIO write ${hex(exit.physAddr)}, ${exit.len} bytes: ${hex(littleEndian(exit.data.subarray(0, exit.len)))}`
            : `MMIO read ${hex(exit.physAddr)}, ${exit.len} bytes: answered 0x0`,
        );
        return undefined;
      case "hypercall":
      case "memory_fault":
        return this.convert(index, exit, say);
      default: {
        const hint =
          exit.reason === KvmExit.SHUTDOWN ? " (triple fault: an exception the guest could not handle)" : "";
        const why = `unexpected exit ${describeExit(exit)}${hint}`;
        say(why);
        return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index}: ${why}` };
      }
    }
  }

  /** MapGPA (KVM_EXIT_HYPERCALL) or an implicit conversion (KVM_EXIT_MEMORY_FAULT): flip the attributes. */
  private convert(index: number, exit: RunExit, say: (line: string) => void): Outcome | undefined {
    let request: ReturnType<typeof memoryConversionForExit>;
    try {
      request = memoryConversionForExit(exit);
      if (request) this.td.vm.setMemoryAttributes(request);
    } catch (error) {
      const why = `${describeExit(exit)}: ${errorText(error)}`;
      say(why);
      return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index}: ${why}` };
    }
    if (!request) {
      const why = `unexpected exit ${describeExit(exit)}`;
      say(why);
      return { status: RUN_EXIT_GUEST_FAILED, why: `vCPU ${index}: ${why}` };
    }
    if (exit.kind === "hypercall") this.td.vcpus[index]!.vcpu.run.hypercall.ret = 0n;
    const to = request.attributes === 0n ? "shared" : "private";
    const what = exit.kind === "hypercall" ? "MapGPA" : "memory fault";
    say(`${what}: GPA ${hex(request.address)} + ${hex(request.size)} converted to ${to}`);
    return undefined;
  }
}

/** A KVM_EXIT_TDX and the answer KVM preset for it. */
function tdxExitLine(exit: TdxExit): string {
  const what = `KVM_EXIT_TDX ${exit.call} (TDVMCALL ${hex(exit.nr)})`;
  const regs =
    exit.call === "getTdVmCallInfo"
      ? `, leaf ${exit.leaf}, R11..R14 ${[exit.r11, exit.r12, exit.r13, exit.r14].map((r) => hex(r)).join(" ")}`
      : "";
  return `${what}: answered with KVM's preset ret ${hex(exit.ret, 16)}${regs}`;
}

/** One line: KVM errors carry their errno name in the message; others get their class name. */
export function errorText(error: unknown): string {
  if (error instanceof TdBuildError) return `${error.step}: ${errorText(error.cause)}`;
  if (error instanceof KvmError) return error.message.split("\n", 1)[0]!;
  if (error instanceof Error) return `${error.name}: ${error.message.split("\n", 1)[0]}`;
  return String(error);
}
