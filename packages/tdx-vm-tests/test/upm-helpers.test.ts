// upm_check (unrolled to UPM_HELPER_STRIDE bytes per pass) must catch a wrong quadword in any slot
// of a pass, and upm_fill must write every slot: each case fills an array, spoils one quadword, and
// expects the check's own failure code in the guest's ReportFatalError.
import { GuestProgram, tdVcpuRun, tdxTestAssertFatal, tdxTestAssertSuccess } from "@tdxsim/tdx-lib";
import { describe, it } from "vitest";
import { bootTd } from "../src/td-setup.js";
import { addUpmGuestHelpers, quad, UPM_HELPER_STRIDE } from "../src/tests/upm-test-area.js";

const BYTES = 4 * UPM_HELPER_STRIDE;
const PATTERN = quad(0x5c);
const CHECK_CODE = 0x7c01;

/** Fills BYTES of a stack array, then (unless `spoil` is undefined) stores 0 at that offset, then checks. */
function run(spoil: number | undefined) {
  const program = addUpmGuestHelpers(new GuestProgram()).fn("guest_code", (f) => {
    const area = f.array(BYTES);
    f.call("upm_fill", area.address, BYTES, PATTERN);
    if (spoil !== undefined) f.store(8, area.address, 0, spoil);
    f.call("upm_check", area.address, BYTES, PATTERN, CHECK_CODE);
    f.call("tdx_test_success");
  });
  const { td } = bootTd(program, { entries: ["guest_code"] });
  return tdVcpuRun(td);
}

describe("UPM guest helpers", () => {
  it("upm_check passes an area upm_fill filled", () => {
    tdxTestAssertSuccess(run(undefined));
  });
  for (const offset of [0, UPM_HELPER_STRIDE - 8, 2 * UPM_HELPER_STRIDE + 24, BYTES - 8]) {
    it(`upm_check reports its code for a wrong quadword at offset ${offset}`, () => {
      tdxTestAssertFatal(run(offset), BigInt(CHECK_CODE));
    });
  }
});
