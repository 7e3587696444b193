// The typed face of kvm_run: VcpuExit is a discriminated union (like rust-vmm's VcpuExit),
// decoded from and encoded into the real kvm_run bytes. Data areas the VMM must fill in
// before re-entering (IN data, MMIO read data) are live views into the mapping, so writing
// them is exactly writing `(u8 *)run + data_offset` or `run->mmio.data` in C.
import type { KvmRun } from "./kvm-run.js";
import { KvmExit, KvmExitIo } from "./uapi/constants.js";
import { TdVmCallLeaf } from "./uapi/ghci.js";
import { KVM_PIO_DATA_OFFSET } from "./uapi/kvm-run-layout.js";

export type VcpuExit =
  | { kind: "unknown"; hardwareExitReason: bigint }
  | { kind: "exception"; exception: number; errorCode: number }
  | {
      kind: "io";
      direction: "in" | "out";
      /** access size in bytes (1, 2, 4) */
      size: number;
      port: number;
      count: number;
      /** count × size bytes at run + data_offset: read it for OUT, fill it for IN */
      data: Uint8Array;
    }
  | { kind: "hypercall"; nr: bigint; args: bigint[]; ret: bigint; flags: bigint }
  | { kind: "debug" }
  | { kind: "hlt" }
  | {
      kind: "mmio";
      physAddr: bigint;
      isWrite: boolean;
      len: number;
      /** the first `len` bytes of mmio.data: the value for a write, to be filled for a read */
      data: Uint8Array;
    }
  | { kind: "irqWindowOpen" }
  | { kind: "shutdown" }
  | { kind: "failEntry"; hardwareEntryFailureReason: bigint; cpu: number }
  | { kind: "intr" }
  | { kind: "internalError"; suberror: number; data: bigint[] }
  | { kind: "systemEvent"; type: number; data: bigint[] }
  | { kind: "x86Rdmsr" | "x86Wrmsr"; reason: number; index: number; data: bigint; error: number }
  | { kind: "memoryFault"; flags: bigint; gpa: bigint; size: bigint }
  | TdxExit
  | { kind: "other"; exitReason: number };

/** KVM_EXIT_TDX, split by the TDVMCALL leaf in `nr` like the kvm_run union members. */
export type TdxExit =
  | { kind: "tdx"; call: "getQuote"; nr: bigint; flags: bigint; ret: bigint; gpa: bigint; size: bigint }
  | {
      kind: "tdx";
      call: "getTdVmCallInfo";
      nr: bigint;
      flags: bigint;
      ret: bigint;
      leaf: bigint;
      r11: bigint;
      r12: bigint;
      r13: bigint;
      r14: bigint;
    }
  | { kind: "tdx"; call: "setupEventNotify"; nr: bigint; flags: bigint; ret: bigint; vector: bigint }
  | { kind: "tdx"; call: "unknown"; nr: bigint; flags: bigint; ret: bigint; data: bigint[] };

export type VcpuExitKind = VcpuExit["kind"];

/** Read the exit KVM_RUN reported in `run`. */
export function decodeExit(run: KvmRun): VcpuExit {
  switch (run.exitReason) {
    case KvmExit.UNKNOWN:
      // hw.hardware_exit_reason shares offset 32 with fail_entry.hardware_entry_failure_reason
      return { kind: "unknown", hardwareExitReason: run.failEntry.hardwareEntryFailureReason };
    case KvmExit.EXCEPTION:
      return { kind: "exception", exception: run.ex.exception, errorCode: run.ex.errorCode };
    case KvmExit.IO: {
      const io = run.io;
      const size = io.size;
      const count = io.count;
      return {
        kind: "io",
        direction: io.direction === KvmExitIo.OUT ? "out" : "in",
        size,
        port: io.port,
        count,
        data: run.pioData(size * count),
      };
    }
    case KvmExit.HYPERCALL: {
      const h = run.hypercall;
      return { kind: "hypercall", nr: h.nr, args: h.args, ret: h.ret, flags: h.flags };
    }
    case KvmExit.DEBUG:
      return { kind: "debug" };
    case KvmExit.HLT:
      return { kind: "hlt" };
    case KvmExit.MMIO: {
      const m = run.mmio;
      const len = Math.min(m.len, 8);
      return {
        kind: "mmio",
        physAddr: m.physAddr,
        isWrite: m.isWrite !== 0,
        len: m.len,
        data: m.data.subarray(0, len),
      };
    }
    case KvmExit.IRQ_WINDOW_OPEN:
      return { kind: "irqWindowOpen" };
    case KvmExit.SHUTDOWN:
      return { kind: "shutdown" };
    case KvmExit.FAIL_ENTRY:
      return {
        kind: "failEntry",
        hardwareEntryFailureReason: run.failEntry.hardwareEntryFailureReason,
        cpu: run.failEntry.cpu,
      };
    case KvmExit.INTR:
      return { kind: "intr" };
    case KvmExit.INTERNAL_ERROR:
      return { kind: "internalError", suberror: run.internal.suberror, data: run.internal.data };
    case KvmExit.SYSTEM_EVENT:
      return { kind: "systemEvent", type: run.systemEvent.type, data: run.systemEvent.data };
    case KvmExit.X86_RDMSR:
    case KvmExit.X86_WRMSR: {
      const m = run.msr;
      return {
        kind: run.exitReason === KvmExit.X86_RDMSR ? "x86Rdmsr" : "x86Wrmsr",
        reason: m.reason,
        index: m.index,
        data: m.data,
        error: m.error,
      };
    }
    case KvmExit.MEMORY_FAULT: {
      const f = run.memoryFault;
      return { kind: "memoryFault", flags: f.flags, gpa: f.gpa, size: f.size };
    }
    case KvmExit.TDX:
      return decodeTdxExit(run);
    default:
      return { kind: "other", exitReason: run.exitReason };
  }
}

