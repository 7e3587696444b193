import { describe, expect, it } from "vitest";
import { MAIN_USAGE, RUN_USAGE, SELFTESTS_USAGE } from "../src/commands/usage.js";
import { main } from "../src/main.js";
import { captureIo } from "./helpers/capture-io.js";

async function tdxsim(...argv: string[]) {
  const io = captureIo();
  const status = await main(argv, io, { selftests: () => [] });
  return { status, stdout: io.stdout.text, stderr: io.stderr.text };
}

describe("tdxsim", () => {
  it.each([["--help"], ["-h"], ["help"]])("%s prints the usage on stdout, exit 0", async (flag) => {
    expect(await tdxsim(flag)).toEqual({ status: 0, stdout: MAIN_USAGE, stderr: "" });
  });

  it("help <command> prints that command's usage", async () => {
    expect((await tdxsim("help", "selftests")).stdout).toBe(SELFTESTS_USAGE);
    expect((await tdxsim("help", "run")).stdout).toBe(RUN_USAGE);
  });

  it("--version prints the package version", async () => {
    const { status, stdout } = await tdxsim("--version");
    expect(status).toBe(0);
    expect(stdout).toMatch(/^tdxsim \d+\.\d+\.\d+\n$/);
  });

  it.each([
    [[], "no command given"],
    [["selftest"], "unknown command 'selftest'"],
    [["--verbose"], "unknown option '--verbose'"],
    [["-v"], "unknown option '-v'"],
    [["--version", "x"], "--version takes no arguments, got 'x'"],
    [["help", "frobnicate"], "no help for 'frobnicate'"],
    [["help", "constructor"], "no help for 'constructor'"],
    [["help", "run", "selftests"], "no help for 'run selftests'"],
  ])("refuses %j with the usage on stderr, exit 2", async (argv, message) => {
    expect(await tdxsim(...argv)).toEqual({
      status: 2,
      stdout: "",
      stderr: `tdxsim: ${message}\n\n${MAIN_USAGE}`,
    });
  });
});
