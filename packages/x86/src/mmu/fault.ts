// What a memory access throws when it cannot complete: a guest exception for the interpreter to
// deliver (#PF, #GP(0), #SS(0), #VE), or a stop for the interpreter to return to the host
// (MMIO, second-stage refusal, unsupported mode). Not an Error: no stack trace is captured.

export const VECTOR_SS = 12;
export const VECTOR_GP = 13;
export const VECTOR_PF = 14;
export const VECTOR_AC = 17;
export const VECTOR_VE = 20;
/** VMX basic exit reason of an EPT violation (also VE_INFO.exit_reason of an EPT-violation #VE). */
export const EXIT_REASON_EPT_VIOLATION = 48;

/** Host-visible reasons an access stops the vCPU. The instruction has not retired; RIP is unchanged. */
export type MemoryStop =
  | {
      reason: "mmio";
      /** GPA of the first byte of this fragment (a page-crossing access is split at the page boundary). */
      gpa: number;
      /** 1, 2, 4, 8 or 16 (or less for a fragment of a page-crossing access). */
      size: number;
      isWrite: boolean;
      /** The bytes written (isWrite), else zeros of `size` for the host to fill. */
      data: Uint8Array;
    }
  | {
      reason: "gpa-fault";
      /** The GPA the second stage refused (byte address; the TDX layer reports it with bits 11:0 cleared). */
      gpa: number;
      /** EPT-violation exit qualification: access bits 2:0, entry R/W/X 5:3, GLA valid (7), final translation (8). */
      qualification: number;
      /** The guest linear address of the access. */
      gla: bigint;
    }
  | { reason: "unsupported"; message: string };

export class MemoryFault {
  /** A guest exception vector (12, 13, 14, 17, 20), or -1 for a stop. */
  readonly vector: number;
  /** The error code to push (#SS/#GP/#PF); -1 when the exception has none (#VE). */
  readonly errorCode: number;
  /** #PF: CR2 (the faulting linear address), bits 31:0 and 63:32 as int32. */
  readonly cr2Lo: number;
  readonly cr2Hi: number;
  /** #VE: the EPT-violation details for VE_INFO (exit reason 48). */
  readonly ve: { qualification: number; gpa: number; glaLo: number; glaHi: number } | undefined;
  readonly stop: MemoryStop | undefined;

  constructor(
    vector: number,
    errorCode: number,
    cr2Lo = 0,
    cr2Hi = 0,
    ve?: MemoryFault["ve"],
    stop?: MemoryStop,
  ) {
    this.vector = vector;
    this.errorCode = errorCode;
    this.cr2Lo = cr2Lo;
    this.cr2Hi = cr2Hi;
    this.ve = ve;
    this.stop = stop;
  }

  static stop(stop: MemoryStop): MemoryFault {
    return new MemoryFault(-1, -1, 0, 0, undefined, stop);
  }

  get isStop(): boolean {
    return this.vector < 0;
  }

  /** CR2 as an unsigned 64-bit bigint (API edge). */
  get cr2(): bigint {
    return (BigInt(this.cr2Hi >>> 0) << 32n) | BigInt(this.cr2Lo >>> 0);
  }

  toString(): string {
    if (this.stop !== undefined) return `memory stop ${this.stop.reason}`;
    const name =
      { 12: "#SS", 13: "#GP", 14: "#PF", 17: "#AC", 20: "#VE" }[this.vector] ?? `vector ${this.vector}`;
    const cr2 = this.vector === VECTOR_PF ? ` at 0x${this.cr2.toString(16)}` : "";
    return `${name}(${this.errorCode < 0 ? "" : `0x${this.errorCode.toString(16)}`})${cr2}`;
  }
}
