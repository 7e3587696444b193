// What the selftest library's ports mean (tdx-lib's reporting protocol), for `tdxsim run`'s lines.
import {
  TDX_HOST_READ_PRIVATE_MEM_PORT_TEST,
  TDX_IO_READS_TEST_PORT,
  TDX_IO_WRITES_TEST_PORT,
  TDX_IOEXIT_TEST_PORT,
  TDX_SHARED_MEM_TEST_INFO_PORT,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_SUCCESS_PORT,
} from "@tdxsim/tdx-lib";

/** Upstream names of the test ports (tdx_vm_tests.c, tdx_shared_mem_test.c, tdx_upm_test.c). */
export const TEST_PORT_NAMES: ReadonlyMap<number, string> = new Map([
  [TDX_TEST_SUCCESS_PORT, "TDX_TEST_SUCCESS_PORT"],
  [TDX_TEST_REPORT_PORT, "TDX_TEST_REPORT_PORT"],
  [TDX_IOEXIT_TEST_PORT, "TDX_IOEXIT_TEST_PORT"],
  [TDX_IO_WRITES_TEST_PORT, "TDX_IO_WRITES_TEST_PORT"],
  [TDX_IO_READS_TEST_PORT, "TDX_IO_READS_TEST_PORT"],
  [TDX_HOST_READ_PRIVATE_MEM_PORT_TEST, "TDX_HOST_READ_PRIVATE_MEM_PORT_TEST"],
  [TDX_SHARED_MEM_TEST_INFO_PORT, "TDX_SHARED_MEM_TEST_INFO_PORT"],
]);

export function portName(port: number): string {
  const hex = `0x${port.toString(16)}`;
  const name = TEST_PORT_NAMES.get(port);
  return name ? `${hex} (${name})` : hex;
}
