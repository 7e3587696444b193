// `tdxsim run` on guests written with tdx-lib's guest-program builder (no compiler needed): the
// library's own reporting routines — tdx_test_success, tdx_test_report_to_user_space,
// tdx_test_report_64bit_to_user_space, tdx_test_fatal_with_data — decoded by the runner.
import { assembleGuestImage, GuestProgram } from "@tdxsim/tdx-lib";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { createTdGuestRunner } from "../src/td-runner/run-td-guest.js";
import { captureIo } from "./helpers/capture-io.js";
import { elfFromImage } from "./helpers/image-elf.js";

const ORIGIN = 0x40_0000;

function guestElf(program: GuestProgram, entry: string): Uint8Array {
  const image = assembleGuestImage({ origin: ORIGIN, program });
  return elfFromImage(image.bytes, ORIGIN, Number(image.symbol(entry)));
}

async function run(elf: Uint8Array, ...args: string[]) {
  const io = captureIo({ "g.elf": elf }, { stepMs: 250 });
  const guestRunner = createTdGuestRunner({ maxInstructions: 1_000_000, slice: 50_000 });
  const status = await main(["run", "g.elf", ...args], io, { selftests: () => [], guestRunner });
  const out = io.stdout.text.replace(/\(\d+ guest instructions, /, "(N guest instructions, ");
  return { status, out: out.trimEnd().split("\n"), stderr: io.stderr.text };
}

describe("tdxsim run with builder guests", () => {
  it("decodes the library's 32- and 64-bit reports and its success", async () => {
    const guest = new GuestProgram().fn("guest_main", (f) => {
      f.call("tdx_test_report_to_user_space", 0x1234);
      f.call("tdx_test_report_64bit_to_user_space", 0x0bad_cafe_dead_beefn);
      f.call("tdx_test_success");
    });
    const { status, out, stderr } = await run(guestElf(guest, "guest_main"));
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(out.slice(1)).toEqual([
      "vCPU 0: report #1: 0x00001234 (4660)",
      "vCPU 0: report #2: 0xdeadbeef (3735928559); with #1 as a 64-bit value (low half first): 0xdeadbeef00001234",
      "vCPU 0: report #3: 0x0badcafe (195939070); with #2 as a 64-bit value (low half first): 0x0badcafedeadbeef",
      "vCPU 0: success (tdx_test_success: port 0x30)",
      "result: PASS — the guest reported success (N guest instructions, 0.250 s)",
    ]);
  });

  it("tdx_test_fatal_with_data: the code, the data GPA (bit 63 set), exit 1", async () => {
    const guest = new GuestProgram().fn("guest_main", (f) => {
      f.call("tdx_test_fatal_with_data", 0x0baa_aaad_0000_0000n, 0x1000);
      f.call("tdx_test_success");
    });
    const { status, out } = await run(guestElf(guest, "guest_main"));
    expect(status).toBe(1);
    const fatal = "fatal error 0x8baaaaad00000000, data GPA 0x1000 (TDG.VP.VMCALL<ReportFatalError>)";
    expect(out.slice(1)).toEqual([
      `vCPU 0: ${fatal}`,
      `result: FAIL — vCPU 0 reported a ${fatal} (N guest instructions, 0.250 s)`,
    ]);
  });

  it("a native IN with no #VE handler in the image's IDT ends in a triple fault, exit 1", async () => {
    // tdxsim run installs no IDT gates (an ELF brings its own): the #VE of IN cannot be delivered.
    const guest = new GuestProgram().fn("guest_main", (f) => {
      f.inb(0x80);
      f.call("tdx_test_success");
    });
    const { status, out } = await run(guestElf(guest, "guest_main"));
    expect(status).toBe(1);
    expect(out.at(-1)).toMatch(
      /^result: FAIL — vCPU 0: unexpected exit KVM_EXIT_SHUTDOWN \(8\) \(triple fault: an exception the guest could not handle\)/,
    );
  });

  it("--max-instructions stops a guest that never reports at that limit, exit 1", async () => {
    const guest = new GuestProgram().fn("guest_main", (f) => {
      f.while(
        () => 1,
        () => {},
      );
    });
    const { status, out } = await run(guestElf(guest, "guest_main"), "--max-instructions", "30000");
    expect(status).toBe(1);
    expect(out.at(-1)).toMatch(
      /^result: FAIL — no result after 30000 guest instructions \(limit 30000\); the guest never reported success on port 0x30/,
    );
  });

  it("refuses runner options that are not positive integers", () => {
    expect(() => createTdGuestRunner({ slice: 0 })).toThrow(
      "TD guest runner option slice 0 is not a positive integer",
    );
    expect(() => createTdGuestRunner({ maxInstructions: 1.5 })).toThrow("option maxInstructions 1.5");
  });
});
