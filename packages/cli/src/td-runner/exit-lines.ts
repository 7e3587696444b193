// One line per exit for `tdxsim run`: what the guest said, decoded the way the selftests' host
// side reads it (tdx_test_success, tdx_test_report_to_user_space, tdx_test_report_64bit_to_user_space,
// ReportFatalError's SYSTEM_EVENT).
import {
  decodeTdxFatalError,
  type IoExit,
  KVM_EXIT_IO_IN,
  type RunExit,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_REPORT_SIZE,
  TDX_TEST_SUCCESS_PORT,
  TDX_TEST_SUCCESS_SIZE,
} from "@tdxsim/tdx-lib";
import { portName } from "./test-ports.js";

/** Little-endian value of up to 8 bytes. */
export function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  return value;
}

export function hex(value: number | bigint, digits = 0): string {
  return `0x${value.toString(16).padStart(digits, "0")}`;
}

export function isSuccessReport(exit: RunExit): boolean {
  return (
    exit.kind === "io" &&
    exit.port === TDX_TEST_SUCCESS_PORT &&
    exit.size === TDX_TEST_SUCCESS_SIZE &&
    exit.direction !== KVM_EXIT_IO_IN &&
    exit.count === 1
  );
}

export function isValueReport(exit: RunExit): boolean {
  return (
    exit.kind === "io" &&
    exit.port === TDX_TEST_REPORT_PORT &&
    exit.size === TDX_TEST_REPORT_SIZE &&
    exit.direction !== KVM_EXIT_IO_IN &&
    exit.count === 1
  );
}

/**
 * The reports of one vCPU. A 64-bit value travels as two 4-byte reports, low half first
 * (tdx_test_report_64bit_to_user_space); the port cannot tell a pair from two 32-bit values, so
 * every report after the first also shows itself with the one before read as one 64-bit value —
 * whichever reports were pairs, their 64-bit value is on the line of the high half.
 */
export class ReportDecoder {
  private count = 0;
  private previous = 0;

  line(value: number): string {
    this.count++;
    const text = `report #${this.count}: ${hex(value, 8)} (${value})`;
    const low = this.previous;
    this.previous = value;
    if (this.count === 1) return text;
    const pair = (BigInt(value) << 32n) | BigInt(low);
    return `${text}; with #${this.count - 1} as a 64-bit value (low half first): ${hex(pair, 16)}`;
  }
}

/** The decoded meaning of a fatal-error system event, or undefined for another exit. */
export function fatalErrorLine(exit: RunExit): string | undefined {
  const fatal = decodeTdxFatalError(exit);
  if (!fatal) return undefined;
  const data = fatal.gpaValid ? `, data GPA ${hex(fatal.data)}` : "";
  const message = fatal.message ? `, message "${fatal.message}"` : "";
  return `fatal error ${hex(fatal.errorCode, 16)}${data}${message} (TDG.VP.VMCALL<ReportFatalError>)`;
}

export function ioLine(exit: IoExit, answered: bigint | undefined): string {
  const where = `port ${portName(exit.port)}, size ${exit.size}${exit.count > 1 ? `, count ${exit.count}` : ""}`;
  if (exit.direction === KVM_EXIT_IO_IN) return `IN ${where}: answered ${hex(answered ?? 0n)}`;
  return `OUT ${where}: ${hex(littleEndian(exit.data), exit.size * 2)}`;
}
