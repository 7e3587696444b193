import { describe, expect, it } from "vitest";
import { RUN_USAGE } from "../src/commands/usage.js";
import type { TdGuestRunRequest } from "../src/guest-runner.js";
import { main } from "../src/main.js";
import { captureIo } from "./helpers/capture-io.js";
import { MINIMAL_ELF_BASE, minimalElf } from "./helpers/minimal-elf.js";

const GUEST = minimalElf();

/** main() without a TD runner: what the command line and the ELF checks do on their own. */
async function run(args: string[], files: Record<string, Uint8Array> = { "guest.elf": GUEST }) {
  const io = captureIo(files);
  const status = await main(["run", ...args], io, { selftests: () => [], guestRunner: undefined });
  return { status, stdout: io.stdout.text, stderr: io.stderr.text };
}

describe("tdxsim run", () => {
  it("without a TD runner: validates the ELF, then says the runner is missing (exit 2)", async () => {
    const { status, stdout, stderr } = await run(["guest.elf", "--vcpus", "4", "--trace"]);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe("tdxsim run: running TD guests needs @tdxsim/kvm, not available in this build\n");
  });

  it("hands the loaded image and options to the runner plugged into the seam", async () => {
    const io = captureIo({ "guest.elf": GUEST });
    const requests: TdGuestRunRequest[] = [];
    const status = await main(["run", "--vcpus=2", "guest.elf", "--trace"], io, {
      selftests: () => [],
      guestRunner: async (request, runIo) => {
        requests.push(request);
        runIo.stdout.write("guest result: success\n");
        return 0;
      },
    });
    expect(status).toBe(0);
    expect(io.stdout.text).toBe("guest result: success\n");
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe("guest.elf");
    expect(requests[0].vcpus).toBe(2);
    expect(requests[0].trace).toBe(true);
    expect(requests[0].maxInstructions).toBeUndefined();
    expect(requests[0].image.type).toBe("ET_EXEC");
    expect(requests[0].image.entry).toBe(MINIMAL_ELF_BASE + 120);
  });

  it("passes the runner's exit status through", async () => {
    const io = captureIo({ "guest.elf": GUEST });
    const requests: TdGuestRunRequest[] = [];
    const status = await main(["run", "guest.elf"], io, {
      selftests: () => [],
      guestRunner: async (request) => {
        requests.push(request);
        return 1;
      },
    });
    expect(status).toBe(1);
    expect(requests.map(({ vcpus, trace }) => ({ vcpus, trace }))).toEqual([{ vcpus: 1, trace: false }]);
  });

  it("passes --max-instructions to the runner", async () => {
    const io = captureIo({ "guest.elf": GUEST });
    const requests: TdGuestRunRequest[] = [];
    await main(["run", "guest.elf", "--max-instructions", "123456"], io, {
      selftests: () => [],
      guestRunner: async (request) => {
        requests.push(request);
        return 0;
      },
    });
    expect(requests[0].maxInstructions).toBe(123456);
  });

  it.each([
    ["an empty file", new Uint8Array(0), "e_ident: truncated ELF header"],
    ["a text file", new TextEncoder().encode("#!/bin/sh\necho hi\n"), "e_ident"],
    ["an ARM ELF", minimalElf({ machine: 40 }), "e_machine: machine 40 is not EM_X86_64 (62)"],
    [
      "an entry outside the image",
      minimalElf({ entryOffset: 0x5000 }),
      "e_entry: 0x405000 is not inside an executable PT_LOAD segment",
    ],
    [
      "an entry in a non-executable segment",
      minimalElf({ flags: 4 }),
      "e_entry: 0x400078 is not inside an executable PT_LOAD segment",
    ],
  ])("refuses %s in one line naming the field, exit 2", async (_what, bytes, message) => {
    const { status, stdout, stderr } = await run(["bad.elf"], { "bad.elf": bytes });
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.startsWith(`tdxsim run: bad.elf is not a usable guest ELF: ${message}`)).toBe(true);
    expect(stderr.split("\n")).toHaveLength(2);
    expect(stderr).not.toMatch(/\s+at /);
  });

  it("refuses a missing file with its errno name, exit 2", async () => {
    const { status, stderr } = await run(["missing.elf"]);
    expect(status).toBe(2);
    expect(stderr).toBe("tdxsim run: cannot read missing.elf: ENOENT (no such file)\n");
  });

  it("--help prints the command's usage on stdout", async () => {
    const { status, stdout } = await run(["--help"]);
    expect(status).toBe(0);
    expect(stdout).toBe(RUN_USAGE);
  });

  it.each([
    [[], "missing the guest ELF file"],
    [["a.elf", "b.elf"], "takes one guest ELF file, got 2: a.elf b.elf"],
    [["guest.elf", "--vcpus"], "option '--vcpus' needs a value"],
    [
      ["guest.elf", "--vcpus", "--trace"],
      "option '--vcpus' needs a value (write --vcpus=--trace if that is the value)",
    ],
    [["guest.elf", "--vcpus", "0"], "--vcpus '0' is not a whole number from 1 to 65535"],
    [["guest.elf", "--vcpus", "65536"], "--vcpus '65536' is not a whole number from 1 to 65535"],
    [["guest.elf", "--vcpus", "2.5"], "--vcpus '2.5' is not a whole number from 1 to 65535"],
    [["guest.elf", "--vcpus", "0x4"], "--vcpus '0x4' is not a whole number from 1 to 65535"],
    [["guest.elf", "--vcpus=1", "--vcpus=2"], "option '--vcpus' given more than once"],
    [["guest.elf", "--trace=yes"], "option '--trace' takes no value"],
    [
      ["guest.elf", "--max-instructions", "0"],
      "--max-instructions '0' is not a whole number from 1 to 2^53 − 1",
    ],
    [
      ["guest.elf", "--max-instructions=1e6"],
      "--max-instructions '1e6' is not a whole number from 1 to 2^53 − 1",
    ],
    [
      ["guest.elf", "--max-instructions", "9007199254740992"],
      "--max-instructions '9007199254740992' is not a whole number from 1 to 2^53 − 1",
    ],
    [["guest.elf", "--verbose"], "unknown option '--verbose'"],
  ])("refuses %j with a message and the usage, exit 2", async (args, message) => {
    const { status, stdout, stderr } = await run(args);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe(`tdxsim run: ${message}\n\n${RUN_USAGE}`);
  });

  it("takes a file name starting with '-' after --", async () => {
    const { status, stderr } = await run(["--", "-guest.elf"], { "-guest.elf": GUEST });
    expect(status).toBe(2);
    expect(stderr).toBe("tdxsim run: running TD guests needs @tdxsim/kvm, not available in this build\n");
  });

  it("checks the command line before reading the file", async () => {
    const { status, stderr } = await run(["missing.elf", "--vcpus", "0"]);
    expect(status).toBe(2);
    expect(stderr).toContain("--vcpus '0'");
  });
});
