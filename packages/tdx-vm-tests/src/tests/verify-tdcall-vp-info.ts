// Patch 21: TDG.VP.INFO on two vCPUs. Each reports RCX, RDX, R8, R9, R10, R11 as 64-bit reports.
// Following mainline 6.16 (spec table): the TD asks for the v5 attributes (SEPT_VE_DISABLE | PKS)
// restricted to what KVM_TDX_CAPABILITIES reports as supported (6.16: SEPT_VE_DISABLE only), and
// MAX_VCPUS is expected to be KVM_CAP_MAX_VCPUS of the VM (Yan Zhao), not a hard-coded 512.
import { KvmCap } from "@tdxsim/kvm";
import {
  GuestProgram,
  hostTdxCapabilities,
  TDX_TD_ATTRIBUTES,
  tdTestSupportedCpuid,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const VCPUS = 2;

/**
 * The GPAW KVM 6.16 configures: the guest physical address width of CPUID 0x80000008 EAX[23:16]
 * (EAX[7:0] when that is 0) as passed to KVM_TDX_INIT_VM, which selects GPAW 48 or 52.
 */
function expectedGpaw(): number {
  const entry = tdTestSupportedCpuid().find((e) => e.function === 0x8000_0008 && e.index === 0);
  testAssert(entry !== undefined, "CPUID entry 0x80000008 missing");
  const guestPhysBits = (entry!.eax >>> 16) & 0xff;
  return guestPhysBits !== 0 ? guestPhysBits : entry!.eax & 0xff;
}

export const verifyTdcallVpInfo: TdxVmTestCase = {
  name: "verify_tdcall_vp_info",
  run() {
    const guest = new GuestProgram().fn("guest_tdcall_vp_info", (f) => {
      const out = [0, 1, 2, 3, 4, 5].map(() => f.local(0));
      const ret = f.call("tdg_vp_info", ...out.map((o) => f.addrOf(o)));
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      for (const o of out) f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", o));
      f.call("tdx_test_success");
    });
    const attributes =
      (TDX_TD_ATTRIBUTES.SEPT_VE_DISABLE | TDX_TD_ATTRIBUTES.PKS) & hostTdxCapabilities().supportedAttrs;
    const { td } = bootTd(guest, {
      entries: Array.from({ length: VCPUS }, () => "guest_tdcall_vp_info"),
      attributes,
      maxVcpus: VCPUS,
    });
    const maxVcpus = td.vm.checkExtension(KvmCap.MAX_VCPUS);
    const gpaw = expectedGpaw();

    for (let i = 0; i < VCPUS; i++) {
      const [rcx, rdx, r8, r9, r10, r11] = [0, 1, 2, 3, 4, 5].map(() =>
        tdxTestRead64bitReportFromGuest(tdxRun(td, i), () => tdxRun(td, i)),
      ) as [bigint, bigint, bigint, bigint, bigint, bigint];
      const who = `vCPU ${i}`;
      testAssertEq(rcx & 0x3fn, gpaw, `${who} RCX[5:0] GPAW`);
      testAssertEq(rcx >> 6n, 0, `${who} RCX[63:6] reserved`);
      testAssertEq(rdx, attributes, `${who} RDX TD attributes`);
      testAssertEq(r8 & 0xffff_ffffn, VCPUS, `${who} R8[31:0] NUM_VCPUS`);
      testAssertEq(r8 >> 32n, maxVcpus, `${who} R8[63:32] MAX_VCPUS (KVM_CAP_MAX_VCPUS)`);
      testAssertEq(r9, i, `${who} R9 VCPU_INDEX`);
      testAssertEq(r10 & ~1n, 0, `${who} R10 reserved bits (bit 0 SYS_RD may be set)`);
      testAssertEq(r11, 0, `${who} R11 reserved`);
      tdxTestAssertSuccess(tdxRun(td, i));
    }
  },
};
