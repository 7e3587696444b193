// TDVMCALL routing (spec/kvm-api.md §4, arch/x86/kvm/vmx/tdx.c in 6.16): for a TDG.VP.VMCALL
// that exits to KVM, decide whether KVM answers the guest at once, emulates it in the kernel
// (CPUID, HLT, MSRs, KVM hypercalls — the vCPU layer does those), or forwards it to userspace
// as a kvm_run exit; and, on the next KVM_RUN, how the userspace answer becomes the guest's
// R10 (status) / R11.. (values). The tables below are the same facts as data, for docs/tests.
import { Gpr, type GprFile } from "./gpr-file.js";
import type { KvmRun } from "./kvm-run.js";
import {
  KVM_EXIT_HYPERCALL_LONG_MODE,
  KvmExit,
  KvmExitIo,
  KvmHc,
  KvmMapGpaRange,
  KvmSystemEvent,
} from "./uapi/constants.js";
import { TdVmCallLeaf, TdVmCallStatus } from "./uapi/ghci.js";
import { KVM_PIO_DATA_OFFSET } from "./uapi/kvm-run-layout.js";
import { encodeExit, type VcpuExit } from "./vcpu-exit.js";

/** TDX_MAP_GPA_MAX_LEN: MapGPA is forwarded in chunks of at most 2 MiB. */
export const TDX_MAP_GPA_MAX_LEN = 2n * 1024n * 1024n;
const PAGE = 4096n;
const U64 = 1n << 64n;

/** The TDX shared-GPA bit for a guest physical-address width: 47 for GPAW 48, 51 for GPAW 52. */
export function tdxSharedBit(gpaw: 48 | 52): number {
  if (gpaw !== 48 && gpaw !== 52) throw new RangeError(`GPAW ${gpaw} is not 48 or 52`);
  return gpaw - 1;
}

export interface TdVmCallContext {
  /** The TD's shared-GPA bit: 47 (GPAW 48) or 51 (GPAW 52). */
  readonly sharedBit: number;
  /** Guest MAXPHYADDR (kvm_vcpu_is_legal_gpa): GPAs must be below 2^maxPhysAddr. */
  readonly maxPhysAddr: number;
  /** KVM_CAP_EXIT_HYPERCALL mask of the VM. */
  readonly hypercallExitEnabled: number;
  /** TDH.VP.ENTER's return value for this exit (reported as ReportFatalError data[0]). */
  readonly vpEnterRet: bigint;
}

/** What the guest sees when KVM re-enters it: R10 and any value registers. */
export interface TdVmCallResult {
  readonly r10: bigint;
  readonly r11?: bigint;
  readonly r12?: bigint;
  readonly r13?: bigint;
  readonly r14?: bigint;
  readonly r15?: bigint;
}

/** In-kernel emulation the vCPU layer performs with CPU state. */
export type TdVmCallKernelOp =
  /** kvm_cpuid() on the vCPU's KVM_SET_CPUID2 data; result → R12..R15 via cpuidResult() */
  | { op: "cpuid"; leaf: number; subleaf: number }
  /** halt until an interrupt; R12 ≠ 0 means the guest had interrupts blocked */
  | { op: "hlt"; interruptBlocked: boolean }
  /** KVM MSR emulation (TDX allow-list + filter + user-space MSR exits), index from R12 */
  | { op: "rdmsr"; index: number }
  | { op: "wrmsr"; index: number; value: bigint }
  /** R10 ≠ 0: a KVM hypercall (R10 = nr, R11..R14 = a0..a3), emulated like VMCALL */
  | { op: "vmcall"; nr: bigint; args: [bigint, bigint, bigint, bigint] };

/** How a forwarded TDVMCALL completes on the next KVM_RUN. */
export type TdVmCallPending =
  | { kind: "pioOut" }
  | { kind: "pioIn"; size: number }
  | { kind: "mmioWrite" }
  | { kind: "mmioRead"; size: number }
  | { kind: "mapGpa"; next: bigint; end: bigint; toPrivate: boolean; sharedMask: bigint }
  | { kind: "tdxSimple" }
  | { kind: "getTdVmCallInfo" }
  | { kind: "fatalError" };

export type TdVmCallRoute =
  | { kind: "complete"; result: TdVmCallResult }
  | { kind: "kernel"; call: TdVmCallKernelOp }
  /** the exit has been written into kvm_run (read it with decodeExit or the KvmRun accessors) */
  | { kind: "exit"; pending: TdVmCallPending };

