// tdVcpuRun, tdxRun, the assertion helpers and the MapGPA conversion loop against real KVM_RUN
// exits: builder guests run by kvm's x86 executor.
import { describe, expect, it } from "vitest";
import {
  bootTd,
  GuestProgram,
  TD_TEST_MEMORY_SIZE,
  TdxTestAssertionError,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertSuccess,
  vcpuRunAndManageMemoryConversions,
} from "../../src/index.js";

/** The last two pages of memslot 0: never allocated by the layout in these tests. */
const SPARE_GPA = TD_TEST_MEMORY_SIZE - 0x2000;
const SHARED_BIT = 1n << 47n;

function runnableTd(program: GuestProgram) {
  return bootTd(program).td;
}

describe("host half: running", () => {
  it("tdxRun + TDX_TEST_ASSERT_SUCCESS on KVM_EXIT_IO; a ReportFatalError fails tdxRun with the code", () => {
    const td = runnableTd(
      new GuestProgram().fn("guest_code", (f) => {
        f.call("tdx_test_success");
        f.call("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
        f.call("tdx_test_fatal", 0x0baa_aaad_0000_0000n);
        f.call("tdx_test_success");
      }),
    );
    tdxTestAssertSuccess(tdxRun(td));
    expect(() => tdxRun(td)).toThrow(TdxTestAssertionError);
    tdxTestAssertFatal(tdVcpuRun(td), 0x0baa_aaad_0000_0000n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("vcpu_run_and_manage_memory_conversions: the guest's MapGPA to shared is converted, then success", () => {
    const td = runnableTd(
      new GuestProgram().fn("guest_code", (f) => {
        const failed = f.local(0);
        const ret = f.call("tdg_vp_vmcall_map_gpa", SHARED_BIT | BigInt(SPARE_GPA), 0x2000, f.addrOf(failed));
        f.if(ret, () => f.call("tdx_test_fatal", ret));
        f.call("tdx_test_success");
      }),
    );
    expect(td.vm.memory.attributes.isPrivate(SPARE_GPA)).toBe(true);
    tdxTestAssertSuccess(vcpuRunAndManageMemoryConversions(td));
    expect(td.vm.memory.attributes.isPrivate(SPARE_GPA)).toBe(false);
    expect(td.vm.memory.attributes.isPrivate(SPARE_GPA + 0x1000)).toBe(false);
  });
});
