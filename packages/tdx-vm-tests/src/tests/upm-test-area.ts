// tdx_upm_test.c's shared parts (patches 28/29): the 2 MiB test area in its own guest_memfd memslot,
// mapped twice (private GVA, shared alias), the guest's fill/check helpers, its #VE handler, and the
// host's run loop that answers memory conversions.
//
// Layout: [general area 0 | focus area: 40 KiB | general area 1]. Only the focus area is converted;
// the general areas are controls that must never change. Sizes, GPAs, GVAs, memslot and every
// conversion are upstream's (2 MiB area: ~17 M guest instructions per test, ~0.4-0.5 s each).
import { KvmExit, KvmMpState } from "@tdxsim/kvm";
import {
  addrGva2Gpa,
  type GuestImage,
  type GuestProgram,
  memoryConversionForExit,
  type RunExit,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDX_UPM_TEST_ACCEPT_PRINT_PORT,
  type TdVm,
  tdAddPrivateMemslot,
  tdVcpuRun,
  tdxTestAssertIo,
  tdxTestCheckGuestFailure,
  tdxTestRead64bit,
  tdxTestReadReport,
  virtMapShared,
  vmVaddrAlloc,
  writeGuestMemory,
} from "@tdxsim/tdx-lib";
import { testAssert, testAssertEq } from "../assert.js";

export const PAGE_SIZE = 0x1000;
export const TDX_UPM_TEST_AREA_GPA = 0x8000_0000;
export const TDX_UPM_TEST_AREA_GVA_PRIVATE = 0x9000_0000;
export const TDX_UPM_TEST_AREA_GVA_SHARED = 0x9000_0000 + 2 ** 32;
/** Slots 0, 1 and 2 are td_initialize's (memory, boot code, boot parameters). */
export const TDX_UPM_TEST_MEMSLOT = 3;
export const TEST_AREA_SIZE = 2 << 20;
export const GENERAL_AREA_0_SIZE = 1 << 20;
export const FOCUS_AREA_OFFSET = GENERAL_AREA_0_SIZE;
export const FOCUS_AREA_SIZE = 40 << 10;
export const GENERAL_AREA_1_OFFSET = FOCUS_AREA_OFFSET + FOCUS_AREA_SIZE;
export const GENERAL_AREA_1_SIZE = TEST_AREA_SIZE - GENERAL_AREA_1_OFFSET;
/** The TD's shared bit with GPAW 48 (checked against KVM on the host side). */
export const TDX_SHARED_GPA_BIT = 47;
export const TEST_AREA_GPA_SHARED = BigInt(TDX_UPM_TEST_AREA_GPA) | (1n << BigInt(TDX_SHARED_GPA_BIT));

/** Byte patterns (each byte of the area holds one). */
export const PATTERN_CONFIDENCE_CHECK = 0x11;
export const PATTERN_HOST_FOCUS = 0x22;
export const PATTERN_GUEST_GENERAL = 0x33;
export const PATTERN_GUEST_FOCUS = 0x44;

/** Values the guest reports at the end of each stage. */
export const SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST = 1;
export const SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST = 2;
export const SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN = 3;

const EXIT_REASON_EPT_VIOLATION = 48;
/** struct ve_info offsets (TDG.VP.VEINFO.GET's outputs). */
const VE_EXIT_REASON = 0;
const VE_GPA = 24;
const VE_INFO_SIZE = 40;

/** A byte pattern repeated over 8 bytes: the guest fills and checks a quadword at a time. */
export const quad = (pattern: number): bigint => BigInt(pattern) * 0x0101_0101_0101_0101n;

/** Bytes upm_fill and upm_check handle per loop pass (8 quadwords); every area size is a multiple. */
export const UPM_HELPER_STRIDE = 64;

/**
 * The guest helpers both tests use, unrolled to 8 quadwords per pass (what gcc -O2 makes of
 * upstream's loops, roughly): the builder keeps every value in a stack slot, so a quadword per
 * pass cost ~22 instructions to fill and ~33 to check; unrolled, ~5 and ~14. Each check failure
 * reports its own code through tdx_test_fatal (upstream reports __LINE__), so the host's failure
 * message names the check. Sizes must be multiples of UPM_HELPER_STRIDE (the host asserts it).
 */
