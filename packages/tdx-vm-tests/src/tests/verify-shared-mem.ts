// Patch 23: memory shared between host and guest. A private page (GVA 0x80000000) gets a second
// guest mapping at GVA 0xC0000000 with the shared bit (virt_map_shared). The guest converts it
// with MapGPA — in 6.16 a KVM_EXIT_HYPERCALL (KVM_HC_MAP_GPA_RANGE) the host answers with
// KVM_SET_MEMORY_ATTRIBUTES — writes 0xcafecafe through the shared alias, which the host reads
// at the page's HVA; the host writes 0xabcdabcd there and the guest echoes what it reads.
// Guest failure is checked after every run (Yan Zhao).
//
// Mechanics: the shared GPA is known only after vm_vaddr_alloc; upstream syncs it in a global,
// tdx-lib's builder has no data globals, so the guest reads it from the host with two 4-byte
// Instruction.IO reads on port 0x87 (low half first).
import {
  addrGva2Gpa,
  GuestProgram,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_SHARED_MEM_TEST_INFO_PORT,
  tdxTestAssertIo,
  tdxTestCheckGuestFailure,
  tdxTestSetIoInData,
  vcpuRunAndManageMemoryConversions,
  virtMapShared,
  vmVaddrAlloc,
} from "@tdxsim/tdx-lib";
import { testAssertEq } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";

const PRIVATE_GVA = 0x8000_0000;
const SHARED_GVA = 0xc000_0000;
const GUEST_WRITE_VALUE = 0xcafe_cafe;
const HOST_WRITE_VALUE = 0xabcd_abcd;
const PORT = TDX_SHARED_MEM_TEST_INFO_PORT;

export const verifySharedMem: TdxVmTestCase = {
  name: "verify_shared_mem",
  run() {
    const guest = new GuestProgram().fn("guest_shared_mem", (f) => {
      const low = f.local(0);
      const high = f.local(0);
      for (const half of [low, high]) {
        const ret = f.call(
          "tdg_vp_vmcall_instruction_io",
          PORT,
          4,
          TDG_VP_VMCALL_INSTRUCTION_IO_READ,
          f.addrOf(half),
        );
        f.if(ret, () => f.call("tdx_test_fatal", ret));
      }
      const sharedGpa = f.or(f.shl(high, 32), low);
      const placeholder = f.local(0);
      let ret = f.call("tdg_vp_vmcall_map_gpa", sharedGpa, 4096, f.addrOf(placeholder));
      f.if(ret, () => f.call("tdx_test_fatal_with_data", ret, 1));
      f.store(4, SHARED_GVA, GUEST_WRITE_VALUE);
      ret = f.call(
        "tdg_vp_vmcall_instruction_io",
        PORT,
        4,
        TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
        f.addrOf(placeholder),
      );
      f.if(ret, () => f.call("tdx_test_fatal_with_data", ret, 2));
      ret = f.call("tdg_vp_vmcall_instruction_io", PORT, 4, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE, SHARED_GVA);
      f.if(ret, () => f.call("tdx_test_fatal_with_data", ret, 3));
      f.call("tdx_test_success");
    });
    let privateGpa = 0;
    const { td } = bootTd(guest, {
      entries: ["guest_shared_mem"],
      beforeFinalize: (t) => {
        testAssertEq(vmVaddrAlloc(t, 4096, PRIVATE_GVA), PRIVATE_GVA, "vm_vaddr_alloc GVA");
        privateGpa = addrGva2Gpa(t, PRIVATE_GVA);
        virtMapShared(t, SHARED_GVA, privateGpa, 1);
      },
    });
    const sharedGpa = BigInt(privateGpa) | (1n << BigInt(td.vm.memory.sharedGpaBit!));
    const run = () => {
      const exit = vcpuRunAndManageMemoryConversions(td);
      tdxTestCheckGuestFailure(exit);
      return exit;
    };

    for (const half of [Number(sharedGpa & 0xffff_ffffn), Number(sharedGpa >> 32n)]) {
      tdxTestSetIoInData(tdxTestAssertIo(run(), PORT, 4, TDG_VP_VMCALL_INSTRUCTION_IO_READ), half);
    }
    tdxTestAssertIo(run(), PORT, 4, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    const hostView = new DataView(td.readStaging(privateGpa, 4, "verify_shared_mem").buffer);
    testAssertEq(hostView.getUint32(0, true), GUEST_WRITE_VALUE, "host read of the guest's shared write");

    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, HOST_WRITE_VALUE, true);
    td.writeStaging(privateGpa, bytes, "verify_shared_mem");
    const echo = tdxTestAssertIo(run(), PORT, 4, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    testAssertEq(
      new DataView(echo.data.buffer, echo.data.byteOffset, 4).getUint32(0, true),
      HOST_WRITE_VALUE,
      "value the guest read from shared memory",
    );
  },
};
