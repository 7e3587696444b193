// `tdxsim run` end to end: a freestanding C guest (test/guests/run-scenarios.c) compiled with the
// system gcc — through tdx-lib's own gcc helper — loaded, built into a TD by the host half and run
// through KVM_RUN; one compilation, the scenario chosen by patching a marker value in the file.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LoadedElf } from "@tdxsim/tdx-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CompiledGuest,
  compileGuests,
  type GuestBuild,
  gccAvailable,
} from "../../tdx-lib/test/elf/gcc-guest.js";
import { main } from "../src/main.js";
import { tdMemorySizeFor } from "../src/td-runner/build-td.js";
import { createTdGuestRunner } from "../src/td-runner/run-td-guest.js";
import { captureIo } from "./helpers/capture-io.js";

const SOURCE = readFileSync(fileURLToPath(new URL("guests/run-scenarios.c", import.meta.url)), "utf8");
const SCENARIO_MARKER = 0x5ce7a810b0000000n;
const Scenario = { REPORTS: 0n, FATAL: 1n, RUNAWAY: 2n, HALT: 3n, VMCALL_INFO_LEAF1: 4n } as const;

/** A copy of the ELF whose `scenario` constant is `value` (the marker is found, exactly once). */
function withScenario(elf: Uint8Array, value: bigint): Uint8Array {
  const marker = new Uint8Array(8);
  new DataView(marker.buffer).setBigUint64(0, SCENARIO_MARKER, true);
  const at: number[] = [];
  for (let i = 0; i + 8 <= elf.length; i++) {
    if (marker.every((b, j) => elf[i + j] === b)) at.push(i);
  }
  expect(at).toHaveLength(1);
  const copy = elf.slice();
  new DataView(copy.buffer).setBigUint64(at[0]!, SCENARIO_MARKER + value, true);
  return copy;
}

const guestRunner = createTdGuestRunner({ maxInstructions: 2_000_000, slice: 100_000 });

async function tdxsimRun(elf: Uint8Array, ...args: string[]) {
  const io = captureIo({ "guest.elf": elf }, { stepMs: 500 });
  const status = await main(["run", "guest.elf", ...args], io, { selftests: () => [], guestRunner });
  return { status, stdout: io.stdout.text, stderr: io.stderr.text };
}

