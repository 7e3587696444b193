import { hex } from "../util/hex.js";
import {
  exitReasonName,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_RUN_EXIT_REASON,
  KVM_RUN_HYPERCALL_ARGS,
  KVM_RUN_HYPERCALL_FLAGS,
  KVM_RUN_HYPERCALL_NR,
  KVM_RUN_HYPERCALL_RET,
  KVM_RUN_IO_COUNT,
  KVM_RUN_IO_DATA_OFFSET,
  KVM_RUN_IO_DIRECTION,
  KVM_RUN_IO_PORT,
  KVM_RUN_IO_SIZE,
  KVM_RUN_MEMORY_FAULT_FLAGS,
  KVM_RUN_MEMORY_FAULT_GPA,
  KVM_RUN_MEMORY_FAULT_SIZE,
  KVM_RUN_MMIO_DATA,
  KVM_RUN_MMIO_IS_WRITE,
  KVM_RUN_MMIO_LEN,
  KVM_RUN_MMIO_PHYS_ADDR,
  KVM_RUN_MSR_DATA,
  KVM_RUN_MSR_ERROR,
  KVM_RUN_MSR_INDEX,
  KVM_RUN_MSR_REASON,
  KVM_RUN_SYSTEM_EVENT_DATA,
  KVM_RUN_SYSTEM_EVENT_NDATA,
  KVM_RUN_SYSTEM_EVENT_TYPE,
  KVM_SYSTEM_EVENT_NAMES,
} from "./kvm-run-layout.js";

/** A malformed kvm_run (a field pointing outside the mapping, an impossible count). */
export class KvmRunLayoutError extends RangeError {
  override name = "KvmRunLayoutError";
}

export interface IoExit {
  readonly kind: "io";
  readonly reason: typeof KVM_EXIT_IO;
  /** KVM_EXIT_IO_IN (0) or KVM_EXIT_IO_OUT (1). */
  readonly direction: number;
  readonly size: number;
  readonly port: number;
  readonly count: number;
  readonly dataOffset: number;
  /** The count × size data bytes at run + data_offset (a view: writing it answers an IN). */
  readonly data: Uint8Array;
}

export interface MmioExit {
  readonly kind: "mmio";
  readonly reason: typeof KVM_EXIT_MMIO;
  readonly physAddr: bigint;
  /** The 8-byte data field (a view into kvm_run). */
  readonly data: Uint8Array;
  readonly len: number;
  readonly isWrite: boolean;
}

export interface SystemEventExit {
  readonly kind: "system_event";
  readonly reason: typeof KVM_EXIT_SYSTEM_EVENT;
  readonly type: number;
  readonly ndata: number;
  /** data[0..ndata). */
  readonly data: readonly bigint[];
}

export interface MemoryFaultExit {
  readonly kind: "memory_fault";
  readonly reason: typeof KVM_EXIT_MEMORY_FAULT;
  readonly flags: bigint;
  readonly gpa: bigint;
  readonly size: bigint;
}

export interface HypercallExit {
  readonly kind: "hypercall";
  readonly reason: typeof KVM_EXIT_HYPERCALL;
  readonly nr: bigint;
  readonly args: readonly bigint[];
  readonly ret: bigint;
  readonly flags: bigint;
}

/**
 * KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR: a guest MSR access KVM_CAP_X86_USER_SPACE_MSR sends
 * to user space (for a TD: the RDMSR/WRMSR TDVMCALLs). The host answers through `answer`.
 */
export interface MsrExit {
  readonly kind: "msr";
  readonly reason: typeof KVM_EXIT_X86_RDMSR | typeof KVM_EXIT_X86_WRMSR;
  readonly write: boolean;
  /** msr.reason: KVM_MSR_EXIT_REASON_INVAL (1), _UNKNOWN (2) or _FILTER (4). */
  readonly msrReason: number;
  readonly index: number;
  /** The value a WRMSR writes (0 for RDMSR until answered). */
  readonly data: bigint;
  /** The kvm_run bytes of msr.error / msr.data, so the host's answer lands in the mapping. */
  readonly answer: Uint8Array;
}

export interface OtherExit {
  readonly kind: "other";
  readonly reason: number;
}

export type RunExit =
  | IoExit
  | MmioExit
  | MsrExit
  | HypercallExit
  | SystemEventExit
  | MemoryFaultExit
  | OtherExit;

