import { hex } from "../util/hex.js";
import {
  decodeTdxFatalError,
  describeTdxFatalError,
  TDG_VP_VMCALL_REPORT_FATAL_ERROR,
} from "./fatal-error.js";
import {
  exitReasonName,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
} from "./kvm-run-layout.js";
import {
  TDX_TEST_REPORT_PORT,
  TDX_TEST_REPORT_SIZE,
  TDX_TEST_SUCCESS_PORT,
  TDX_TEST_SUCCESS_SIZE,
} from "./ports.js";
import {
  describeExit,
  type IoExit,
  ioDirectionName,
  littleEndian,
  type MmioExit,
  type MsrExit,
  type RunExit,
} from "./run-exit.js";

// Host-side checks of the guest's reports (test_util.h's TDX_TEST_ASSERT_* and friends) as
// pure functions over a decoded exit. Each failure says what was expected and what the
// guest did; a guest that reported a fatal error is named as such, with its error code.

/** A failed expectation about the guest's behaviour. */
export class TdxTestAssertionError extends Error {
  override name = "TdxTestAssertionError";
  readonly expected: string;
  readonly actual: string;

  constructor(check: string, expected: string, actual: string) {
    super(`${check}: expected ${expected}; the guest exited with ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** What the guest did, with a reported fatal error spelled out. */
function actualOf(exit: RunExit): string {
  const fatal = decodeTdxFatalError(exit);
  return fatal ? `${describeExit(exit)} — ${describeTdxFatalError(fatal)}` : describeExit(exit);
}

/** TDX_TEST_ASSERT_IO: exit is KVM_EXIT_IO with this port, size and direction (count and data are not checked). */
export function tdxTestAssertIo(exit: RunExit, port: number, size: number, direction: number): IoExit {
  const expected = `${exitReasonName(KVM_EXIT_IO)} port ${hex(port)}, size ${size}, direction ${ioDirectionName(direction)}`;
  if (exit.kind !== "io" || exit.port !== port || exit.size !== size || exit.direction !== direction) {
    throw new TdxTestAssertionError("TDX_TEST_ASSERT_IO", expected, actualOf(exit));
  }
  return exit;
}

/** TDX_TEST_ASSERT_SUCCESS: the guest called tdx_test_success() (4-byte OUT to port 0x30). */
export function tdxTestAssertSuccess(exit: RunExit): IoExit {
  try {
    return tdxTestAssertIo(exit, TDX_TEST_SUCCESS_PORT, TDX_TEST_SUCCESS_SIZE, KVM_EXIT_IO_OUT);
  } catch (error) {
    if (!(error instanceof TdxTestAssertionError)) throw error;
    throw new TdxTestAssertionError(
      "TDX_TEST_ASSERT_SUCCESS",
      `tdx_test_success(): ${error.expected}`,
      error.actual,
    );
  }
}

/** TDX_TEST_ASSERT_MMIO: exit is KVM_EXIT_MMIO at this GPA, length and direction. */
export function tdxTestAssertMmio(
  exit: RunExit,
  address: number | bigint,
  size: number,
  isWrite: boolean,
): MmioExit {
  const gpa = BigInt(address);
  const expected = `${exitReasonName(KVM_EXIT_MMIO)} phys_addr ${hex(gpa)}, len ${size}, is_write ${isWrite ? 1 : 0}`;
  if (exit.kind !== "mmio" || exit.physAddr !== gpa || exit.len !== size || exit.isWrite !== isWrite) {
    throw new TdxTestAssertionError("TDX_TEST_ASSERT_MMIO", expected, actualOf(exit));
  }
  return exit;
}

/**
 * The guest's RDMSR/WRMSR reached user space (KVM_CAP_X86_USER_SPACE_MSR): exit is
 * KVM_EXIT_X86_WRMSR (write) or KVM_EXIT_X86_RDMSR for this MSR index.
 */
export function tdxTestAssertMsr(exit: RunExit, index: number, write: boolean): MsrExit {
  const expected = `${exitReasonName(write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR)} index ${hex(index)}`;
  if (exit.kind !== "msr" || exit.index !== index || exit.write !== write) {
    throw new TdxTestAssertionError("tdxTestAssertMsr", expected, actualOf(exit));
  }
  return exit;
}

/**
 * Answers a user-space MSR exit before re-entering: msr.error non-zero makes the guest's
 * TDVMCALL fail with INVALID_OPERAND; for RDMSR, msr.data is the value the guest reads.
 */
export function tdxTestAnswerMsr(exit: MsrExit, answer: { error?: boolean; data?: bigint }): void {
  const view = new DataView(exit.answer.buffer, exit.answer.byteOffset, exit.answer.byteLength);
  if (answer.data !== undefined) {
    if (exit.write) throw new RangeError("tdxTestAnswerMsr: a WRMSR exit takes no data, only error");
    view.setBigUint64(exit.answer.byteLength - 8, BigInt.asUintN(64, answer.data), true);
  }
  view.setUint8(0, answer.error ? 1 : 0);
}

/**
 * TDX_TEST_CHECK_GUEST_FAILURE: throws when the guest reported a failure, i.e. the exit is
 * a KVM_EXIT_SYSTEM_EVENT (mainline delivers tdx_test_fatal() as type TDX_FATAL).
 */
export function tdxTestCheckGuestFailure(exit: RunExit): void {
  if (exit.kind !== "system_event") return;
  throw new TdxTestAssertionError("TDX_TEST_CHECK_GUEST_FAILURE", "no guest failure", actualOf(exit));
}

/**
 * verify_report_fatal_error's check, mainline form: KVM_EXIT_SYSTEM_EVENT, type
 * KVM_SYSTEM_EVENT_TDX_FATAL, ndata 16, data[12] = error code (R12), data[13] = data (R13).
 */
export function tdxTestAssertFatal(exit: RunExit, errorCode: bigint, data = 0n): void {
  const expected = `${exitReasonName(KVM_EXIT_SYSTEM_EVENT)} type TDX_FATAL (7) from TDG.VP.VMCALL<ReportFatalError> (${hex(TDG_VP_VMCALL_REPORT_FATAL_ERROR)}) with error code ${hex(errorCode, 16)}, data ${hex(data)}`;
  const fatal = exit.kind === "system_event" && exit.ndata === 16 ? decodeTdxFatalError(exit) : undefined;
  if (!fatal || fatal.errorCode !== errorCode || fatal.data !== data) {
    throw new TdxTestAssertionError("TDX_TEST_ASSERT_FATAL", expected, actualOf(exit));
  }
}

/** One tdx_test_report_to_user_space() value: a 4-byte OUT on `port` (0x31 by default); returns the u32. */
export function tdxTestReadReport(exit: RunExit, port = TDX_TEST_REPORT_PORT): number {
  const io = tdxTestAssertIo(exit, port, TDX_TEST_REPORT_SIZE, KVM_EXIT_IO_OUT);
  return Number(littleEndian(io.data.subarray(0, TDX_TEST_REPORT_SIZE)));
}

/**
 * tdx_test_read_64bit's combination step: the guest sends a 64-bit value as two 4-byte
 * writes, low half first. `low` and `high` are the two values tdxTestReadReport returned,
 * read before and after re-entering the vCPU.
 */
export function tdxTestJoin64bit(low: number, high: number): bigint {
  for (const [name, half] of [
    ["low", low],
    ["high", high],
  ] as const) {
    if (!Number.isInteger(half) || half < 0 || half > 0xffff_ffff) {
      throw new RangeError(`tdxTestJoin64bit: ${name} half ${half} is not a 32-bit value`);
    }
  }
  return (BigInt(high) << 32n) | BigInt(low);
}

/**
 * Answers an IN exit (the guest's Instruction.IO read): writes `value` into the PIO data
 * area, as the host does at run + io.data_offset before re-entering KVM_RUN.
 */
export function tdxTestSetIoInData(exit: IoExit, value: number): void {
  if (exit.direction !== KVM_EXIT_IO_IN) {
    throw new TdxTestAssertionError("tdxTestSetIoInData", "an IN exit to answer", describeExit(exit));
  }
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * exit.size)) {
    throw new RangeError(`tdxTestSetIoInData: ${value} does not fit in ${exit.size} byte(s)`);
  }
  let rest = value;
  for (let i = 0; i < exit.size; i++) {
    exit.data[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/**
 * tdx_test_read_64bit(): `first` is the exit with the low half. Reads it before re-entering
 * (the PIO data area is reused by the next exit), runs the vCPU once more with `runAgain`
 * (a plain vcpu_run, no guest-failure check, as upstream), reads the high half from the
 * same port and returns (high << 32) | low.
 */
export function tdxTestRead64bit(first: RunExit, port: number, runAgain: () => RunExit): bigint {
  const low = tdxTestReadReport(first, port);
  const high = tdxTestReadReport(runAgain(), port);
  return tdxTestJoin64bit(low, high);
}

/** tdx_test_read_64bit_report_from_guest(): the same on TDX_TEST_REPORT_PORT (0x31). */
export function tdxTestRead64bitReportFromGuest(first: RunExit, runAgain: () => RunExit): bigint {
  return tdxTestRead64bit(first, TDX_TEST_REPORT_PORT, runAgain);
}