/** Output lines without the run's instruction count (it depends on gcc's code). */
function lines(stdout: string): string[] {
  return stdout
    .trimEnd()
    .split("\n")
    .map((l) => l.replace(/\(\d+ guest instructions, /, "(N guest instructions, "));
}

describe.skipIf(!gccAvailable())("tdxsim run with a gcc-built guest", () => {
  let guests: Record<GuestBuild, CompiledGuest>;
  let cleanup: () => void;
  beforeAll(() => {
    ({ guests, cleanup } = compileGuests(SOURCE));
  });
  afterAll(() => cleanup());

  it("prints each exit decoded — reports, a 64-bit pair, IO — and the success, exit 0", async () => {
    const { status, stdout, stderr } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.REPORTS));
    expect(stderr).toBe("");
    expect(status).toBe(0);
    const entry = lines(stdout)[0]!.match(/entry (0x[0-9a-f]+)/)![1];
    expect(lines(stdout)).toEqual([
      `guest.elf: ET_EXEC, entry ${entry}, 1 vCPU; TD finalized`,
      "vCPU 0: report #1: 0x00000000 (0)",
      "vCPU 0: report #2: 0x0000abcd (43981); with #1 as a 64-bit value (low half first): 0x0000abcd00000000",
      "vCPU 0: report #3: 0x55667788 (1432778632); with #2 as a 64-bit value (low half first): 0x556677880000abcd",
      "vCPU 0: report #4: 0x11223344 (287454020); with #3 as a 64-bit value (low half first): 0x1122334455667788",
      "vCPU 0: OUT port 0x50 (TDX_IOEXIT_TEST_PORT), size 1: 0xab",
      "vCPU 0: IN port 0x50 (TDX_IOEXIT_TEST_PORT), size 1: answered 0x0",
      "vCPU 0: report #5: 0x00000000 (0); with #4 as a 64-bit value (low half first): 0x0000000011223344",
      "vCPU 0: success (tdx_test_success: port 0x30)",
      "result: PASS — the guest reported success (N guest instructions, 0.500 s)",
    ]);
  });

  it("--vcpus 3: every vCPU boots at the entry, reports its own TDG.VP.INFO index and succeeds", async () => {
    const { status, stdout } = await tdxsimRun(
      withScenario(guests.pie.bytes, Scenario.REPORTS),
      "--vcpus",
      "3",
    );
    expect(status).toBe(0);
    const out = lines(stdout);
    expect(out[0]).toMatch(/^guest\.elf: ET_DYN, entry 0x[0-9a-f]+, 3 vCPUs; TD finalized$/);
    for (const index of [0, 1, 2]) {
      expect(out).toContain(`vCPU ${index}: report #1: 0x0000000${index} (${index})`);
      expect(out).toContain(`vCPU ${index}: success (tdx_test_success: port 0x30)`);
    }
    expect(out.at(-1)).toBe("result: PASS — all 3 vCPUs reported success (N guest instructions, 0.500 s)");
  });

  it("--trace adds every exit's kvm_run fields and the instruction slices that ran out", async () => {
    const { status, stdout } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.REPORTS), "--trace");
    expect(status).toBe(0);
    const out = lines(stdout);
    expect(out).toContain(
      "vCPU 0: exit 1: KVM_EXIT_IO (2) port 0x31, size 4, direction OUT (1), data 0x00000000",
    );
    expect(out).toContain("vCPU 0: exit 6: KVM_EXIT_IO (2) port 0x50, size 1, direction IN (0)");
    expect(out).toContain(
      "vCPU 0: exit 8: KVM_EXIT_IO (2) port 0x30, size 4, direction OUT (1), data 0x00000000",
    );
  });

  it("a ReportFatalError ends the run with the code and data GPA, exit 1", async () => {
    const { status, stdout, stderr } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.FATAL));
    expect(stderr).toBe("");
    expect(status).toBe(1);
    const fatal = "fatal error 0x8baaaaad00000000, data GPA 0x1000 (TDG.VP.VMCALL<ReportFatalError>)";
    expect(lines(stdout).slice(1)).toEqual([
      `vCPU 0: ${fatal}`,
      `result: FAIL — vCPU 0 reported a ${fatal} (N guest instructions, 0.500 s)`,
    ]);
  });

  it("a guest that never reports is stopped at the instruction limit, exit 1", async () => {
    const { status, stdout } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.RUNAWAY), "--trace");
    expect(status).toBe(1);
    const out = lines(stdout);
    expect(out.filter((l) => l.includes("KVM_EXIT_INTR (instruction slice used up"))).toHaveLength(20);
    expect(out.at(-1)).toMatch(
      /^result: FAIL — no result after 2000000 guest instructions \(limit 2000000\); the guest never reported success on port 0x30 \(N guest/,
    );
  });

  it("a vCPU halted with nothing to wake it fails the run, exit 1", async () => {
    const { status, stdout } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.HALT));
    expect(status).toBe(1);
    expect(lines(stdout).at(-1)).toMatch(
      /^result: FAIL — vCPU 0 halted with nothing to wake it before reporting success \(KVM_RUN: EINTR, mp_state HALTED\)/,
    );
  });

  it("a KVM_EXIT_TDX (GetTdVmCallInfo leaf 1) is printed and answered with KVM's preset values", async () => {
    const { status, stdout } = await tdxsimRun(withScenario(guests.exec.bytes, Scenario.VMCALL_INFO_LEAF1));
    expect(status).toBe(0);
    const out = lines(stdout);
    const line = out.find((l) => l.startsWith("vCPU 0: KVM_EXIT_TDX getTdVmCallInfo (TDVMCALL 0x10000)"));
    expect(line).toMatch(/: answered with KVM's preset ret 0x[0-9a-f]{16}, leaf 1, R11\.\.R14 /);
    const ret = BigInt(line!.match(/preset ret (0x[0-9a-f]+)/)![1]!);
    const r11 = line!.match(/R11\.\.R14 (0x[0-9a-f]+)/)![1];
    // The guest reports the status and R11 it got: exactly what KVM preset.
    expect(out).toContain(
      `vCPU 0: report #2: 0x${(ret >> 32n).toString(16).padStart(8, "0")} (${ret >> 32n}); with #1 as a 64-bit value (low half first): 0x${ret.toString(16).padStart(16, "0")}`,
    );
    expect(out.find((l) => l.startsWith("vCPU 0: report #4:"))).toMatch(
      new RegExp(`64-bit value \\(low half first\\): 0x0*${r11!.slice(2)}$`),
    );
  });

  it("runs the stripped ET_EXEC and the static PIE with packed relocations (DT_RELR) alike", async () => {
    for (const build of ["stripped", "relr"] as const) {
      const { status, stdout } = await tdxsimRun(withScenario(guests[build].bytes, Scenario.REPORTS));
      expect(status).toBe(0);
      expect(stdout).toContain(
        "vCPU 0: report #4: 0x11223344 (287454020); with #3 as a 64-bit value (low half first): 0x1122334455667788\n",
      );
    }
  });
});

describe("tdMemorySizeFor", () => {
  it("keeps the library's 64 MiB default, or covers an image linked higher plus 2 MiB", () => {
    const image = (gpa: number, size: number) =>
      ({ chunks: [{ gpa, bytes: new Uint8Array(size) }] }) as unknown as LoadedElf;
    expect(tdMemorySizeFor(image(0x40_0000, 0x1000))).toBe(64 << 20);
    expect(tdMemorySizeFor(image(0x800_0000, 0x1000))).toBe(0x800_0000 + (4 << 20));
  });
});
