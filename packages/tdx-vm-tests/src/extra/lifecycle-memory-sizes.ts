// Beyond the series, group 6 (Chen Yu on patch 08): the lifecycle test with a configurable
// memory size. Memslot 0 of 64 MiB and of 1 GiB; the guest reaches tdx_test_success either way.
import { GuestProgram, tdVcpuRun, tdxTestAssertSuccess } from "@tdxsim/tdx-lib";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

function lifecycleWithMemory(label: string, memorySize: number): TdxVmTestCase {
  return {
    name: `verify_td_lifecycle_${label}`,
    run() {
      const guest = new GuestProgram().fn("guest_code_lifecycle", (f) => {
        f.call("tdx_test_success");
      });
      const { td } = bootTd(guest, { entries: ["guest_code_lifecycle"], memorySize });
      tdxTestAssertSuccess(tdVcpuRun(td));
    },
  };
}

export const verifyTdLifecycle64MiB = lifecycleWithMemory("64mib", 64 << 20);
export const verifyTdLifecycle1GiB = lifecycleWithMemory("1gib", 1 << 30);