export function addUpmGuestHelpers(program: GuestProgram): GuestProgram {
  for (const size of [TEST_AREA_SIZE, GENERAL_AREA_0_SIZE, FOCUS_AREA_SIZE, GENERAL_AREA_1_SIZE])
    testAssertEq(
      size % UPM_HELPER_STRIDE,
      0,
      `UPM area size 0x${size.toString(16)} modulo the helpers' stride`,
    );
  return program
    .fn("upm_fill", { params: 3 }, (f, address, size, pattern) => {
      const p = f.local(address);
      const end = f.local(f.add(address, size));
      f.while(
        () => f.lt(p, end),
        () => {
          for (let k = 0; k < UPM_HELPER_STRIDE; k += 8) f.store(8, p, pattern, k);
          f.set(p, f.add(p, UPM_HELPER_STRIDE));
        },
      );
    })
    .fn("upm_check", { params: 4 }, (f, address, size, pattern, failureCode) => {
      const p = f.local(address);
      const end = f.local(f.add(address, size));
      f.while(
        () => f.lt(p, end),
        () => {
          for (let k = 0; k < UPM_HELPER_STRIDE; k += 8) {
            f.if(f.ne(f.load(8, p, k), pattern), () => {
              f.call("tdx_test_fatal", failureCode);
              f.ret();
            });
          }
          f.set(p, f.add(p, UPM_HELPER_STRIDE));
        },
      );
    })
    .fn("guest_ve_handler", { params: 1 }, (f) => {
      const ve = f.array(VE_INFO_SIZE);
      const status = f.call("tdg_vp_veinfo_get", ve.address);
      f.call("tdx_assert_error", status);
      f.if(f.ne(f.load(8, ve.address, VE_EXIT_REASON), EXIT_REASON_EPT_VIOLATION), () =>
        f.call("tdx_test_fatal", 0x7e01),
      );
      const gpa = f.load(8, ve.address, VE_GPA);
      const focusStart = TDX_UPM_TEST_AREA_GPA + FOCUS_AREA_OFFSET;
      const general1Start = TDX_UPM_TEST_AREA_GPA + GENERAL_AREA_1_OFFSET;
      f.if(f.or(f.lt(gpa, focusStart), f.ge(gpa, general1Start)), () => f.call("tdx_test_fatal", 0x7e02));
      f.call("tdx_assert_error", f.call("tdx_test_send_64bit", TDX_UPM_TEST_ACCEPT_PRINT_PORT, gpa));
      // Yan Zhao on 28: the faulting GPA need not be page aligned; ACCEPT wants the page
      const accept = f.call("tdg_mem_page_accept", f.and(gpa, -PAGE_SIZE), 0);
      f.call("tdx_assert_error", accept);
    });
}

export interface UpmArea {
  /** GPA the test area got (upstream's test_area_gpa_private). */
  readonly gpaPrivate: number;
}

/**
 * Host setup before td_finalize: memslot 3 with a guest_memfd, the area allocated private at
 * GVA 0x90000000 from GPA 0x80000000, its shared alias, the #VE handler installed, and the host's
 * copy filled with PATTERN_CONFIDENCE_CHECK (it becomes the pages' measured initial content).
 */
export function setUpUpmArea(td: TdVm, image: GuestImage): UpmArea {
  tdAddPrivateMemslot(td, TDX_UPM_TEST_MEMSLOT, TDX_UPM_TEST_AREA_GPA, TEST_AREA_SIZE);
  const gva = vmVaddrAlloc(td, TEST_AREA_SIZE, TDX_UPM_TEST_AREA_GVA_PRIVATE, {
    slot: TDX_UPM_TEST_MEMSLOT,
    paddrMin: TDX_UPM_TEST_AREA_GPA,
  });
  testAssertEq(gva, TDX_UPM_TEST_AREA_GVA_PRIVATE, "test area GVA");
  const gpaPrivate = addrGva2Gpa(td, gva);
  testAssertEq(gpaPrivate, TDX_UPM_TEST_AREA_GPA, "test area GPA");
  virtMapShared(td, TDX_UPM_TEST_AREA_GVA_SHARED, gpaPrivate, TEST_AREA_SIZE / PAGE_SIZE);
  testAssertEq(addrGva2Gpa(td, TDX_UPM_TEST_AREA_GVA_SHARED), gpaPrivate, "shared alias GPA");
  testAssertEq(td.vm.memory.sharedGpaBit ?? -1, TDX_SHARED_GPA_BIT, "the TD's shared bit");

  // vm_install_exception_handler(vm, VE_VECTOR, guest_ve_handler)
  const hook = new Uint8Array(8);
  new DataView(hook.buffer).setBigUint64(0, BigInt(image.symbol("guest_ve_handler")), true);
  writeGuestMemory(td, Number(image.symbol("guest_ve_hook")), hook);

  td.writeStaging(gpaPrivate, new Uint8Array(TEST_AREA_SIZE).fill(PATTERN_CONFIDENCE_CHECK), "upm setup");
  checkHostView(td, 0, TEST_AREA_SIZE, PATTERN_CONFIDENCE_CHECK, "host fill of the test area");
  return { gpaPrivate };
}

