import { tdxVmTests } from "@tdxsim/tdx-vm-tests";
import { describe, expect, it } from "vitest";
import { SELFTESTS_USAGE } from "../src/commands/usage.js";
import { main } from "../src/main.js";
import type { SelftestCase } from "../src/runner/selftest-case.js";
import { captureIo } from "./helpers/capture-io.js";

const NAMES = [
  "verify_td_lifecycle",
  "verify_td_ioexit",
  "verify_guest_writes",
  "verify_guest_reads",
  "verify_mmio_reads",
  "verify_mmio_writes",
];

function suite(ran: string[] = []): SelftestCase[] {
  return NAMES.map((name) => ({ name, run: () => void ran.push(name) }));
}

async function selftests(args: string[], cases: readonly SelftestCase[] = suite()) {
  const io = captureIo();
  const status = await main(["selftests", ...args], io, { selftests: () => cases });
  return { status, stdout: io.stdout.text, stderr: io.stderr.text };
}

describe("tdxsim selftests", () => {
  it("runs the whole suite in order and exits 0 when all pass", async () => {
    const ran: string[] = [];
    const { status, stdout, stderr } = await selftests([], suite(ran));
    expect(status).toBe(0);
    expect(ran).toEqual(NAMES);
    expect(stdout.startsWith("TAP version 13\n1..6\n")).toBe(true);
    expect(stdout).toContain("ok 6 verify_mmio_writes\n");
    expect(stdout.endsWith("# Totals: pass:6 fail:0 xfail:0 xpass:0 skip:0 error:0\n")).toBe(true);
    expect(stderr).toBe("");
  });

  it("exits 1 when a test fails", async () => {
    const cases = suite();
    cases[2] = {
      name: "verify_guest_writes",
      run: () => {
        throw new Error("IO write of size 5 returned SUCCESS, expected TDG_VP_VMCALL_INVALID_OPERAND");
      },
    };
    const { status, stdout } = await selftests([], cases);
    expect(status).toBe(1);
    expect(stdout).toContain(
      "not ok 3 verify_guest_writes #  IO write of size 5 returned SUCCESS, expected TDG_VP_VMCALL_INVALID_OPERAND\n",
    );
  });

  it("--list prints the names one per line and runs nothing", async () => {
    const ran: string[] = [];
    const { status, stdout } = await selftests(["--list"], suite(ran));
    expect(status).toBe(0);
    expect(stdout).toBe(`${NAMES.join("\n")}\n`);
    expect(ran).toEqual([]);
  });

  it("--filter takes a substring", async () => {
    const ran: string[] = [];
    const { status, stdout } = await selftests(["--filter", "mmio"], suite(ran));
    expect(status).toBe(0);
    expect(ran).toEqual(["verify_mmio_reads", "verify_mmio_writes"]);
    expect(stdout).toContain("1..2\n");
    expect(stdout).toContain("ok 1 verify_mmio_reads\n");
  });

  it("--filter takes a glob matched against the whole name, and may be repeated", async () => {
    expect((await selftests(["--list", "--filter=verify_guest_*"])).stdout).toBe(
      "verify_guest_writes\nverify_guest_reads\n",
    );
    expect((await selftests(["--list", "--filter", "*_reads"])).stdout).toBe(
      "verify_guest_reads\nverify_mmio_reads\n",
    );
    expect((await selftests(["--list", "--filter", "verify_td_[il]*"])).stdout).toBe(
      "verify_td_lifecycle\nverify_td_ioexit\n",
    );
    expect((await selftests(["--list", "--filter", "ioexit", "--filter", "*writes"])).stdout).toBe(
      "verify_td_ioexit\nverify_guest_writes\nverify_mmio_writes\n",
    );
    // A glob must match the whole name: "mmio*" does not match "verify_mmio_reads".
    expect((await selftests(["--list", "--filter", "mmio*"])).status).toBe(1);
  });

  it("a filter that matches nothing is an error, not an empty pass", async () => {
    const { status, stdout, stderr } = await selftests(["--filter", "lifecylce"]);
    expect(status).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("tdxsim selftests: no selftest name matches --filter 'lifecylce' (see --list)\n");
  });

  it("with no suite registered, says so and exits KSFT_SKIP (4) instead of pretending", async () => {
    const run = await selftests([], []);
    expect(run.status).toBe(4);
    expect(run.stdout).toBe(
      "TAP version 13\n1..0 # SKIP no selftests are registered: the @tdxsim/tdx-vm-tests suite is not part of this build\n",
    );
    expect(run.stderr).toBe(
      "tdxsim selftests: no selftests are registered: the @tdxsim/tdx-vm-tests suite is not part of this build\n",
    );
    const list = await selftests(["--list"], []);
    expect(list.status).toBe(4);
    expect(list.stdout).toBe("");
    expect(list.stderr).toContain("no selftests are registered");
  });

  it("the default provider of this build is the tdx-vm-tests suite, in upstream order", async () => {
    const io = captureIo();
    expect(await main(["selftests", "--list"], io)).toBe(0);
    expect(io.stdout.text).toBe(tdxVmTests.map((t) => `${t.name}\n`).join(""));
    expect(io.stdout.text.startsWith("verify_td_lifecycle\n")).toBe(true);
  });

  it("reports a malformed suite in one line", async () => {
    const { status, stdout, stderr } = await selftests(
      [],
      [
        { name: "a", run() {} },
        { name: "a", run() {} },
      ],
    );
    expect(status).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe("tdxsim selftests: invalid selftest list: selftest #2: duplicate name a\n");
  });

  it("reports a provider that throws in one line, without a stack trace", async () => {
    const io = captureIo();
    const status = await main(["selftests"], io, {
      selftests: () => {
        throw new Error("tdx-vm-tests: guest library failed to assemble\n    at somewhere");
      },
    });
    expect(status).toBe(1);
    expect(io.stderr.text).toBe(
      "tdxsim selftests: internal error: Error: tdx-vm-tests: guest library failed to assemble\n",
    );
  });

  it("--help prints the command's usage on stdout", async () => {
    const { status, stdout } = await selftests(["--help"]);
    expect(status).toBe(0);
    expect(stdout).toBe(SELFTESTS_USAGE);
  });

  it.each([
    [["--bogus"], "unknown option '--bogus'"],
    [["-x"], "unknown option '-x'"],
    [["--filter"], "option '--filter' needs a value"],
    [["--filter="], "option '--filter' needs a value"],
    [["--filter", "--list"], "option '--filter' needs a value (write --filter=--list if that is the value)"],
    [["--list=yes"], "option '--list' takes no value"],
    [["--verbose=1"], "option '--verbose' takes no value"],
    [["lifecycle"], "takes no arguments, got 'lifecycle' (to select tests: --filter lifecycle)"],
  ])("refuses %j with a message and the usage, exit 2", async (args, message) => {
    const ran: string[] = [];
    const { status, stdout, stderr } = await selftests(args, suite(ran));
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`tdxsim selftests: ${message}\n\n${SELFTESTS_USAGE}`);
    expect(ran).toEqual([]);
  });
});