/** Decodes the exit the vCPU last took from the kvm_run mapping (the run page and the PIO page after it). */
export function decodeRunExit(run: Uint8Array): RunExit {
  if (run.length < 64)
    throw new KvmRunLayoutError(`kvm_run: ${run.length} bytes is too short for the exit union`);
  const view = new DataView(run.buffer, run.byteOffset, run.byteLength);
  const reason = view.getUint32(KVM_RUN_EXIT_REASON, true);
  switch (reason) {
    case KVM_EXIT_IO: {
      const size = view.getUint8(KVM_RUN_IO_SIZE);
      const count = view.getUint32(KVM_RUN_IO_COUNT, true);
      const dataOffset = Number(view.getBigUint64(KVM_RUN_IO_DATA_OFFSET, true));
      if (dataOffset + size * count > run.length) {
        throw new KvmRunLayoutError(
          `kvm_run.io.data_offset: 0x${dataOffset.toString(16)} + ${count} × ${size} bytes lies outside the ${run.length}-byte mapping`,
        );
      }
      return {
        kind: "io",
        reason,
        direction: view.getUint8(KVM_RUN_IO_DIRECTION),
        size,
        port: view.getUint16(KVM_RUN_IO_PORT, true),
        count,
        dataOffset,
        data: run.subarray(dataOffset, dataOffset + size * count),
      };
    }
    case KVM_EXIT_MMIO:
      return {
        kind: "mmio",
        reason,
        physAddr: view.getBigUint64(KVM_RUN_MMIO_PHYS_ADDR, true),
        data: run.subarray(KVM_RUN_MMIO_DATA, KVM_RUN_MMIO_DATA + 8),
        len: view.getUint32(KVM_RUN_MMIO_LEN, true),
        isWrite: view.getUint8(KVM_RUN_MMIO_IS_WRITE) !== 0,
      };
    case KVM_EXIT_SYSTEM_EVENT: {
      const ndata = view.getUint32(KVM_RUN_SYSTEM_EVENT_NDATA, true);
      if (ndata > 16)
        throw new KvmRunLayoutError(`kvm_run.system_event.ndata: ${ndata} exceeds the 16 data slots`);
      const data: bigint[] = [];
      for (let i = 0; i < ndata; i++) data.push(view.getBigUint64(KVM_RUN_SYSTEM_EVENT_DATA + 8 * i, true));
      return {
        kind: "system_event",
        reason,
        type: view.getUint32(KVM_RUN_SYSTEM_EVENT_TYPE, true),
        ndata,
        data,
      };
    }
    case KVM_EXIT_HYPERCALL: {
      const args: bigint[] = [];
      for (let i = 0; i < 6; i++) args.push(view.getBigUint64(KVM_RUN_HYPERCALL_ARGS + 8 * i, true));
      return {
        kind: "hypercall",
        reason,
        nr: view.getBigUint64(KVM_RUN_HYPERCALL_NR, true),
        args,
        ret: view.getBigUint64(KVM_RUN_HYPERCALL_RET, true),
        flags: view.getBigUint64(KVM_RUN_HYPERCALL_FLAGS, true),
      };
    }
    case KVM_EXIT_MEMORY_FAULT:
      return {
        kind: "memory_fault",
        reason,
        flags: view.getBigUint64(KVM_RUN_MEMORY_FAULT_FLAGS, true),
        gpa: view.getBigUint64(KVM_RUN_MEMORY_FAULT_GPA, true),
        size: view.getBigUint64(KVM_RUN_MEMORY_FAULT_SIZE, true),
      };
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
      return {
        kind: "msr",
        reason,
        write: reason === KVM_EXIT_X86_WRMSR,
        msrReason: view.getUint32(KVM_RUN_MSR_REASON, true),
        index: view.getUint32(KVM_RUN_MSR_INDEX, true),
        data: view.getBigUint64(KVM_RUN_MSR_DATA, true),
        answer: run.subarray(KVM_RUN_MSR_ERROR, KVM_RUN_MSR_DATA + 8),
      };
    default:
      return { kind: "other", reason };
  }
}

export function ioDirectionName(direction: number): string {
  return `${direction === KVM_EXIT_IO_IN ? "IN" : direction === 1 ? "OUT" : "?"} (${direction})`;
}

/** Little-endian value of up to 8 bytes. */
export function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** One line saying what the guest did, for assertion messages. */
export function describeExit(exit: RunExit): string {
  switch (exit.kind) {
    case "io": {
      const data =
        exit.direction === KVM_EXIT_IO_IN ? "" : `, data ${hex(littleEndian(exit.data), exit.size * 2)}`;
      return `${exitReasonName(exit.reason)} port ${hex(exit.port)}, size ${exit.size}, direction ${ioDirectionName(exit.direction)}${data}`;
    }
    case "mmio": {
      const data = exit.isWrite
        ? `, data ${hex(littleEndian(exit.data.subarray(0, Math.min(exit.len, 8))))}`
        : "";
      return `${exitReasonName(exit.reason)} phys_addr ${hex(exit.physAddr)}, len ${exit.len}, is_write ${exit.isWrite ? 1 : 0}${data}`;
    }
    case "system_event": {
      const type = KVM_SYSTEM_EVENT_NAMES[exit.type] ?? "unknown";
      const data = exit.data.map((d) => hex(d)).join(", ");
      return `${exitReasonName(exit.reason)} type ${type} (${exit.type}), ndata ${exit.ndata}, data [${data}]`;
    }
    case "hypercall":
      return `${exitReasonName(exit.reason)} nr ${exit.nr}, args [${exit.args.map((a) => hex(a)).join(", ")}]`;
    case "msr":
      return `${exitReasonName(exit.reason)} index ${hex(exit.index)}, reason ${exit.msrReason}${exit.write ? `, data ${hex(exit.data)}` : ""}`;
    case "memory_fault":
      return `${exitReasonName(exit.reason)} gpa ${hex(exit.gpa)}, size ${hex(exit.size)}, flags ${hex(exit.flags)}`;
    default:
      return exitReasonName(exit.reason);
  }
}
