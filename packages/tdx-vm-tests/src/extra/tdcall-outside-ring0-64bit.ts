// Beyond the series, group 8: TDCALL is a 64-bit, ring-0 instruction. From compatibility mode the
// TDX module refuses it with #GP(0) (spec/tdx-abi.md: "TDCALL outside 64-bit mode → #GP(0)"); at
// CPL 3 the CPU raises #GP(0) before any exit (SDM). Each guest gets there by a far transfer of its
// own — RETFQ into a 32-bit code segment, IRETQ into a ring-3 code segment on a user-mapped page —
// runs TDCALL(TDG.VP.INFO) and watches the #GP in its own IDT handler, which reports the error
// code and the interrupted CS (proving where the TDCALL ran) and ends the test.
import {
  CODE_TYPE_EXECUTE_READ_ACCESSED,
  code64Descriptor,
  data64Descriptor,
  encodeSegmentDescriptor,
  type TdVm,
  tdxRun,
  tdxTestAssertSuccess,
  tdxTestRead64bitReportFromGuest,
  tss64Descriptor,
  vmVaddrAlloc,
  writeGuestMemory,
} from "@tdxsim/tdx-lib";
import { ax, qword, rax, rip } from "@tdxsim/x86/asm";
import { testAssertEq } from "../assert.js";
import { GuestProgramWithAsm } from "../guest-asm.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import { emitExceptionEntry, GP_VECTOR } from "./exception-entry.js";

/** GDT entries this test adds after the library's (null, 0x8 code, 0x10 data, 0x18 TSS). */
const CODE32_SELECTOR = 0x28;
const USER_DATA_SELECTOR = 0x30;
const USER_CODE_SELECTOR = 0x38;
/** A 64-bit TSS descriptor (16 bytes), available, for LTR: the library's 0x18 is marked busy. */
const TEST_TSS_SELECTOR = 0x40;
const RPL3 = 3;
/** Where the ring-3 page is mapped (a GVA no library mapping uses), and its TSS/stack block. */
const USER_PAGE_GVA = 0x10_0000_0000;
const TSS_RSP0 = 4;

const TDG_VP_INFO = 1;
const TDCALL = [0x66, 0x0f, 0x01, 0xcc];
const UD2 = [0x0f, 0x0b];
/** MOV EAX, imm32 (B8 id): the same bytes in 32- and 64-bit mode. */
const movEax = (value: number) => [
  0xb8,
  value & 0xff,
  (value >> 8) & 0xff,
  (value >> 16) & 0xff,
  value >>> 24,
];
const RETFQ = [0x48, 0xcb];

const code32Descriptor = () =>
  encodeSegmentDescriptor({
    base: 0,
    limit: 0xfffff,
    type: CODE_TYPE_EXECUTE_READ_ACCESSED,
    system: false,
    dpl: 0,
    present: true,
    available: false,
    long: false,
    defaultBig: true,
    granularity: true,
  });

/** A program whose guest_code calls `enter` and whose #GP handler reports (error code, CS). */
function tdcallFaultProgram(): GuestProgramWithAsm {
  return new GuestProgramWithAsm()
    .fn("guest_gp_observed", { params: 2 }, (f, errorCode, cs) => {
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", errorCode));
      f.call("tdx_assert_error", f.call("tdx_test_report_64bit_to_user_space", cs));
      f.call("tdx_test_success");
    })
    .asm("guest_gp_entry", {}, emitExceptionEntry("guest_gp_observed"));
}

function writeGdtEntry(td: TdVm, selector: number, descriptor: Uint8Array): void {
  td.writeStaging(td.plan!.gdt + selector, descriptor, "test GDT entry");
}

/** Runs the TD and checks the handler's two reports, then its success. */
function expectGp(td: TdVm, cs: number, where: string): void {
  const read = () => tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
  testAssertEq(read(), 0, `#GP error code for TDCALL ${where}`);
  testAssertEq(read(), cs, `CS of the faulting TDCALL (${where})`);
  tdxTestAssertSuccess(tdxRun(td));
}

