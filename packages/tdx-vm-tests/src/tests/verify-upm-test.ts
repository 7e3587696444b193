// Patches 28/29 (tdx_upm_test): guest memory converted private → shared → private, explicitly with
// TDG.VP.VMCALL<MapGPA> (6.16: KVM_EXIT_HYPERCALL KVM_HC_MAP_GPA_RANGE) or implicitly by accessing
// the focus area through the other mapping (KVM_EXIT_MEMORY_FAULT). The host answers both with
// KVM_SET_MEMORY_ATTRIBUTES and never punches holes, so its view of the area (the memslot's
// userspace memory) keeps what it wrote, while the guest's private data is lost on the way back:
// KVM adds fresh pages (PAGE.AUG), the guest's first touch of each takes an EPT-violation #VE and
// the handler ACCEPTs it, which zeroes it.
// Stages the guest reports: 1 private memory written, 2 focus area shared and written by the guest,
// 3 focus area private again. Beyond the series, group 5 (Yan Zhao on 23/28, Zide Chen on 27): every
// run checks for a guest failure report, the conversion loop included; the #VE handler aligns the
// GPA down before ACCEPT; memory faults are taken only in the raw conversion loop.
import {
  type FunctionBuilder as Builder,
  GuestProgram,
  type TdVm,
  tdxTestAssertSuccess,
} from "@tdxsim/tdx-lib";
import { testAssert } from "../assert.js";
import type { TdxVmTestCase } from "../selftest-case.js";
import { bootTd } from "../td-setup.js";
import {
  addUpmGuestHelpers,
  assertStage,
  checkHostGeneralAreas,
  checkHostView,
  FOCUS_AREA_OFFSET,
  FOCUS_AREA_SIZE,
  focusPages,
  GENERAL_AREA_0_SIZE,
  GENERAL_AREA_1_OFFSET,
  GENERAL_AREA_1_SIZE,
  PATTERN_CONFIDENCE_CHECK,
  PATTERN_GUEST_FOCUS,
  PATTERN_GUEST_GENERAL,
  PATTERN_HOST_FOCUS,
  quad,
  runAndManageMemoryConversions,
  SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST,
  SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN,
  SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST,
  setUpUpmArea,
  TDX_UPM_TEST_AREA_GPA,
  TDX_UPM_TEST_AREA_GVA_PRIVATE,
  TDX_UPM_TEST_AREA_GVA_SHARED,
  TEST_AREA_GPA_SHARED,
  TEST_AREA_SIZE,
  upmRun,
} from "./upm-test-area.js";

const PRIVATE = TDX_UPM_TEST_AREA_GVA_PRIVATE;
const SHARED = TDX_UPM_TEST_AREA_GVA_SHARED;

/** Guest-side check sites, reported as the fatal error code (upstream reports the line). */
const enum Check {
  WholeAreaAfterStage1 = 1,
  GeneralArea0 = 2,
  GeneralArea1 = 3,
  FocusSharedConfidence = 4,
  FocusSharedHostWrite = 5,
  FocusPrivateZeroed = 6,
  WholeAreaFinal = 7,
  MapGpaToShared = 8,
  MapGpaToPrivate = 9,
}

function guestGeneralAreasCheck(f: Builder): void {
  const p = quad(PATTERN_GUEST_GENERAL);
  f.call("upm_check", PRIVATE, GENERAL_AREA_0_SIZE, p, Check.GeneralArea0);
  f.call("upm_check", PRIVATE + GENERAL_AREA_1_OFFSET, GENERAL_AREA_1_SIZE, p, Check.GeneralArea1);
}

/** Stage 1, shared by both guests: write the whole area privately, report, check it is intact. */
function guestStage1(f: Builder): void {
  f.call("upm_fill", PRIVATE, TEST_AREA_SIZE, quad(PATTERN_GUEST_GENERAL));
  f.call(
    "tdx_assert_error",
    f.call("tdx_test_report_to_user_space", SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST),
  );
  f.call("upm_check", PRIVATE, TEST_AREA_SIZE, quad(PATTERN_GUEST_GENERAL), Check.WholeAreaAfterStage1);
}

/** The end, shared by both guests: private memory is usable again everywhere. */
function guestFinal(f: Builder): void {
  f.call("upm_fill", PRIVATE, TEST_AREA_SIZE, quad(PATTERN_GUEST_GENERAL));
  f.call("upm_check", PRIVATE, TEST_AREA_SIZE, quad(PATTERN_GUEST_GENERAL), Check.WholeAreaFinal);
  f.call("tdx_test_success");
}

function mapGpa(f: Builder, gpa: bigint, failure: Check): void {
  const failedGpa = f.local(0); // Yan Zhao on 28: initialized, not relied on
  const ret = f.call("tdg_vp_vmcall_map_gpa", gpa, FOCUS_AREA_SIZE, f.addrOf(failedGpa));
  f.if(ret, () => f.call("tdx_test_fatal", failure));
}

