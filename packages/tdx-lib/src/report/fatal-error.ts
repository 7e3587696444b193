import { Gpr, TdVmCallLeaf } from "@tdxsim/kvm";
import { hex } from "../util/hex.js";
import { KVM_SYSTEM_EVENT_TDX_FATAL } from "./kvm-run-layout.js";
import type { RunExit } from "./run-exit.js";

// TDG.VP.VMCALL<ReportFatalError> as mainline KVM (6.16) delivers it: KVM_EXIT_SYSTEM_EVENT,
// type KVM_SYSTEM_EVENT_TDX_FATAL, ndata 16, data[] = the guest GPRs in KVM's register
// order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15), so data[i] is register number i.

export const TDG_VP_VMCALL_REPORT_FATAL_ERROR = TdVmCallLeaf.REPORT_FATAL_ERROR;

/** GHCI R12: bit 63 says R13 holds a valid shared GPA with more information. */
export const TDX_FATAL_ERROR_GPA_VALID = 1n << 63n;

export const REGISTER_NUMBER = Gpr;

/**
 * Registers that carry the optional 64-byte ASCII message, in message order (GHCI
 * ReportFatalError; QEMU's tdx_handle_report_fatal_error appends, in this order, the
 * 8 bytes of each register the guest exposed in the RCX mask).
 */
export const FATAL_MESSAGE_REGISTERS = ["R14", "R15", "RBX", "RDI", "RSI", "R8", "R9", "RDX"] as const;

export interface TdxFatalError {
  /** R12 as the guest passed it (tdx_test_fatal's error code). */
  readonly errorCode: bigint;
  /** R12 bits 31:0. */
  readonly errorCodeLow: number;
  /** R12 bits 62:32: the TD-specific extended error code. */
  readonly extendedErrorCode: number;
  /** R12 bit 63. */
  readonly gpaValid: boolean;
  /** R13: the data GPA (tdx_test_fatal_with_data's second argument, passed through unchanged). */
  readonly data: bigint;
  /** RCX: the register-exposure mask of the TDVMCALL. */
  readonly registerMask: bigint;
  /** The ASCII message from the exposed message registers, up to the first NUL ("" if none). */
  readonly message: string;
  /** All 16 GPR values as KVM delivered them. */
  readonly registers: readonly bigint[];
}

/** True when `exit` is a ReportFatalError delivered by KVM. */
export function isTdxFatalExit(exit: RunExit): exit is RunExit & { kind: "system_event" } {
  return exit.kind === "system_event" && exit.type === KVM_SYSTEM_EVENT_TDX_FATAL;
}

function decodeMessage(registers: readonly bigint[], mask: bigint): string {
  let text = "";
  for (const name of FATAL_MESSAGE_REGISTERS) {
    const number = REGISTER_NUMBER[name];
    if (((mask >> BigInt(number)) & 1n) === 0n) continue; // unexposed registers are skipped, not ended on
    let value = registers[number];
    for (let i = 0; i < 8; i++) {
      const byte = Number(value & 0xffn);
      if (byte === 0) return text;
      text +=
        byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
      value >>= 8n;
    }
  }
  return text;
}

/**
 * Decodes a KVM_SYSTEM_EVENT_TDX_FATAL exit; returns undefined for any other exit, throws
 * when the event is TDX_FATAL but its ndata is not the 16 KVM always sends.
 */
export function decodeTdxFatalError(exit: RunExit): TdxFatalError | undefined {
  if (!isTdxFatalExit(exit)) return undefined;
  if (exit.ndata !== 16) {
    throw new RangeError(`KVM_SYSTEM_EVENT_TDX_FATAL: ndata is ${exit.ndata}, KVM always sends the 16 GPRs`);
  }
  const registers = exit.data;
  const errorCode = registers[REGISTER_NUMBER.R12];
  return {
    errorCode,
    errorCodeLow: Number(errorCode & 0xffff_ffffn),
    extendedErrorCode: Number((errorCode >> 32n) & 0x7fff_ffffn),
    gpaValid: (errorCode & TDX_FATAL_ERROR_GPA_VALID) !== 0n,
    data: registers[REGISTER_NUMBER.R13],
    registerMask: registers[REGISTER_NUMBER.RCX],
    message: decodeMessage(registers, registers[REGISTER_NUMBER.RCX]),
    registers,
  };
}

/** "Guest reported error. error code: <dec> (<hex>)" as TDX_TEST_CHECK_GUEST_FAILURE prints it, plus data and message. */
export function describeTdxFatalError(fatal: TdxFatalError): string {
  const message = fatal.message ? `, message "${fatal.message}"` : "";
  return `Guest reported error. error code: ${fatal.errorCode} (${hex(fatal.errorCode, 16)}), data ${hex(fatal.data)}${fatal.gpaValid ? " (GPA valid)" : ""}${message}`;
}