/** The host's view (the memslot's userspace memory) of [offset, offset + size) holds `pattern`. */
export function checkHostView(td: TdVm, offset: number, size: number, pattern: number, what: string): void {
  const bytes = td.readStaging(TDX_UPM_TEST_AREA_GPA + offset, size, "upm host check");
  const bad = bytes.findIndex((b) => b !== pattern);
  testAssert(
    bad < 0,
    `${what}: byte at area offset 0x${(offset + bad).toString(16)} is 0x${bytes[bad]?.toString(16)}, expected 0x${pattern.toString(16)}`,
  );
}

export function checkHostGeneralAreas(td: TdVm, pattern: number, what: string): void {
  checkHostView(td, 0, GENERAL_AREA_0_SIZE, pattern, `${what} (general area 0)`);
  checkHostView(td, GENERAL_AREA_1_OFFSET, GENERAL_AREA_1_SIZE, pattern, `${what} (general area 1)`);
}

/** EINTR retries before a spinning guest fails the test instead of hanging it (~10^8 instructions). */
const MAX_EINTR_RETRIES = 100;

/**
 * vcpu_run(): KVM_RUN again while it returns -1/EINTR with KVM_EXIT_INTR on a runnable vCPU, as
 * the selftests' wrapper retries EINTR (tdxsim's KVM_RUN gives back control after an instruction
 * budget; the area loops run longer). A halted vCPU's EINTR is returned.
 */
export function vcpuRunRetryingEintr(td: TdVm): RunExit {
  const vcpu = td.vcpus[0]!.vcpu;
  for (let attempt = 0; attempt < MAX_EINTR_RETRIES; attempt++) {
    const exit = tdVcpuRun(td);
    if (exit.kind === "other" && exit.reason === KvmExit.INTR && vcpu.getMpState() === KvmMpState.RUNNABLE)
      continue;
    return exit;
  }
  throw new Error(
    `vcpu_run: KVM_RUN returned EINTR ${MAX_EINTR_RETRIES} times in a row (the guest never exits)`,
  );
}

/** TDX_RUN with the retry above: a guest failure report fails the test. */
export function upmRun(td: TdVm): RunExit {
  const exit = vcpuRunRetryingEintr(td);
  tdxTestCheckGuestFailure(exit);
  return exit;
}

/**
 * vcpu_run_and_manage_memory_conversions(): runs until an exit that is not a conversion or an
 * accept print. MapGPA (KVM_EXIT_HYPERCALL) always becomes KVM_SET_MEMORY_ATTRIBUTES with
 * hypercall.ret = 0; KVM_EXIT_MEMORY_FAULT only with `handleConversions` (the implicit test) — it
 * is seen only through this raw run (KVM_RUN -1/EFAULT; Zide Chen on 27). A guest failure report
 * fails the test here too (Yan Zhao on 28). Returns the exit and the GPAs the #VE handler accepted.
 */
export function runAndManageMemoryConversions(
  td: TdVm,
  handleConversions: boolean,
  accepted: bigint[],
): RunExit {
  for (;;) {
    const exit = vcpuRunRetryingEintr(td);
    tdxTestCheckGuestFailure(exit);
    const request = memoryConversionForExit(exit);
    if (request && (exit.kind === "hypercall" || handleConversions)) {
      td.vm.setMemoryAttributes({
        address: request.address,
        size: request.size,
        attributes: request.attributes,
      });
      if (exit.kind === "hypercall") td.vcpus[0]!.vcpu.run.hypercall.ret = 0n;
      continue;
    }
    if (exit.kind === "io" && exit.port === TDX_UPM_TEST_ACCEPT_PRINT_PORT) {
      accepted.push(tdxTestRead64bit(exit, TDX_UPM_TEST_ACCEPT_PRINT_PORT, () => vcpuRunRetryingEintr(td)));
      continue;
    }
    return exit;
  }
}

/** TDX_TEST_ASSERT_IO on the report port and the stage value. */
export function assertStage(exit: RunExit, stage: number): void {
  tdxTestAssertIo(exit, 0x31, 4, TDG_VP_VMCALL_INSTRUCTION_IO_WRITE);
  testAssertEq(tdxTestReadReport(exit), stage, "sync stage");
}

/** The focus area's pages, each of which the #VE handler must accept once. */
export function focusPages(): bigint[] {
  const pages: bigint[] = [];
  for (let off = 0; off < FOCUS_AREA_SIZE; off += PAGE_SIZE)
    pages.push(BigInt(TDX_UPM_TEST_AREA_GPA + FOCUS_AREA_OFFSET + off));
  return pages;
}