const explicitGuest = () =>
  addUpmGuestHelpers(new GuestProgram()).fn("guest_upm_explicit", (f) => {
    guestStage1(f);
    mapGpa(f, TEST_AREA_GPA_SHARED + BigInt(FOCUS_AREA_OFFSET), Check.MapGpaToShared);
    guestGeneralAreasCheck(f);
    // the shared view is the host's memory, which it filled before the TD ran
    const focusShared = SHARED + FOCUS_AREA_OFFSET;
    f.call(
      "upm_check",
      focusShared,
      FOCUS_AREA_SIZE,
      quad(PATTERN_CONFIDENCE_CHECK),
      Check.FocusSharedConfidence,
    );
    f.call("upm_fill", focusShared, FOCUS_AREA_SIZE, quad(PATTERN_GUEST_FOCUS));
    f.call(
      "tdx_assert_error",
      f.call("tdx_test_report_to_user_space", SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST),
    );
    f.call("upm_check", focusShared, FOCUS_AREA_SIZE, quad(PATTERN_HOST_FOCUS), Check.FocusSharedHostWrite);
    mapGpa(f, BigInt(TDX_UPM_TEST_AREA_GPA + FOCUS_AREA_OFFSET), Check.MapGpaToPrivate);
    guestGeneralAreasCheck(f);
    // private → shared → private: the old private contents are gone, each page reads as zero
    f.call("upm_check", PRIVATE + FOCUS_AREA_OFFSET, FOCUS_AREA_SIZE, 0, Check.FocusPrivateZeroed);
    f.call(
      "tdx_assert_error",
      f.call("tdx_test_report_to_user_space", SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN),
    );
    guestFinal(f);
  });

const implicitGuest = () =>
  addUpmGuestHelpers(new GuestProgram()).fn("guest_upm_implicit", (f) => {
    guestStage1(f);
    // shared accesses to private GPAs: KVM_EXIT_MEMORY_FAULT, the host converts each page
    f.call("upm_fill", SHARED + FOCUS_AREA_OFFSET, FOCUS_AREA_SIZE, quad(PATTERN_GUEST_FOCUS));
    guestGeneralAreasCheck(f);
    f.call(
      "tdx_assert_error",
      f.call("tdx_test_report_to_user_space", SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST),
    );
    f.call(
      "upm_check",
      SHARED + FOCUS_AREA_OFFSET,
      FOCUS_AREA_SIZE,
      quad(PATTERN_HOST_FOCUS),
      Check.FocusSharedHostWrite,
    );
    // private accesses to shared GPAs: converted back, added, #VE, accepted, then written
    f.call("upm_fill", PRIVATE + FOCUS_AREA_OFFSET, FOCUS_AREA_SIZE, quad(PATTERN_GUEST_FOCUS));
    guestGeneralAreasCheck(f);
    f.call(
      "tdx_assert_error",
      f.call("tdx_test_report_to_user_space", SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN),
    );
    guestFinal(f);
  });

/** run_selftest(): the host side, the same for both conversions. */
function runSelftest(td: TdVm, implicit: boolean): void {
  const accepted: bigint[] = [];

  assertStage(upmRun(td), SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST);
  // the guest's private writes do not show in the host's memory
  checkHostView(
    td,
    0,
    TEST_AREA_SIZE,
    PATTERN_CONFIDENCE_CHECK,
    "host view after the guest's private writes",
  );

  assertStage(runAndManageMemoryConversions(td, implicit, accepted), SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST);
  // host and guest share the focus area now; the general areas are still private
  checkHostView(
    td,
    FOCUS_AREA_OFFSET,
    FOCUS_AREA_SIZE,
    PATTERN_GUEST_FOCUS,
    "host view of the shared focus area",
  );
  checkHostGeneralAreas(td, PATTERN_CONFIDENCE_CHECK, "host view of private memory");
  td.writeStaging(
    TDX_UPM_TEST_AREA_GPA + FOCUS_AREA_OFFSET,
    new Uint8Array(FOCUS_AREA_SIZE).fill(PATTERN_HOST_FOCUS),
    "upm host write",
  );
  checkHostView(td, FOCUS_AREA_OFFSET, FOCUS_AREA_SIZE, PATTERN_HOST_FOCUS, "host write of the focus area");

  assertStage(
    runAndManageMemoryConversions(td, implicit, accepted),
    SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN,
  );
  // converting back to private does not clear the host's copy
  checkHostGeneralAreas(td, PATTERN_CONFIDENCE_CHECK, "host view of private memory");
  checkHostView(
    td,
    FOCUS_AREA_OFFSET,
    FOCUS_AREA_SIZE,
    PATTERN_HOST_FOCUS,
    "host view of the re-privatized focus area",
  );
  // every focus page came back as a fresh page the guest had to accept, once
  const hexList = (gpas: readonly bigint[]) => gpas.map((gpa) => `0x${gpa.toString(16)}`).join(", ");
  testAssert(
    hexList(accepted) === hexList(focusPages()),
    `GPAs the #VE handler accepted: [${hexList(accepted)}], expected the focus pages [${hexList(focusPages())}]`,
  );

  tdxTestAssertSuccess(upmRun(td));
}

function upmTestCase(name: string, implicit: boolean): TdxVmTestCase {
  return {
    name,
    run() {
      const entry = implicit ? "guest_upm_implicit" : "guest_upm_explicit";
      const { td } = bootTd(implicit ? implicitGuest() : explicitGuest(), {
        entries: [entry],
        beforeFinalize: (t, image) => {
          setUpUpmArea(t, image);
        },
      });
      runSelftest(td, implicit);
    },
  };
}

export const verifyUpmTestExplicit = upmTestCase("verify_upm_test_explicit", false);
export const verifyUpmTestImplicit = upmTestCase("verify_upm_test_implicit", true);
