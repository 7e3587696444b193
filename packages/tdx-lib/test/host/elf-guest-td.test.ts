// The gcc-built C guest (test/guests/tdx-success.c) through the host half: loaded by loadElf,
// placed by tdInitialize, entered by tdVcpuAdd's boot record, measured by tdFinalize — and the
// pages td_finalize loads boot on the real CPU to the guest's success TDVMCALL, and KVM_RUN
// runs the TD to its KVM_EXIT_IO on port 0x30.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  assembleGuestImage,
  elfSharedChunks,
  littleEndian,
  loadElf,
  shareImagePages,
  syncGlobalFromGuest,
  syncGlobalToGuest,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_FATAL_ERROR_GPA_VALID,
  TDX_IOEXIT_TEST_PORT,
  TDX_MMIO_TEST_ADDR,
  tdFinalize,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertIo,
  tdxTestAssertMmio,
  tdxTestAssertSuccess,
  tdxTestReadReport,
  tdxTestSetIoInData,
} from "../../src/index.js";
import { initializeTd, read64 } from "../e2e/boot-td.js";
import { compileGuest, gccAvailable, useCompiledGuests } from "../elf/gcc-guest.js";
import { GPR } from "../guest/guest-cpu.js";
import { bootLoadedPages } from "./td-fixture.js";

