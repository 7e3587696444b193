// Beyond the series, group 5 (patch 27 and Zide Chen's review of it): an access whose kind
// disagrees with the page's memory attribute makes KVM_RUN fail with -1/EFAULT and
// exit_reason KVM_EXIT_MEMORY_FAULT — the one exit delivered with an error — so tests that expect
// it use the raw KVM_RUN and read kvm_run themselves. Two TDs:
// - a store through a shared-bit alias of a private page → memory_fault {gpa, 4096, flags 0};
// - a load through a private alias of a shared page → flags KVM_MEMORY_EXIT_FLAG_PRIVATE.
// memory_fault.gpa is the page without the shared bit. (What follows — the host converting the
// page and the guest going on — is the UPM tests' part.)
import { KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_RUN, KvmExit } from "@tdxsim/kvm";
import {
  addrGva2Gpa,
  decodeRunExit,
  GuestProgram,
  type TdVm,
  virtMap,
  virtMapShared,
  vmVaddrAlloc,
  vmVaddrAllocShared,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const EFAULT = 14;
/** A GVA no library mapping uses, for the second mapping of the page. */
const ALIAS_GVA = 0x3000_0000;
const PAGE_SIZE = 4096n;

/** The raw KVM_RUN (the selftests' _vcpu_run): -1/EFAULT and the memory_fault fields. */
function expectMemoryFault(td: TdVm, gpa: number, flags: bigint, what: string): void {
  const vcpu = td.vcpus[0]!.vcpu;
  td.process.errno = 0;
  testAssertEq(td.process.ioctl(vcpu.fd, KVM_RUN, 0), -1, `${what}: KVM_RUN return value`);
  testAssertEq(td.process.errno, EFAULT, `${what}: KVM_RUN errno (EFAULT = 14)`);
  const exit = decodeRunExit(vcpu.run.bytes);
  testAssertEq(exit.reason, KvmExit.MEMORY_FAULT, `${what}: exit_reason (KVM_EXIT_MEMORY_FAULT)`);
  testAssert(exit.kind === "memory_fault", `${what}: not a memory_fault exit`);
  if (exit.kind !== "memory_fault") return;
  testAssertEq(exit.gpa, gpa, `${what}: memory_fault.gpa`);
  testAssertEq(exit.size, PAGE_SIZE, `${what}: memory_fault.size`);
  testAssertEq(exit.flags, flags, `${what}: memory_fault.flags`);
}

export const verifyMemoryFaultExit: TdxVmTestCase = {
  name: "verify_memory_fault_exit",
  run() {
    const storeGuest = new GuestProgram().fn("guest_shared_store", (f) => {
      f.store(4, ALIAS_GVA, 0xcafe_cafe);
      f.call("tdx_test_success");
    });
    let privateGpa = 0;
    const { td: sharedAccess } = bootTd(storeGuest, {
      entries: ["guest_shared_store"],
      beforeFinalize: (t) => {
        privateGpa = addrGva2Gpa(t, vmVaddrAlloc(t, 4096));
        virtMapShared(t, ALIAS_GVA, privateGpa, 1);
      },
    });
    expectMemoryFault(sharedAccess, privateGpa, 0n, "shared store to a private page");

    const loadGuest = new GuestProgram().fn("guest_private_load", (f) => {
      f.call("tdx_test_report_to_user_space", f.load(4, ALIAS_GVA));
      f.call("tdx_test_success");
    });
    let sharedGpa = 0;
    const { td: privateAccess } = bootTd(loadGuest, {
      entries: ["guest_private_load"],
      beforeFinalize: (t) => {
        sharedGpa = addrGva2Gpa(t, vmVaddrAllocShared(t, 4096));
        virtMap(t, ALIAS_GVA, sharedGpa, 1);
      },
    });
    expectMemoryFault(
      privateAccess,
      sharedGpa,
      KVM_MEMORY_EXIT_FLAG_PRIVATE,
      "private load from a shared page",
    );
  },
};
