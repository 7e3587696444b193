// The host half's shared-memory helpers end to end through KVM_RUN: vm_vaddr_alloc_shared and
// virt_map_shared mappings that the guest uses through its shared GVAs while the host reads and
// writes them by GVA (readGuestMemory / writeGuestMemory, upstream's addr_gva2hva + memcpy)
// between exits — the bytes KVM maps into the TD's shared EPT from the memslot's user memory.
import { describe, expect, it } from "vitest";
import {
  addrGva2Gpa,
  bootTd,
  GuestProgram,
  littleEndian,
  type RunExit,
  readGuestMemory,
  syncGlobalToGuest,
  type TdVm,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestCheckGuestFailure,
  tdxTestReadReport,
  vcpuRunAndManageMemoryConversions,
  virtMapShared,
  vmVaddrAlloc,
  vmVaddrAllocShared,
  writeGuestMemory,
} from "../../src/index.js";
import { read64 } from "./boot-td.js";

const PAGE = 4096;
const SHARED_BIT = 2n ** 47n;

const u64 = (value: bigint) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
};
const readU64 = (td: TdVm, gva: number) => littleEndian(readGuestMemory(td, gva, 8));

/** KVM_RUN answering MapGPA / memory-fault exits (vcpu_run_and_manage_memory_conversions), then the failure check. */
function runConverting(td: TdVm): RunExit {
  const exit = vcpuRunAndManageMemoryConversions(td);
  tdxTestCheckGuestFailure(exit);
  return exit;
}

describe("shared memory end to end (vm_vaddr_alloc_shared, virt_map_shared, host access by GVA)", () => {
  it("vm_vaddr_alloc_shared: host writes the guest reads, guest writes the host reads, across two pages, while the TD runs", () => {
    // upstream syncs the allocation's GVA in a global; the guest reads it from there
    const program = new GuestProgram().global("buffer", { size: 8 }).fn("guest_code", (f) => {
      const p = f.loadGlobal("buffer");
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.load(8, p)));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.load(8, p, PAGE + 8)));
      f.store(8, p, 0x1122_3344_5566_7788n, 16);
      f.store(4, p, 0xabcd_ef01, PAGE - 2); // straddles the two pages
      f.call("tdx_test_report_to_user_space", 1);
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", f.load(8, p)));
      f.call("tdx_test_success");
    });
    let buffer = 0;
    const { td } = bootTd(program, {
      beforeFinalize: (t, image) => {
        buffer = vmVaddrAllocShared(t, 2 * PAGE);
        syncGlobalToGuest(t, image, "buffer", buffer);
      },
    });
    writeGuestMemory(td, buffer, u64(0x0102_0304_0506_0708n));
    writeGuestMemory(td, buffer + PAGE + 8, u64(0xfeed_face_cafe_beefn));
    expect(read64(td)).toBe(0x0102_0304_0506_0708n);
    expect(read64(td)).toBe(0xfeed_face_cafe_beefn);

    expect(tdxTestReadReport(tdxRun(td))).toBe(1);
    expect(readU64(td, buffer + 16)).toBe(0x1122_3344_5566_7788n);
    expect([...readGuestMemory(td, buffer + PAGE - 2, 4)]).toEqual([0x01, 0xef, 0xcd, 0xab]);
    // the page is mapped in the shared EPT now: a later host write is seen in place
    writeGuestMemory(td, buffer, u64(0x5555n));
    expect(read64(td)).toBe(0x5555n);
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("verify_shared_mem's pattern: a vm_vaddr_alloc page, a virt_map_shared alias, MapGPA to shared, then both sides use it", () => {
    const PRIVATE_GVA = 0x8000_0000;
    const SHARED_GVA = 0xc000_0000;
    const program = new GuestProgram().global("shared_gpa", { size: 8 }).fn("guest_code", (f) => {
      const failed = f.local(0);
      f.call("tdx_test_report_to_user_space", 1); // the host checks its view before the conversion
      f.call(
        "tdx_assert_error",
        f.call("tdg_vp_vmcall_map_gpa", f.loadGlobal("shared_gpa"), PAGE, f.addrOf(failed)),
      );
      f.store(4, SHARED_GVA, 0xcafe_cafe);
      f.call("tdx_test_report_to_user_space", 2);
      f.call("tdx_test_report_to_user_space", f.load(4, SHARED_GVA));
      f.call("tdx_test_success");
    });
    let gpa = 0;
    const { td } = bootTd(program, {
      beforeFinalize: (t, image) => {
        expect(vmVaddrAlloc(t, PAGE, PRIVATE_GVA)).toBe(PRIVATE_GVA);
        gpa = addrGva2Gpa(t, PRIVATE_GVA);
        virtMapShared(t, SHARED_GVA, gpa, 1);
        syncGlobalToGuest(t, image, "shared_gpa", BigInt(gpa) | SHARED_BIT);
      },
    });
    expect(tdxTestReadReport(runConverting(td))).toBe(1);
    // still private: the alias does not reach what the guest sees, and the host is told why
    expect(() => readGuestMemory(td, SHARED_GVA, 4)).toThrow(
      new RegExp(
        `read_guest_memory: gva 0xc0000000 is mapped shared but gpa 0x${gpa.toString(16)} is private now`,
      ),
    );
    expect(() => readGuestMemory(td, PRIVATE_GVA, 4)).toThrow(/is private memory of a finalized TD/);

    expect(tdxTestReadReport(runConverting(td))).toBe(2); // after KVM_EXIT_HYPERCALL(MapGPA) was answered
    expect(littleEndian(readGuestMemory(td, SHARED_GVA, 4))).toBe(0xcafe_cafen);
    writeGuestMemory(td, SHARED_GVA, new Uint8Array([0xcd, 0xab, 0xcd, 0xab]));
    expect(tdxTestReadReport(runConverting(td))).toBe(0xabcd_abcd);
    tdxTestAssertSuccess(runConverting(td));
  });

  it("virt_map_shared of unconverted memory: the guest's first touch exits KVM_EXIT_MEMORY_FAULT, the conversion makes it shared", () => {
    const ALIAS_GVA = 0x9000_0000;
    const FREE_GPA = 0xe0_0000; // unused memslot 0 memory, private since td_initialize
    const program = new GuestProgram().fn("guest_code", (f) => {
      f.store(8, ALIAS_GVA, 0x0bad_c0de_600d_f00dn, 8);
      f.call("tdx_test_report_to_user_space", 1);
      f.call("tdx_test_success");
    });
    const { td } = bootTd(program, { beforeFinalize: (t) => virtMapShared(t, ALIAS_GVA, FREE_GPA, 1) });
    expect(() => writeGuestMemory(td, ALIAS_GVA, new Uint8Array(8))).toThrow(/is private now/);
    const first = vcpuRunAndManageMemoryConversions(td);
    expect(tdxTestReadReport(first)).toBe(1);
    expect(td.vm.memory.attributes.isPrivate(FREE_GPA)).toBe(false);
    expect(readU64(td, ALIAS_GVA + 8)).toBe(0x0bad_c0de_600d_f00dn);
    tdxTestAssertSuccess(tdxRun(td));
  });
});
