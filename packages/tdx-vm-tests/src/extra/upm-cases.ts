// Beyond the series, group 5 (review of patches 23, 27 and 28), each its own test on the UPM test
// area (src/tests/upm-test-area.ts):
// - verify_upm_ve_unaligned_gpa (Yan Zhao on 28): after a page goes private → shared → private, the
//   guest's first touch is a 1-byte read at page offset 1; the #VE reports that exact GPA and the
//   handler must align it down for TDG.MEM.PAGE.ACCEPT, which then succeeds (the byte reads 0).
// - verify_upm_guest_failure_in_conversion_loop (Yan Zhao on 23/28): a fatal error the guest
//   reports while the host is in its conversion loop fails the test there, with the guest's code.
// - verify_memory_fault_raw_run (Zide Chen on 27): a shared access to a private page makes the raw
//   KVM_RUN return -1 with errno EFAULT and exit_reason KVM_EXIT_MEMORY_FAULT (flags 0: a shared
//   access; the page's GPA without the shared bit; 4 KiB), as 6.16 reports it; after the host
//   converts the page, the same access completes.
import { KVM_RUN, KvmExit } from "@tdxsim/kvm";
import { GuestProgram, type TdVm, tdxTestAssertSuccess, tdxTestReadReport } from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import {
  addUpmGuestHelpers,
  FOCUS_AREA_OFFSET,
  PAGE_SIZE,
  runAndManageMemoryConversions,
  setUpUpmArea,
  TDX_UPM_TEST_AREA_GPA,
  TDX_UPM_TEST_AREA_GVA_PRIVATE,
  TDX_UPM_TEST_AREA_GVA_SHARED,
  TEST_AREA_GPA_SHARED,
  upmRun,
} from "../tests/upm-test-area.js";

const FOCUS_GPA = TDX_UPM_TEST_AREA_GPA + FOCUS_AREA_OFFSET;

function bootUpm(program: GuestProgram, entry: string): TdVm {
  return bootTd(program, {
    entries: [entry],
    beforeFinalize: (t, image) => {
      setUpUpmArea(t, image);
    },
  }).td;
}

export const verifyUpmVeUnalignedGpa: TdxVmTestCase = {
  name: "verify_upm_ve_unaligned_gpa",
  run() {
    const guest = addUpmGuestHelpers(new GuestProgram()).fn("guest_ve_unaligned", (f) => {
      const failedGpa = f.local(0);
      let ret = f.call(
        "tdg_vp_vmcall_map_gpa",
        TEST_AREA_GPA_SHARED + BigInt(FOCUS_AREA_OFFSET),
        PAGE_SIZE,
        f.addrOf(failedGpa),
      );
      f.call("tdx_assert_error", ret);
      ret = f.call("tdg_vp_vmcall_map_gpa", FOCUS_GPA, PAGE_SIZE, f.addrOf(failedGpa));
      f.call("tdx_assert_error", ret);
      const byte = f.load(1, TDX_UPM_TEST_AREA_GVA_PRIVATE + FOCUS_AREA_OFFSET + 1);
      f.call("tdx_assert_error", f.call("tdx_test_report_to_user_space", byte));
      f.call("tdx_test_success");
    });
    const td = bootUpm(guest, "guest_ve_unaligned");
    const accepted: bigint[] = [];
    const exit = runAndManageMemoryConversions(td, false, accepted);
    testAssertEq(tdxTestReadReport(exit), 0, "byte read from the re-accepted page");
    testAssertEq(accepted.length, 1, "#VEs the handler took");
    testAssertEq(accepted[0]!, FOCUS_GPA + 1, "GPA the #VE reported (unaligned)");
    tdxTestAssertSuccess(upmRun(td));
  },
};

const GUEST_FAILURE_CODE = 0x2b;

export const verifyUpmGuestFailureInConversionLoop: TdxVmTestCase = {
  name: "verify_upm_guest_failure_in_conversion_loop",
  run() {
    const guest = addUpmGuestHelpers(new GuestProgram()).fn("guest_fails_mid_conversion", (f) => {
      const failedGpa = f.local(0);
      const ret = f.call(
        "tdg_vp_vmcall_map_gpa",
        TEST_AREA_GPA_SHARED + BigInt(FOCUS_AREA_OFFSET),
        PAGE_SIZE,
        f.addrOf(failedGpa),
      );
      f.call("tdx_assert_error", ret);
      f.call("tdx_test_fatal", GUEST_FAILURE_CODE);
      f.call("tdx_test_success");
    });
    const td = bootUpm(guest, "guest_fails_mid_conversion");
    let failure: unknown;
    try {
      runAndManageMemoryConversions(td, false, []);
    } catch (e) {
      failure = e;
    }
    testAssert(
      failure instanceof Error,
      "the conversion loop returned instead of failing on the guest's report",
    );
    const message = (failure as Error).message;
    testAssert(
      message.includes(`0x${GUEST_FAILURE_CODE.toString(16)}`) ||
        message.includes(String(GUEST_FAILURE_CODE)),
      `the failure does not name the guest's error code 0x${GUEST_FAILURE_CODE.toString(16)}: ${message}`,
    );
  },
};

const SHARED_STORE_VALUE = 0x5a5a_5a5a;

export const verifyMemoryFaultRawRun: TdxVmTestCase = {
  name: "verify_memory_fault_raw_run",
  run() {
    const guest = addUpmGuestHelpers(new GuestProgram()).fn("guest_shared_access_to_private", (f) => {
      f.store(4, TDX_UPM_TEST_AREA_GVA_SHARED + FOCUS_AREA_OFFSET, SHARED_STORE_VALUE);
      f.call("tdx_test_success");
    });
    const td = bootUpm(guest, "guest_shared_access_to_private");
    const vcpu = td.vcpus[0]!.vcpu;

    // _vcpu_run(): the raw ioctl, whose -1/EFAULT the strict vcpu_run would assert on
    let ret: number;
    do {
      ret = td.process.ioctl(vcpu.fd, KVM_RUN, 0);
    } while (ret === -1 && vcpu.run.exitReason === KvmExit.INTR);
    testAssertEq(ret, -1, "KVM_RUN return value");
    const error = td.process.lastError;
    testAssert(error?.code === "EFAULT", `KVM_RUN errno: ${error?.code ?? "none"}, expected EFAULT`);
    testAssertEq(td.process.errno, error!.errno, "errno");
    testAssertEq(vcpu.run.exitReason, KvmExit.MEMORY_FAULT, "exit_reason (KVM_EXIT_MEMORY_FAULT)");
    const fault = vcpu.run.memoryFault;
    testAssertEq(fault.flags, 0, "memory_fault.flags (shared access)");
    testAssertEq(fault.gpa, FOCUS_GPA, "memory_fault.gpa");
    testAssertEq(fault.size, PAGE_SIZE, "memory_fault.size");

    td.vm.setMemoryAttributes({ address: fault.gpa, size: fault.size, attributes: 0n });
    tdxTestAssertSuccess(upmRun(td));
    const view = new DataView(td.readStaging(FOCUS_GPA, 4, "memory fault test").buffer);
    testAssertEq(view.getUint32(0, true), SHARED_STORE_VALUE, "the store, now in shared memory");
  },
};