export const verifyTdcallCompatibilityModeGp: TdxVmTestCase = {
  name: "verify_tdcall_compat_mode_gp",
  run() {
    const guest = tdcallFaultProgram()
      .asm("guest_enter_compat_tdcall", {}, (a) => {
        const compat = a.label("guest_compat_tdcall");
        a.push(CODE32_SELECTOR);
        a.lea(rax, qword(rip, compat));
        a.push(rax);
        a.db(...RETFQ);
        a.bind(compat);
        // 32-bit code from here (the stack and this code are below 4 GiB).
        a.db(...movEax(TDG_VP_INFO), ...TDCALL, ...UD2);
      })
      .fn("guest_code", (f) => {
        f.call("guest_enter_compat_tdcall");
        f.call("tdx_test_fatal", 0x0bad_0001n); // not reached: the far return does not come back
      });
    const { td } = bootTd(guest, {
      entries: ["guest_code"],
      exceptionHandlers: [{ vector: GP_VECTOR, handler: "guest_gp_entry" }],
      beforeFinalize: (t) => writeGdtEntry(t, CODE32_SELECTOR, code32Descriptor()),
    });
    expectGp(td, CODE32_SELECTOR, "in compatibility mode");
  },
};

export const verifyTdcallCpl3Gp: TdxVmTestCase = {
  name: "verify_tdcall_cpl3_gp",
  run() {
    const userCs = USER_CODE_SELECTOR | RPL3;
    const guest = tdcallFaultProgram()
      .asm("guest_enter_ring3_tdcall", {}, (a) => {
        a.mov(ax, TEST_TSS_SELECTOR);
        a.ltr(ax); // RSP0 for the ring 3 → ring 0 #GP delivery
        a.push(USER_DATA_SELECTOR | RPL3); // SS
        a.mov(rax, USER_PAGE_GVA + 0x1000); // RSP: top of the user page (ring 3 pushes nothing)
        a.push(rax);
        a.pushfq();
        a.push(userCs); // CS
        a.mov(rax, USER_PAGE_GVA); // RIP: guest_ring3_tdcall through its user mapping
        a.push(rax);
        a.iretq();
      })
      .asm("guest_ring3_tdcall", { align: 4096 }, (a) => {
        a.db(...movEax(TDG_VP_INFO), ...TDCALL, ...UD2);
      })
      .fn("guest_code", (f) => {
        f.call("guest_enter_ring3_tdcall");
        f.call("tdx_test_fatal", 0x0bad_0002n); // not reached: IRETQ to ring 3 does not come back
      });
    const { td } = bootTd(guest, {
      entries: ["guest_code"],
      exceptionHandlers: [{ vector: GP_VECTOR, handler: "guest_gp_entry" }],
      beforeFinalize: (t, image) => {
        writeGdtEntry(t, USER_DATA_SELECTOR, data64Descriptor(3));
        writeGdtEntry(t, USER_CODE_SELECTOR, code64Descriptor(3));
        // A TSS whose RSP0 is the top of an 8 KiB block it starts (ring-0 stack for the #GP).
        const tss = vmVaddrAlloc(t, 0x2000);
        const rsp0 = new Uint8Array(8);
        new DataView(rsp0.buffer).setBigUint64(0, BigInt(tss + 0x2000), true);
        writeGuestMemory(t, tss + TSS_RSP0, rsp0);
        writeGdtEntry(t, TEST_TSS_SELECTOR, tss64Descriptor(tss, false));
        // The ring-3 code page, mapped a second time with U/S = 1.
        const code = Number(image.symbol("guest_ring3_tdcall"));
        t.pageTables!.map(USER_PAGE_GVA, code, 0x1000, { user: true, maxPageSize: 0x1000 });
      },
    });
    expectGp(td, userCs, "at CPL 3");
  },
};