function decodeTdxExit(run: KvmRun): TdxExit {
  const t = run.tdx;
  const nr = t.nr;
  const flags = t.flags;
  const ret = t.ret;
  const d = t.data;
  switch (nr) {
    case BigInt(TdVmCallLeaf.GET_QUOTE):
      return { kind: "tdx", call: "getQuote", nr, flags, ret, gpa: d[0]!, size: d[1]! };
    case BigInt(TdVmCallLeaf.GET_TD_VM_CALL_INFO):
      return {
        kind: "tdx",
        call: "getTdVmCallInfo",
        nr,
        flags,
        ret,
        leaf: d[0]!,
        r11: d[1]!,
        r12: d[2]!,
        r13: d[3]!,
        r14: d[4]!,
      };
    case BigInt(TdVmCallLeaf.SETUP_EVENT_NOTIFY_INTERRUPT):
      return { kind: "tdx", call: "setupEventNotify", nr, flags, ret, vector: d[0]! };
    default:
      return { kind: "tdx", call: "unknown", nr, flags, ret, data: d };
  }
}

const KIND_TO_REASON: Record<Exclude<VcpuExitKind, "other">, number> = {
  unknown: KvmExit.UNKNOWN,
  exception: KvmExit.EXCEPTION,
  io: KvmExit.IO,
  hypercall: KvmExit.HYPERCALL,
  debug: KvmExit.DEBUG,
  hlt: KvmExit.HLT,
  mmio: KvmExit.MMIO,
  irqWindowOpen: KvmExit.IRQ_WINDOW_OPEN,
  shutdown: KvmExit.SHUTDOWN,
  failEntry: KvmExit.FAIL_ENTRY,
  intr: KvmExit.INTR,
  internalError: KvmExit.INTERNAL_ERROR,
  systemEvent: KvmExit.SYSTEM_EVENT,
  x86Rdmsr: KvmExit.X86_RDMSR,
  x86Wrmsr: KvmExit.X86_WRMSR,
  memoryFault: KvmExit.MEMORY_FAULT,
  tdx: KvmExit.TDX,
};

/**
 * Report `exit` in `run` the way the kernel does before returning from KVM_RUN: exit_reason,
 * a zeroed union with the member filled in, and for IO the data at KVM_PIO_DATA_OFFSET.
 */
export function encodeExit(run: KvmRun, exit: VcpuExit): void {
  run.clearExitUnion();
  run.exitReason = exit.kind === "other" ? exit.exitReason : KIND_TO_REASON[exit.kind];
  switch (exit.kind) {
    case "unknown":
      run.failEntry.hardwareEntryFailureReason = exit.hardwareExitReason;
      return;
    case "exception":
      run.ex.exception = exit.exception;
      run.ex.errorCode = exit.errorCode;
      return;
    case "io": {
      const io = run.io;
      io.direction = exit.direction === "out" ? KvmExitIo.OUT : KvmExitIo.IN;
      io.size = exit.size;
      io.port = exit.port;
      io.count = exit.count;
      io.dataOffset = KVM_PIO_DATA_OFFSET;
      const area = run.pioData(exit.size * exit.count);
      if (exit.data !== area) area.set(exit.data.subarray(0, area.length));
      return;
    }
    case "hypercall": {
      const h = run.hypercall;
      h.nr = exit.nr;
      h.args = exit.args;
      h.ret = exit.ret;
      h.flags = exit.flags;
      return;
    }
    case "mmio": {
      const m = run.mmio;
      if (exit.len > 8) throw new RangeError(`mmio.len ${exit.len} is more than the 8-byte data[]`);
      m.physAddr = exit.physAddr;
      m.len = exit.len;
      m.isWrite = exit.isWrite ? 1 : 0;
      if (exit.data !== m.data) m.data.set(exit.data.subarray(0, exit.len));
      return;
    }
    case "failEntry":
      run.failEntry.hardwareEntryFailureReason = exit.hardwareEntryFailureReason;
      run.failEntry.cpu = exit.cpu;
      return;
    case "internalError":
      run.internal.suberror = exit.suberror;
      run.internal.ndata = exit.data.length;
      run.internal.data = exit.data;
      return;
    case "systemEvent":
      run.systemEvent.type = exit.type;
      run.systemEvent.ndata = exit.data.length;
      run.systemEvent.data = exit.data;
      return;
    case "x86Rdmsr":
    case "x86Wrmsr":
      run.msr.error = exit.error;
      run.msr.reason = exit.reason;
      run.msr.index = exit.index;
      run.msr.data = exit.data;
      return;
    case "memoryFault":
      run.memoryFault.flags = exit.flags;
      run.memoryFault.gpa = exit.gpa;
      run.memoryFault.size = exit.size;
      return;
    case "tdx":
      encodeTdxExit(run, exit);
      return;
    default:
      return;
  }
}

function encodeTdxExit(run: KvmRun, exit: TdxExit): void {
  const t = run.tdx;
  t.flags = exit.flags;
  t.nr = exit.nr;
  t.ret = exit.ret;
  switch (exit.call) {
    case "getQuote":
      t.data = [exit.gpa, exit.size];
      return;
    case "getTdVmCallInfo":
      t.data = [exit.leaf, exit.r11, exit.r12, exit.r13, exit.r14];
      return;
    case "setupEventNotify":
      t.data = [exit.vector];
      return;
    case "unknown":
      t.data = exit.data;
      return;
  }
}
