// Test-only shorthands over the library's TD fixture (src/host/td-fixture.ts: bootTd, buildTd,
// tdTestProcess, ...): a one-function guest, a raw-image TD for the ELF tests, a 64-bit report.
import {
  bootTd,
  type GuestFunctionBody,
  GuestProgram,
  TD_TEST_MEMORY_SIZE,
  type TdBootOptions,
  type TdInitializeOptions,
  type TdVm,
  tdCreate,
  tdInitialize,
  tdTestProcess,
  tdVcpuAdd,
  tdxRun,
  tdxTestRead64bitReportFromGuest,
} from "../../src/index.js";

/**
 * td_create, td_initialize with `image` (builder image, ELF chunks, or both) and td_vcpu_add of
 * vCPU 0 at `entry`; not finalized.
 */
export function initializeTd(
  image: Pick<TdInitializeOptions, "image" | "idtEntries">,
  entry: number | bigint,
  memorySize = TD_TEST_MEMORY_SIZE,
): TdVm {
  const td = tdCreate({ process: tdTestProcess() });
  tdInitialize(td, { ...image, memorySize });
  tdVcpuAdd(td, 0, entry);
  return td;
}

/** A finalized TD whose only test function is `guest_code` with this body. */
export function bootGuest(body: GuestFunctionBody, options: Omit<TdBootOptions, "entries"> = {}): TdVm {
  return bootTd(new GuestProgram().fn("guest_code", body), options).td;
}

/** tdx_test_read_64bit_report_from_guest through tdx_run. */
export function read64(td: TdVm): bigint {
  return tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
}