const guestSource = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../guests/${name}`, import.meta.url)), "utf8");
const SOURCE = guestSource("tdx-success.c");

/** Where the guest library is assembled for the C guest (in memslot 0, clear of the ELF at 0x400000). */
const LIBRARY_GVA = 0xa0_0000;
/** The library routines tdx-library-calls.c declares. */
const LIBRARY_CALLS = [
  "__tdx_hypercall",
  "__tdx_module_call",
  "tdg_vp_vmcall_instruction_io",
  "tdg_vp_vmcall_get_td_vmcall_info",
  "tdg_vp_vmcall_instruction_cpuid",
  "tdg_vp_vmcall_ve_request_mmio_write",
  "tdg_vp_info",
  "tdg_mr_report",
  "tdg_mr_rtmr_extend",
  "tdx_test_report_to_user_space",
  "tdx_test_report_64bit_to_user_space",
  "tdx_assert_error",
  "tdx_test_fatal",
  "tdx_test_fatal_with_data",
  "tdx_test_success",
];

describe.skipIf(!gccAvailable())("a gcc-built ELF guest through the host half", () => {
  const compiled = useCompiledGuests(SOURCE);

  for (const build of ["exec", "pie"] as const) {
    it(`${build}: boots from the reset vector to Instruction.IO(0x30, 4, OUT); the TD finalizes`, () => {
      const elf = loadElf(compiled.guests[build].bytes, build === "pie" ? { loadBase: 0x60_0000 } : {});
      const td = initializeTd({ image: elf.chunks }, elf.entry);
      const calls: bigint[][] = [];
      const m = bootLoadedPages(td, (regs) => {
        calls.push([...regs]);
        return true;
      });
      expect(m.run()).toBe("tdcall-exit");
      const c = calls[0]!;
      expect([c[GPR.rax], c[GPR.rcx], c[GPR.r10], c[GPR.r11]]).toEqual([0n, 0xfc00n, 0n, 30n]);
      expect([c[GPR.r12], c[GPR.r13], c[GPR.r14], c[GPR.r15]]).toEqual([4n, 1n, 0x30n, 0n]);
      tdFinalize(td);
      expect(td.vm.td.state).toBe("runnable");
      // And through KVM_RUN on kvm's x86 executor: the success report on port 0x30.
      tdxTestAssertSuccess(tdxRun(td));
    });
  }

  it("a C guest calls the guest library through the SysV ABI: TDVMCALL wrappers and __tdx_hypercall, TDCALL leaves and __tdx_module_call, test_util, a synced global, the #VE handler", () => {
    const library = assembleGuestImage({ origin: LIBRARY_GVA });
    const defsyms = LIBRARY_CALLS.map(
      (name) => `-Wl,--defsym=${name}=0x${library.symbol(name).toString(16)}`,
    );
    const elf = loadElf(compileGuest(guestSource("tdx-library-calls.c"), ["-mno-red-zone", ...defsyms]));
    const td = initializeTd(
      { image: [...elf.chunks, ...library.chunks], idtEntries: library.idtEntries },
      elf.entry,
    );
    syncGlobalToGuest(td, elf, "host_value", 0x1234_5678_9abc_def0n);
    expect(() => syncGlobalToGuest(td, elf, "_start", 1)).toThrow(
      'sync_global_to_guest: ELF symbol "_start" is not a sized data object (STT_OBJECT)',
    );
    tdFinalize(td);

    const io = tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 1, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
    expect(io.data[0]).toBe(0xab);
    // __tdx_hypercall with a C struct tdx_hypercall_args: an IO read, R11 stored back
    tdxTestSetIoInData(
      tdxTestAssertIo(tdxRun(td), TDX_IOEXIT_TEST_PORT, 2, TDG_VP_VMCALL_INSTRUCTION_IO_READ),
      0xbeef,
    );
    expect(read64(td)).toBe(0xbeefn);
    expect(read64(td)).toBe(48n); // tdg_vp_info: GPAW
    expect([read64(td), read64(td)]).toEqual([0n, 48n]); // __tdx_module_call(TDG.VP.INFO): status, out.rcx
    expect(read64(td)).toBe(0n); // get_td_vmcall_info: R11..R14 all zero
    expect(tdxTestReadReport(tdxRun(td))).toBe(0x756e_6547); // Instruction.CPUID leaf 0 EBX: "Genu"
    const mmio = tdxTestAssertMmio(tdxRun(td), TDX_MMIO_TEST_ADDR, 4, true);
    expect([...mmio.data.subarray(0, 4)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(read64(td)).toBe(0x1234_5678_9abc_def0n); // the global the host synced before finalize
    expect(read64(td)).toBe(0n); // tdg_mr_rtmr_extend: TDX_SUCCESS
    expect(read64(td)).toBe(new DataView(new TextEncoder().encode("tdxsim g").buffer).getBigUint64(0, true));
    const native = tdxTestAssertIo(tdxRun(td), 0x99, 1, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE); // OUT via #VE
    expect(native.data[0]).toBe(0x5a);
    const reportdata = elf.symbol("reportdata").address;
    tdxTestAssertFatal(tdVcpuRun(td), TDX_FATAL_ERROR_GPA_VALID | 0x0baa_aaad_0000_0000n, BigInt(reportdata));
    tdxTestAssertSuccess(tdxRun(td));
  });

  it("a C guest with a page-aligned object on a shared page: the host syncs it while the TD runs, the guest uses its ordinary address", () => {
    const library = assembleGuestImage({ origin: LIBRARY_GVA });
    const defsyms = [
      "tdx_test_report_to_user_space",
      "tdx_test_report_64bit_to_user_space",
      "tdx_assert_error",
      "tdx_test_success",
    ].map((name) => `-Wl,--defsym=${name}=0x${library.symbol(name).toString(16)}`);
    const elf = loadElf(compileGuest(guestSource("tdx-shared-page.c"), ["-mno-red-zone", ...defsyms]));
    expect(() => elfSharedChunks(elf, "private_value")).toThrow(
      /share_image_pages: ELF object "private_value" .* does not own whole pages/,
    );
    expect(() => elfSharedChunks(elf, "no_such")).toThrow(
      'share_image_pages: the ELF has no symbol "no_such"',
    );
    expect(() => shareImagePages(elf.chunks, 0x10_0000_0000, 4096)).toThrow(
      /page 0x1000000000 is not in the image/,
    );
    const chunks = elfSharedChunks(elf, "shared_mailbox");
    const mailbox = elf.symbol("shared_mailbox").address;
    expect(chunks.filter((c) => c.shared)).toEqual([
      expect.objectContaining({ gpa: mailbox, shared: true, bytes: expect.any(Uint8Array) }),
    ]);
    const td = initializeTd(
      { image: [...chunks, ...library.chunks], idtEntries: library.idtEntries },
      elf.entry,
    );
    syncGlobalToGuest(td, elf, "private_value", 5);
    tdFinalize(td);

    syncGlobalToGuest(
      td,
      elf,
      "shared_mailbox",
      (() => {
        const page = new Uint8Array(4096);
        page[0] = 0x40;
        return page;
      })(),
    );
    expect(read64(td)).toBe(0x40n);
    expect(tdxTestReadReport(tdxRun(td))).toBe(1);
    const page = syncGlobalFromGuest(td, elf, "shared_mailbox");
    expect(littleEndian(page.subarray(8, 16))).toBe(0x45n); // mailbox[0] + the private value synced before finalize
    page[0] = 0x77;
    syncGlobalToGuest(td, elf, "shared_mailbox", page);
    expect(read64(td)).toBe(0x77n);
    tdxTestAssertSuccess(tdxRun(td));
    expect(() => syncGlobalFromGuest(td, elf, "private_value")).toThrow(
      /is private memory of a finalized TD/,
    );
  });
});
