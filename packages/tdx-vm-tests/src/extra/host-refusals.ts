// Beyond the series, group 12: ioctls KVM 6.16 refuses on a TD, each with its errno
// (spec/kvm-api.md): KVM_TDX_INIT_VM with an unsupported attribute (PKS) or XFAM bit → EINVAL;
// KVM_RUN before KVM_TDX_FINALIZE_VM → EINVAL; KVM_TDX_INIT_MEM_REGION after finalize → EINVAL.
import { type KvmCpuidEntry2, KvmError } from "@tdxsim/kvm";
import {
  assembleGuestImage,
  GUEST_IMAGE_GVA,
  GuestProgram,
  hostTdxCapabilities,
  TD_TEST_MEMORY_SIZE,
  TDX_TD_ATTRIBUTES,
  tdCreate,
  tdInitialize,
  tdTestSupportedCpuid,
  tdVcpuAdd,
  tdxApplyCpuidRestrictions,
  tdxFilterCpuid,
} from "@tdxsim/tdx-lib";
import { testAssert } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { newTdProcess } from "../td-host.js";
import { bootTd } from "../td-setup.js";

/** Runs `ioctl` and asserts it fails with KvmError `errno`. */
function expectErrno(errno: string, what: string, ioctl: () => unknown): void {
  try {
    ioctl();
  } catch (error) {
    testAssert(error instanceof KvmError, `${what}: expected a KvmError ${errno}, got ${String(error)}`);
    testAssert(
      (error as KvmError).code === errno,
      `${what}: expected ${errno}, got ${(error as KvmError).message}`,
    );
    return;
  }
  throw new Error(`${what}: succeeded, expected ${errno}`);
}

function lifecycleGuest(): GuestProgram {
  return new GuestProgram().fn("guest_code", (f) => {
    f.call("tdx_test_success");
  });
}

/** The CPUID a VMM passes to KVM_TDX_INIT_VM: the supported CPUID filtered and restricted as td_initialize does. */
function initVmCpuid(): KvmCpuidEntry2[] {
  return tdxApplyCpuidRestrictions(
    tdxFilterCpuid(tdTestSupportedCpuid(), hostTdxCapabilities().cpuid),
  ) as KvmCpuidEntry2[];
}

/** A created (not yet initialized) TD in a fresh VMM process. */
const newTd = () => tdCreate({ process: newTdProcess() });

export const verifyInitVmUnsupportedAttributes: TdxVmTestCase = {
  name: "verify_init_vm_unsupported_attributes",
  run() {
    testAssert(
      (hostTdxCapabilities().supportedAttrs & TDX_TD_ATTRIBUTES.PKS) === 0n,
      "KVM_TDX_CAPABILITIES reports PKS as supported; 6.16 does not",
    );
    const cpuid = initVmCpuid();
    expectErrno("EINVAL", "KVM_TDX_INIT_VM with ATTRIBUTES.PKS", () =>
      newTd().vm.tdxInitVm({ attributes: TDX_TD_ATTRIBUTES.PKS, xfam: 0x3n, cpuid }),
    );
    // Control: the same call without PKS succeeds, so the refusal above was the attribute.
    newTd().vm.tdxInitVm({ attributes: 0n, xfam: 0x3n, cpuid });
  },
};

export const verifyInitVmUnsupportedXfam: TdxVmTestCase = {
  name: "verify_init_vm_unsupported_xfam",
  run() {
    const caps = hostTdxCapabilities();
    const cpuid = initVmCpuid();
    let unsupported = 1n;
    while (unsupported !== 1n << 63n && (caps.supportedXfam & unsupported) !== 0n) unsupported <<= 1n;
    testAssert((caps.supportedXfam & unsupported) === 0n, "every XFAM bit is supported");
    expectErrno("EINVAL", `KVM_TDX_INIT_VM with XFAM bit 0x${unsupported.toString(16)}`, () =>
      newTd().vm.tdxInitVm({ attributes: 0n, xfam: 0x3n | unsupported, cpuid }),
    );
    // Control: x87 | SSE alone is accepted.
    newTd().vm.tdxInitVm({ attributes: 0n, xfam: 0x3n, cpuid });
  },
};

export const verifyRunBeforeFinalize: TdxVmTestCase = {
  name: "verify_run_before_finalize",
  run() {
    const image = assembleGuestImage({ origin: GUEST_IMAGE_GVA, program: lifecycleGuest() });
    const td = tdCreate({ process: newTdProcess() });
    tdInitialize(td, { image: image.chunks, idtEntries: image.idtEntries, memorySize: TD_TEST_MEMORY_SIZE });
    tdVcpuAdd(td, 0, image.symbol("guest_code"));
    expectErrno("EINVAL", "KVM_RUN before KVM_TDX_FINALIZE_VM", () => td.vcpus[0]!.vcpu.kvmRun());
  },
};

export const verifyInitMemRegionAfterFinalize: TdxVmTestCase = {
  name: "verify_init_mem_region_after_finalize",
  run() {
    const { td } = bootTd(lifecycleGuest(), { entries: ["guest_code"] });
    const spare = TD_TEST_MEMORY_SIZE - 0x1000;
    expectErrno("EINVAL", "KVM_TDX_INIT_MEM_REGION after finalize", () =>
      td.vcpus[0]!.vcpu.tdxInitMemRegion({ gpa: spare, source: new Uint8Array(4096), measure: true }),
    );
  },
};