const complete = (r10: bigint, rest: Omit<TdVmCallResult, "r10"> = {}): TdVmCallRoute => ({
  kind: "complete",
  result: { r10, ...rest },
});

const SUCCESS = TdVmCallStatus.SUCCESS;
const INVALID_OPERAND = TdVmCallStatus.INVALID_OPERAND;

/** The TDVMCALL leaf in R11 as a number, or -1 if it does not fit 32 bits (then no leaf matches). */
function leafOf(gprs: GprFile): number {
  return gprs.hi(Gpr.R11) === 0 ? gprs.lo(Gpr.R11) : -1;
}

/**
 * Route a TDG.VP.VMCALL exit; `gprs` are the registers TDH.VP.ENTER exposed. A forwarded call is
 * written into `run` as the kernel would before KVM_RUN returns.
 */
export function routeTdVmCall(gprs: GprFile, ctx: TdVmCallContext, run: KvmRun): TdVmCallRoute {
  if (gprs.lo(Gpr.R10) !== 0 || gprs.hi(Gpr.R10) !== 0) {
    return {
      kind: "kernel",
      call: {
        op: "vmcall",
        nr: gprs.get(Gpr.R10),
        args: [gprs.get(Gpr.R11), gprs.get(Gpr.R12), gprs.get(Gpr.R13), gprs.get(Gpr.R14)],
      },
    };
  }
  switch (leafOf(gprs)) {
    case TdVmCallLeaf.IO:
      return routeIo(gprs, run);
    case TdVmCallLeaf.MMIO:
      return routeMmio(gprs, ctx, run);
    case TdVmCallLeaf.CPUID:
      return { kind: "kernel", call: { op: "cpuid", leaf: gprs.lo(Gpr.R12), subleaf: gprs.lo(Gpr.R13) } };
    case TdVmCallLeaf.HLT:
      return { kind: "kernel", call: { op: "hlt", interruptBlocked: !gprs.is(Gpr.R12, 0) } };
    case TdVmCallLeaf.RDMSR:
      return { kind: "kernel", call: { op: "rdmsr", index: gprs.lo(Gpr.R12) } };
    case TdVmCallLeaf.WRMSR:
      return { kind: "kernel", call: { op: "wrmsr", index: gprs.lo(Gpr.R12), value: gprs.get(Gpr.R13) } };
    case TdVmCallLeaf.MAP_GPA:
      return routeMapGpa(gprs, ctx, run);
    case TdVmCallLeaf.GET_QUOTE:
      return routeGetQuote(gprs, ctx, run);
    case TdVmCallLeaf.REPORT_FATAL_ERROR:
      return routeReportFatalError(gprs, ctx, run);
    case TdVmCallLeaf.GET_TD_VM_CALL_INFO:
      return routeGetTdVmCallInfo(gprs, run);
    case TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT:
      return routeSetupEventNotify(gprs, run);
    default:
      return complete(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
  }
}

// Forwarded IO/MMIO are the hot path: preallocated routes, fields written straight into kvm_run.
const PIO_OUT: TdVmCallRoute = { kind: "exit", pending: { kind: "pioOut" } };
const PIO_IN: Record<number, TdVmCallRoute> = {
  1: { kind: "exit", pending: { kind: "pioIn", size: 1 } },
  2: { kind: "exit", pending: { kind: "pioIn", size: 2 } },
  4: { kind: "exit", pending: { kind: "pioIn", size: 4 } },
};
const MMIO_WRITE: TdVmCallRoute = { kind: "exit", pending: { kind: "mmioWrite" } };
const MMIO_READ: Record<number, TdVmCallRoute> = {
  1: { kind: "exit", pending: { kind: "mmioRead", size: 1 } },
  2: { kind: "exit", pending: { kind: "mmioRead", size: 2 } },
  4: { kind: "exit", pending: { kind: "mmioRead", size: 4 } },
  8: { kind: "exit", pending: { kind: "mmioRead", size: 8 } },
};

/** Instruction.IO: R12 size (1/2/4), R13 direction (0 in, 1 out), R14 port, R15 data. */
function routeIo(gprs: GprFile, run: KvmRun): TdVmCallRoute {
  const size = gprs.hi(Gpr.R12) === 0 ? gprs.lo(Gpr.R12) : 0;
  const write = gprs.hi(Gpr.R13) === 0 ? gprs.lo(Gpr.R13) : 2;
  if ((size !== 1 && size !== 2 && size !== 4) || (write !== 0 && write !== 1))
    return complete(INVALID_OPERAND);
  run.exitReason = KvmExit.IO;
  const io = run.io;
  io.direction = write ? KvmExitIo.OUT : KvmExitIo.IN;
  io.size = size;
  io.port = gprs.lo(Gpr.R14) & 0xffff; // the emulator's port is 16 bits wide
  io.count = 1;
  io.dataOffset = KVM_PIO_DATA_OFFSET;
  const bytes = run.bytes;
  if (write === 1) {
    const v = gprs.lo(Gpr.R15);
    for (let i = 0; i < size; i++) bytes[KVM_PIO_DATA_OFFSET + i] = (v >>> (8 * i)) & 0xff;
    return PIO_OUT;
  }
  return PIO_IN[size]!;
}

const isPrivate = (gpa: bigint, sharedMask: bigint): boolean => (gpa & sharedMask) === 0n;

/**
 * #VE.RequestMMIO: R12 size (1/2/4/8), R13 direction (0/1), R14 shared GPA, R15 data. Another size or
 * direction, or a private GPA (first or last byte) → INVALID_OPERAND. Mainline 6.16 tdx_emulate_mmio
 * has no page-crossing or memslot check (the 2024 out-of-tree TDX KVM had both): such a request goes to
 * userspace as KVM_EXIT_MMIO like any other.
 */
function routeMmio(gprs: GprFile, ctx: TdVmCallContext, run: KvmRun): TdVmCallRoute {
  const size = gprs.hi(Gpr.R12) === 0 ? gprs.lo(Gpr.R12) : 0;
  const write = gprs.hi(Gpr.R13) === 0 ? gprs.lo(Gpr.R13) : 2;
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return complete(INVALID_OPERAND);
  if (write !== 0 && write !== 1) return complete(INVALID_OPERAND);
  const gpa = gprs.get(Gpr.R14);
  const shared = 1n << BigInt(ctx.sharedBit);
  if (isPrivate(gpa, shared) || isPrivate((gpa + BigInt(size) - 1n) % U64, shared))
    return complete(INVALID_OPERAND);
  run.exitReason = KvmExit.MMIO;
  const m = run.mmio;
  m.physAddr = gpa & ~shared;
  m.len = size;
  m.isWrite = write;
  const data = m.data;
  data.fill(0);
  if (write === 1) {
    const lo = gprs.lo(Gpr.R15);
    const hi = gprs.hi(Gpr.R15);
    for (let i = 0; i < size; i++) data[i] = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
    return MMIO_WRITE;
  }
  return MMIO_READ[size]!;
}

function exitWith(run: KvmRun, exit: VcpuExit, pending: TdVmCallPending): TdVmCallRoute {
  encodeExit(run, exit);
  return { kind: "exit", pending };
}

/** The KVM_EXIT_HYPERCALL for the MapGPA chunk starting at `next`. */
function mapGpaChunkExit(p: Extract<TdVmCallPending, { kind: "mapGpa" }>): VcpuExit {
  const remaining = p.end - p.next;
  const size = remaining > TDX_MAP_GPA_MAX_LEN ? TDX_MAP_GPA_MAX_LEN : remaining;
  return {
    kind: "hypercall",
    nr: BigInt(KvmHc.MAP_GPA_RANGE),
    args: [
      p.next & ~p.sharedMask,
      size / PAGE,
      BigInt(p.toPrivate ? KvmMapGpaRange.ENCRYPTED : KvmMapGpaRange.DECRYPTED),
      0n,
      0n,
      0n,
    ],
    // preset to 0 for QEMU <= 9.2, which never wrote it
    ret: 0n,
    flags: KVM_EXIT_HYPERCALL_LONG_MODE,
  };
}

/** MapGPA: R12 start GPA (shared bit = to shared), R13 size; on error R11 = the GPA. */
function routeMapGpa(gprs: GprFile, ctx: TdVmCallContext, run: KvmRun): TdVmCallRoute {
  const gpa = gprs.get(Gpr.R12);
  const size = gprs.get(Gpr.R13);
  const fail = (status: bigint) => complete(status, { r11: gpa });
  if ((ctx.hypercallExitEnabled & (1 << KvmHc.MAP_GPA_RANGE)) === 0) {
    return fail(TdVmCallStatus.SUBFUNC_UNSUPPORTED);
  }
  const sharedMask = 1n << BigInt(ctx.sharedBit);
  const limit = 1n << BigInt(ctx.maxPhysAddr);
  const end = gpa + size;
  if (
    end >= U64 ||
    end <= gpa ||
    gpa >= limit ||
    end - 1n >= limit ||
    isPrivate(gpa, sharedMask) !== isPrivate(end - 1n, sharedMask)
  ) {
    return fail(INVALID_OPERAND);
  }
  if (gpa % PAGE !== 0n || size % PAGE !== 0n) return fail(TdVmCallStatus.ALIGN_ERROR);
  const pending = {
    kind: "mapGpa",
    next: gpa,
    end,
    toPrivate: isPrivate(gpa, sharedMask),
    sharedMask,
  } as const;
  return exitWith(run, mapGpaChunkExit(pending), pending);
}

/** GetQuote: R12 shared GPA of the buffer, R13 size → KVM_EXIT_TDX, ret preset SUBFUNC_UNSUPPORTED. */
function routeGetQuote(gprs: GprFile, ctx: TdVmCallContext, run: KvmRun): TdVmCallRoute {
  const gpa = gprs.get(Gpr.R12);
  const shared = 1n << BigInt(ctx.sharedBit);
  if (isPrivate(gpa, shared)) return complete(INVALID_OPERAND);
  return exitWith(
    run,
    {
      kind: "tdx",
      call: "getQuote",
      nr: BigInt(TdVmCallLeaf.GET_QUOTE),
      flags: 0n,
      ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
      gpa: gpa & ~shared,
      size: gprs.get(Gpr.R13),
    },
    { kind: "tdxSimple" },
  );
}

/** ReportFatalError: KVM_EXIT_SYSTEM_EVENT / TDX_FATAL with the 16 GPRs in KVM's register order. */
function routeReportFatalError(gprs: GprFile, ctx: TdVmCallContext, run: KvmRun): TdVmCallRoute {
  const data = [
    ctx.vpEnterRet,
    gprs.get(Gpr.RCX),
    gprs.get(Gpr.RDX),
    gprs.get(Gpr.RBX),
    0n, // RSP is never exposed
    0n, // RBP
    gprs.get(Gpr.RSI),
    gprs.get(Gpr.RDI),
  ];
  for (let r: number = Gpr.R8; r <= Gpr.R15; r++) data.push(gprs.get(r));
  return exitWith(run, { kind: "systemEvent", type: KvmSystemEvent.TDX_FATAL, data }, { kind: "fatalError" });
}

/** GetTdVmCallInfo: leaf 0 in the kernel (all zero), leaf 1 to userspace, others INVALID_OPERAND. */
function routeGetTdVmCallInfo(gprs: GprFile, run: KvmRun): TdVmCallRoute {
  if (gprs.is(Gpr.R12, 0)) return complete(SUCCESS, { r11: 0n, r12: 0n, r13: 0n, r14: 0n });
  if (!gprs.is(Gpr.R12, 1)) return complete(INVALID_OPERAND);
  return exitWith(
    run,
    {
      kind: "tdx",
      call: "getTdVmCallInfo",
      nr: BigInt(TdVmCallLeaf.GET_TD_VM_CALL_INFO),
      flags: 0n,
      ret: SUCCESS,
      leaf: 1n,
      r11: 0n,
      r12: 0n,
      r13: 0n,
      r14: 0n,
    },
    { kind: "getTdVmCallInfo" },
  );
}

/** SetupEventNotifyInterrupt: R12 vector 32..255 → KVM_EXIT_TDX, ret preset SUBFUNC_UNSUPPORTED. */
function routeSetupEventNotify(gprs: GprFile, run: KvmRun): TdVmCallRoute {
  const vector = gprs.get(Gpr.R12);
  if (vector < 32n || vector > 255n) return complete(INVALID_OPERAND);
  return exitWith(
    run,
    {
      kind: "tdx",
      call: "setupEventNotify",
      nr: BigInt(TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT),
      flags: 0n,
      ret: TdVmCallStatus.SUBFUNC_UNSUPPORTED,
      vector,
    },
    { kind: "tdxSimple" },
  );
}

function littleEndian(bytes: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[at + i]!;
  return v;
}

/**
 * Complete a forwarded TDVMCALL on the next KVM_RUN from what userspace left in `run` (KVM's
 * complete_userspace_io callbacks), writing the guest-visible registers into `gprs`. Returns
 * undefined when the guest can resume, or the next pending state when another exit has been
 * written into `run` instead (a multi-chunk MapGPA). `hasPendingEvents` is kvm_vcpu_has_events():
 * it ends a multi-chunk MapGPA early with RETRY.
 */
export function completeTdVmCall(
  pending: TdVmCallPending,
  run: KvmRun,
  gprs: GprFile,
  hasPendingEvents = false,
): TdVmCallPending | undefined {
  switch (pending.kind) {
    case "pioOut":
    case "mmioWrite":
    case "fatalError": // not expected to resume; if the VMM re-enters nothing else is written back
      gprs.setLoHi(Gpr.R10, 0, 0);
      return undefined;
    case "pioIn":
      // KVM reads its own PIO page, whatever userspace did to io.data_offset
      gprs.setLoHi(Gpr.R10, 0, 0);
      gprs.setLoHi(Gpr.R11, littleEndian(run.bytes, KVM_PIO_DATA_OFFSET, pending.size), 0);
      return undefined;
    case "mmioRead": {
      const d = run.mmio.data;
      gprs.setLoHi(Gpr.R10, 0, 0);
      const n = pending.size;
      gprs.setLoHi(
        Gpr.R11,
        littleEndian(d, 0, Math.min(n, 4)) >>> 0,
        n > 4 ? littleEndian(d, 4, n - 4) >>> 0 : 0,
      );
      return undefined;
    }
    case "tdxSimple":
      gprs.set(Gpr.R10, run.tdx.ret);
      return undefined;
    case "getTdVmCallInfo": {
      const [, r11, r12, r13, r14] = run.tdx.data;
      applyTdVmCallResult(gprs, { r10: run.tdx.ret, r11: r11!, r12: r12!, r13: r13!, r14: r14! });
      return undefined;
    }
    case "mapGpa": {
      if (run.hypercall.ret !== 0n) {
        applyTdVmCallResult(gprs, { r10: INVALID_OPERAND, r11: pending.next });
        return undefined;
      }
      const next = pending.next + TDX_MAP_GPA_MAX_LEN;
      if (next >= pending.end) {
        gprs.setLoHi(Gpr.R10, 0, 0);
        return undefined;
      }
      if (hasPendingEvents) {
        applyTdVmCallResult(gprs, { r10: TdVmCallStatus.RETRY, r11: next });
        return undefined;
      }
      const more = { ...pending, next };
      encodeExit(run, mapGpaChunkExit(more));
      return more;
    }
  }
}

/** The completion of a user-space MSR exit (KVM_EXIT_X86_RDMSR/WRMSR) for a TD. */
export function completeTdMsrExit(read: boolean, run: KvmRun): TdVmCallResult {
  if (run.msr.error !== 0) return { r10: INVALID_OPERAND };
  return read ? { r10: SUCCESS, r11: run.msr.data } : { r10: SUCCESS };
}

/** Instruction.CPUID's answer: EAX..EDX in R12..R15. */
export function cpuidResult(eax: number, ebx: number, ecx: number, edx: number): TdVmCallResult {
  return {
    r10: SUCCESS,
    r12: BigInt(eax >>> 0),
    r13: BigInt(ebx >>> 0),
    r14: BigInt(ecx >>> 0),
    r15: BigInt(edx >>> 0),
  };
}

/** Write a result into the registers TDH.VP.ENTER will load into the guest. */
export function applyTdVmCallResult(gprs: GprFile, result: TdVmCallResult): void {
  gprs.set(Gpr.R10, result.r10);
  if (result.r11 !== undefined) gprs.set(Gpr.R11, result.r11);
  if (result.r12 !== undefined) gprs.set(Gpr.R12, result.r12);
  if (result.r13 !== undefined) gprs.set(Gpr.R13, result.r13);
  if (result.r14 !== undefined) gprs.set(Gpr.R14, result.r14);
  if (result.r15 !== undefined) gprs.set(Gpr.R15, result.r15);
}

export interface TdVmCallRouteDoc {
  readonly leaf: number | "r10≠0" | "other";
  readonly ghci: string;
  readonly kvm: "kernel" | "userspace" | "kernel or userspace";
  /** what the VMM sees */
  readonly exit: string;
  /** what the guest gets back */
  readonly completion: string;
}

/** Spec §4 as data (documentation and the README table; the functions above are the behaviour). */
export const TDVMCALL_ROUTES: readonly TdVmCallRouteDoc[] = [
  {
    leaf: TdVmCallLeaf.CPUID,
    ghci: "Instruction.CPUID",
    kvm: "kernel",
    exit: "none",
    completion: "R10 SUCCESS, R12..R15 = EAX..EDX",
  },
  {
    leaf: TdVmCallLeaf.HLT,
    ghci: "Instruction.HLT",
    kvm: "kernel",
    exit: "none (mp_state HALTED)",
    completion: "R10 SUCCESS on wake-up",
  },
  {
    leaf: TdVmCallLeaf.IO,
    ghci: "Instruction.IO",
    kvm: "userspace",
    exit: "KVM_EXIT_IO, count 1, data at run + 4096",
    completion: "R10 SUCCESS; IN: R11 = data (zero-extended); bad size/direction: INVALID_OPERAND, no exit",
  },
  {
    leaf: TdVmCallLeaf.RDMSR,
    ghci: "Instruction.RDMSR",
    kvm: "kernel or userspace",
    exit: "KVM_EXIT_X86_RDMSR only if the failure reason is in KVM_CAP_X86_USER_SPACE_MSR",
    completion: "R10 SUCCESS, R11 = value; failure: INVALID_OPERAND",
  },
  {
    leaf: TdVmCallLeaf.WRMSR,
    ghci: "Instruction.WRMSR",
    kvm: "kernel or userspace",
    exit: "KVM_EXIT_X86_WRMSR only if the failure reason is in KVM_CAP_X86_USER_SPACE_MSR",
    completion: "R10 SUCCESS; failure: INVALID_OPERAND",
  },
  {
    leaf: TdVmCallLeaf.MMIO,
    ghci: "#VE.RequestMMIO",
    kvm: "userspace",
    exit: "KVM_EXIT_MMIO, phys_addr without the shared bit",
    completion: "R10 SUCCESS; read: R11 = data; private GPA/bad size: INVALID_OPERAND, no exit",
  },
  {
    leaf: TdVmCallLeaf.MAP_GPA,
    ghci: "MapGPA",
    kvm: "userspace",
    exit: "KVM_EXIT_HYPERCALL nr 12 per ≤ 2 MiB chunk (needs KVM_CAP_EXIT_HYPERCALL)",
    completion:
      "ret ≠ 0: INVALID_OPERAND, R11 = chunk GPA; pending event: RETRY, R11 = next GPA; last chunk: SUCCESS",
  },
  {
    leaf: TdVmCallLeaf.GET_QUOTE,
    ghci: "GetQuote",
    kvm: "userspace",
    exit: "KVM_EXIT_TDX nr 0x10002, ret preset SUBFUNC_UNSUPPORTED",
    completion: "R10 = tdx.ret",
  },
  {
    leaf: TdVmCallLeaf.REPORT_FATAL_ERROR,
    ghci: "ReportFatalError",
    kvm: "userspace",
    exit: "KVM_EXIT_SYSTEM_EVENT TDX_FATAL, ndata 16 (GPRs)",
    completion: "not expected to resume",
  },
  {
    leaf: TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT,
    ghci: "SetupEventNotifyInterrupt",
    kvm: "userspace",
    exit: "KVM_EXIT_TDX nr 0x10004 (vector 32..255), ret preset SUBFUNC_UNSUPPORTED",
    completion: "R10 = tdx.ret",
  },
  {
    leaf: TdVmCallLeaf.GET_TD_VM_CALL_INFO,
    ghci: "GetTdVmCallInfo",
    kvm: "kernel or userspace",
    exit: "leaf 1: KVM_EXIT_TDX nr 0x10000, ret preset SUCCESS",
    completion:
      "leaf 0: SUCCESS, R11..R14 = 0; leaf 1: R10 = ret, R11..R14 from userspace; other: INVALID_OPERAND",
  },
  {
    leaf: "r10≠0",
    ghci: "KVM hypercall",
    kvm: "kernel",
    exit: "as a VMCALL (KVM_EXIT_HYPERCALL only for hypercalls userspace enabled)",
    completion: "R10 = hypercall result",
  },
  { leaf: "other", ghci: "any other leaf", kvm: "kernel", exit: "none", completion: "SUBFUNC_UNSUPPORTED" },
];
