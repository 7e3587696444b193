import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MAIN_USAGE } from "../src/commands/usage.js";
import { minimalElf } from "./helpers/minimal-elf.js";

// The bin as a real process, from its TypeScript source, the way tools/bench runs: node with
// the @tdxsim/source export condition and the tsx loader.
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function node(entry: string, args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=@tdxsim/source", "--import", "tsx", entry, ...args],
      { cwd: PACKAGE_DIR, env: { ...process.env, CI: "", FORCE_COLOR: "0", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error ? ((error as { code?: number }).code ?? null) : 0;
        resolve({ status: typeof status === "number" ? status : null, stdout, stderr });
      },
    );
  });
}

const tdxsim = (...args: string[]) => node("src/bin.ts", args);

const dir = mkdtempSync(join(tmpdir(), "tdxsim-cli-"));
const goodElf = join(dir, "guest.elf");
const armElf = join(dir, "arm.elf");
writeFileSync(goodElf, minimalElf());
writeFileSync(armElf, minimalElf({ machine: 40 }));

// The cases run concurrently, each spawning node + tsx: on a loaded 2-core machine that takes a while.
describe.concurrent("the tdxsim bin as a process", { timeout: 180_000 }, () => {
  it("--help prints the usage and exits 0", async () => {
    expect(await tdxsim("--help")).toEqual({ status: 0, stdout: MAIN_USAGE, stderr: "" });
  });

  it("selftests in this build runs the tdx-vm-tests suite: KTAP, totals, exit 0", async () => {
    const result = await tdxsim("selftests", "--filter", "verify_td_ioexit");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^TAP version 13\n1\.\.1\n/);
    expect(result.stdout).toMatch(/^ok 1 verify_td_ioexit$/m);
    expect(result.stdout).toContain("# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0");
  });

  it("run: boots a valid ELF in a TD; a guest without an IDT ends in a triple fault, exit 1", async () => {
    const result = await tdxsim("run", goodElf, "--vcpus", "2");
    expect(result.stderr).toBe("");
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`${goodElf}: ET_EXEC, entry 0x400078, 2 vCPUs; TD finalized\n`);
    expect(result.stdout).toMatch(
      /\nresult: FAIL — vCPU 0: unexpected exit KVM_EXIT_SHUTDOWN \(8\) \(triple fault/,
    );
  });

  it("run: bad files get one line naming the problem, exit 2, no stack trace", async () => {
    const arm = await tdxsim("run", armElf);
    expect(arm).toEqual({
      status: 2,
      stdout: "",
      stderr: `tdxsim run: ${armElf} is not a usable guest ELF: e_machine: machine 40 is not EM_X86_64 (62)\n`,
    });
    const missing = await tdxsim("run", join(dir, "nope.elf"));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`tdxsim run: cannot read ${join(dir, "nope.elf")}: ENOENT (no such file)\n`);
    const directory = await tdxsim("run", dir);
    expect(directory.status).toBe(2);
    expect(directory.stderr).toBe(`tdxsim run: cannot read ${dir}: EISDIR (is a directory)\n`);
  });

  it("a bad command line exits 2 with the usage", async () => {
    const result = await tdxsim("frobnicate");
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`tdxsim: unknown command 'frobnicate'\n\n${MAIN_USAGE}`);
  });

  it("runs a suite and prints KTAP on a pipe, no progress codes, exit 0 / 1", async () => {
    const pass = await node("test/fixtures/fixture-suite-bin.ts", ["selftests"]);
    expect(pass.status).toBe(0);
    expect(pass.stderr).toBe("");
    const lines = pass.stdout.split("\n");
    expect(lines.slice(0, 2)).toEqual(["TAP version 13", "1..3"]);
    expect(lines).toContain("ok 1 verify_td_lifecycle");
    expect(lines).toContain("ok 2 verify_report_fatal_error");
    expect(lines).toContain("ok 3 verify_tdcall_vp_info # SKIP needs 2 vCPUs");
    expect(lines).toContain("# PASSED: 3 / 3 tests passed.");
    expect(lines.filter((l) => /^# verify_\w+: \d+\.\d{3} ms$/.test(l))).toHaveLength(3);
    expect(lines.some((l) => /^# Total time: \d+\.\d{3} s$/.test(l))).toBe(true);
    expect(pass.stdout.endsWith("# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:1 error:0\n")).toBe(true);

    const fail = await node("test/fixtures/fixture-suite-bin.ts", ["selftests"], { FIXTURE_FAIL: "1" });
    expect(fail.status).toBe(1);
    expect(fail.stdout).toMatch(
      /# KVM_EXIT_SYSTEM_EVENT type KVM_SYSTEM_EVENT_TDX_FATAL\n# verify_report_fatal_error: \d+\.\d{3} ms\nnot ok 2 verify_report_fatal_error # {2}data\[12\] = 0x0, expected 0x0baaaaad00000000\n/,
    );
    expect(fail.stdout.endsWith("# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0\n")).toBe(true);
    expect(fail.stderr).toBe("");
  });

  it("an error a test left behind fails that test, not the whole run", async () => {
    const result = await node("test/fixtures/fixture-suite-bin.ts", ["selftests"], { FIXTURE_UNCAUGHT: "1" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.split("\n");
    expect(lines).toContain(
      "not ok 4 leaves_a_rejection_behind #  unhandledRejection: KVM_RUN failed: EINVAL",
    );
    expect(lines).toContain(
      "not ok 5 throws_from_a_timer #  uncaughtException: RangeError: GPA 0x10000000000000 is past 2^52",
    );
    expect(lines).toContain("ok 6 runs_after_them");
    expect(result.stdout.endsWith("# Totals: pass:3 fail:2 xfail:0 xpass:0 skip:1 error:0\n")).toBe(true);
  });

  // util-linux script(1) gives the process a pseudo-terminal: the progress line must appear there
  // and never in the KTAP on stdout.
  it.skipIf(!hasScriptCommand())("draws the progress line on a terminal's stderr only", async () => {
    const out = join(dir, "ktap.txt");
    const command = `'${process.execPath}' --conditions=@tdxsim/source --import tsx test/fixtures/fixture-suite-bin.ts selftests > '${out}'`;
    const terminal = await new Promise<string>((resolve, reject) => {
      execFile(
        "script",
        ["-qec", command, "/dev/null"],
        { cwd: PACKAGE_DIR, env: { ...process.env, CI: "", TERM: "xterm" }, timeout: 60_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
    expect(terminal).toContain("\r\x1b[2K[1/3] verify_td_lifecycle");
    expect(terminal).toContain("\r\x1b[2K[3/3] verify_tdcall_vp_info");
    expect(terminal.endsWith("\r\x1b[2K")).toBe(true);
    const ktap = readFileSync(out, "utf8");
    expect(ktap.startsWith("TAP version 13\n1..3\n")).toBe(true);
    expect(ktap).not.toContain("\x1b");
  });
});

function hasScriptCommand(): boolean {
  try {
    return execFileSync("script", ["--version"], { encoding: "utf8" }).includes("util-linux");
  } catch {
    return false;
  }
}
