// Patch 20: the host's view of TD private memory (the memslot's userspace mapping, what
// addr_gva2hva gives) never shows what the guest stores there: two host reads, before and after
// the guest changes the value, are identical.
//
// Difference in mechanics, not in intent: upstream allocates the page with vm_vaddr_alloc_page
// and passes its GVA through a synced global; tdx-lib's guest builder has no data globals, so
// the guest uses a private stack slot and sends its GVA as a 64-bit report before the 0x53 sync.
import {
  addrGva2Gpa,
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_HOST_READ_PRIVATE_MEM_PORT_TEST,
  tdxRun,
  tdxTestAssertIo,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

function readU64(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

export const verifyHostReadingPrivateMem: TdxVmTestCase = {
  name: "verify_host_reading_private_mem",
  run() {
    const guest = new GuestProgram().fn("guest_host_read_priv_mem", (f) => {
      const value = f.local(0);
      f.store(4, f.addrOf(value), 0xabcd);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.addrOf(value)));
      const placeholder = f.local(0);
      const ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        TDX_HOST_READ_PRIVATE_MEM_PORT_TEST,
        4,
        TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
        f.addrOf(placeholder),
      );
      f.if(ret, () => f.call("tdx_test_fatal", ret));
      f.store(4, f.addrOf(value), 0xfedc);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(guest, { entries: ["guest_host_read_priv_mem"] });
    const gva = tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
    testAssert(gva < 1n << 32n, `the private variable's GVA 0x${gva.toString(16)} does not fit in 32 bits`);
    const gpa = addrGva2Gpa(td, Number(gva));

    tdxTestAssertIo(tdxRun(td), TDX_HOST_READ_PRIVATE_MEM_PORT_TEST, 4, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    // The guest's variable holds 0xABCD now; the host reads its own mapping of that GPA.
    const firstRead = readU64(td.readStaging(gpa, 8, "verify_host_reading_private_mem"));
    tdxTestAssertSuccess(tdxRun(td)); // the guest has stored 0xFEDC
    const secondRead = readU64(td.readStaging(gpa, 8, "verify_host_reading_private_mem"));
    testAssertEq(secondRead, firstRead, "host read of private memory (must be a fixed pattern)");
  },
};
