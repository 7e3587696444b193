import { describe, expect, it } from "vitest";
import { createProgress } from "../src/runner/progress.js";
import { runSelftests } from "../src/runner/run-selftests.js";
import { type SelftestCase, SelftestListError } from "../src/runner/selftest-case.js";
import { manualUncaughtTrap } from "../src/runner/uncaught-trap.js";
import { capturedStream, steppingClock } from "./helpers/capture-io.js";

/** What a failed host-side check throws (the shape of tdx-lib's TDX_TEST_ASSERT_* errors). */
class TdxTestAssertionError extends Error {
  override name = "TdxTestAssertionError";
}

/** One case of each kind the runner must report. */
const MIXED: SelftestCase[] = [
  { name: "verify_td_lifecycle", run: () => {} },
  {
    name: "verify_td_ioexit",
    run: (ctx) => {
      ctx.log("port 0x50 read returned 0xab");
      throw new TdxTestAssertionError("guest read 0xab on port 0x50, expected 0xac");
    },
  },
  {
    name: "verify_guest_msr_reads",
    run: () => {
      throw new TypeError("Cannot read properties of undefined (reading 'exitReason')");
    },
  },
  {
    name: "verify_mmio_reads",
    run: async () => {
      await Promise.resolve();
      throw new Error("KVM_RUN: unexpected exit KVM_EXIT_IO\nexpected KVM_EXIT_MMIO at GPA 0x200000000");
    },
  },
  { name: "verify_tdcall_vp_info", run: (ctx) => ctx.skip("needs 2 vCPUs, KVM_CAP_MAX_VCPUS is 1") },
  { name: "verify_shared_mem", run: async (ctx) => ctx.log("guest wrote 0xcafecafe") },
];

async function ktapOf(cases: readonly SelftestCase[], verbose = false) {
  const stdout = capturedStream();
  const summary = await runSelftests(cases, { stdout, verbose, now: steppingClock(0.25) });
  return { text: stdout.text, summary };
}

describe("runSelftests KTAP", () => {
  it("prints passing, failing, throwing, async-rejecting and skipped cases as kselftest does", async () => {
    const { text, summary } = await ktapOf(MIXED);
    expect(text).toBe(
      [
        "TAP version 13",
        "1..6",
        "# verify_td_lifecycle: 0.250 ms",
        "ok 1 verify_td_lifecycle",
        "# port 0x50 read returned 0xab",
        "# verify_td_ioexit: 0.250 ms",
        "not ok 2 verify_td_ioexit #  TdxTestAssertionError: guest read 0xab on port 0x50, expected 0xac",
        "# verify_guest_msr_reads: 0.250 ms",
        "not ok 3 verify_guest_msr_reads #  TypeError: Cannot read properties of undefined (reading 'exitReason')",
        "# KVM_RUN: unexpected exit KVM_EXIT_IO",
        "# expected KVM_EXIT_MMIO at GPA 0x200000000",
        "# verify_mmio_reads: 0.250 ms",
        "not ok 4 verify_mmio_reads #  KVM_RUN: unexpected exit KVM_EXIT_IO",
        "# verify_tdcall_vp_info: 0.250 ms",
        "ok 5 verify_tdcall_vp_info # SKIP needs 2 vCPUs, KVM_CAP_MAX_VCPUS is 1",
        "# verify_shared_mem: 0.250 ms",
        "ok 6 verify_shared_mem",
        "# FAILED: 3 / 6 tests passed.",
        "# Total time: 0.003 s",
        "# Totals: pass:2 fail:3 xfail:0 xpass:0 skip:1 error:0",
        "",
      ].join("\n"),
    );
    expect(summary.exitCode).toBe(1);
    expect(summary.counts).toEqual({ pass: 2, fail: 3, xfail: 0, xpass: 0, skip: 1, error: 0 });
    expect(summary.results.map((r) => r.status)).toEqual(["pass", "fail", "fail", "fail", "skip", "pass"]);
  });

  it("exits 0 with PASSED when every case passes", async () => {
    const { text, summary } = await ktapOf([MIXED[0], MIXED[5]]);
    expect(text).toBe(
      [
        "TAP version 13",
        "1..2",
        "# verify_td_lifecycle: 0.250 ms",
        "ok 1 verify_td_lifecycle",
        "# verify_shared_mem: 0.250 ms",
        "ok 2 verify_shared_mem",
        "# PASSED: 2 / 2 tests passed.",
        "# Total time: 0.001 s",
        "# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0",
        "",
      ].join("\n"),
    );
    expect(summary.exitCode).toBe(0);
  });

  it("counts a skip as passed for the exit status, like ksft_finished()", async () => {
    const { text, summary } = await ktapOf([MIXED[0], MIXED[4]]);
    expect(text).toContain("# PASSED: 2 / 2 tests passed.\n");
    expect(text).toContain("# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\n");
    expect(summary.exitCode).toBe(0);
  });

  it("with verbose, prints logs as they come and the stack frames of failures", async () => {
    const { text } = await ktapOf([MIXED[5], MIXED[2]], true);
    const lines = text.split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "TAP version 13",
      "1..2",
      "# guest wrote 0xcafecafe",
      "# verify_shared_mem: 0.250 ms",
      "ok 1 verify_shared_mem",
    ]);
    const result = lines.indexOf(
      "not ok 2 verify_guest_msr_reads #  TypeError: Cannot read properties of undefined (reading 'exitReason')",
    );
    const frames = lines.slice(5, result - 1);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(frame).toMatch(/^# at /);
    expect(frames.join("\n")).toContain("run-selftests.test.ts");
  });

  it("reports a thrown non-Error value, an empty message and a multi-line log", async () => {
    const { text } = await ktapOf([
      {
        name: "throws_string",
        run: () => {
          throw "0xC000010000000000";
        },
      },
      {
        name: "rejects_undefined",
        run: () => Promise.reject(undefined),
      },
      {
        name: "empty_message",
        run: (ctx) => {
          ctx.log("RAX 0x0\n\nRCX 0x10");
          throw new RangeError("");
        },
      },
    ]);
    expect(text).toContain("not ok 1 throws_string #  threw a non-Error value: '0xC000010000000000'\n");
    expect(text).toContain("not ok 2 rejects_undefined #  threw a non-Error value: undefined\n");
    expect(text).toContain(
      "# RAX 0x0\n#\n# RCX 0x10\n# empty_message: 0.250 ms\nnot ok 3 empty_message #  RangeError: (no message)\n",
    );
  });

  it("fails a case whose promise never settles, then goes on", async () => {
    const stdout = capturedStream();
    const summary = await runSelftests(
      [
        { name: "hangs", run: () => new Promise<void>(() => {}) },
        { name: "after", run: () => {} },
      ],
      { stdout, now: steppingClock(1), timeoutMs: 20 },
    );
    expect(stdout.text).toContain("not ok 1 hangs #  SelftestTimeout: did not finish within 20 ms\n");
    expect(stdout.text).toContain("ok 2 after\n");
    expect(summary.exitCode).toBe(1);
  });

  it("drops the log of passing cases unless verbose, and ignores logs after a case ended", async () => {
    let late: ((text: string) => void) | undefined;
    const { text } = await ktapOf([
      {
        name: "keeps_ctx",
        run: (ctx) => {
          ctx.log("not shown");
          late = (t) => ctx.log(t);
        },
      },
      { name: "next", run: () => late?.("late line") },
    ]);
    expect(text).not.toContain("not shown");
    expect(text).not.toContain("late line");
  });

  it("refuses a malformed list before printing anything", async () => {
    const bad: [unknown[], RegExp][] = [
      [[{ name: "", run() {} }], /selftest #1 has no name/],
      [[{ name: "a # b", run() {} }], /must be one line without "#"/],
      [[{ name: "two\nlines", run() {} }], /must be one line/],
      [
        [
          { name: "x", run() {} },
          { name: "x", run() {} },
        ],
        /selftest #2: duplicate name x/,
      ],
      [[{ name: "norun" }], /selftest #1 \(norun\) has no run function/],
    ];
    for (const [cases, message] of bad) {
      const stdout = capturedStream();
      await expect(runSelftests(cases as SelftestCase[], { stdout })).rejects.toThrow(SelftestListError);
      await expect(runSelftests(cases as SelftestCase[], { stdout })).rejects.toThrow(message);
      expect(stdout.text).toBe("");
    }
  });

  it("prints an empty plan and PASSED 0 / 0 for an empty list (the command refuses it earlier)", async () => {
    const { text, summary } = await ktapOf([]);
    expect(text).toBe(
      "TAP version 13\n1..0\n# PASSED: 0 / 0 tests passed.\n# Total time: 0.000 s\n" +
        "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n",
    );
    expect(summary.exitCode).toBe(0);
  });
});

describe("errors that escape a case (uncaught trap)", () => {
  it("fails the running case, including one reported just after it returned", async () => {
    const trap = manualUncaughtTrap();
    const stdout = capturedStream();
    const summary = await runSelftests(
      [
        { name: "during", run: () => trap.onError?.(new Error("left behind"), "unhandledRejection") },
        {
          name: "just_after",
          run: () => void setImmediate(() => trap.onError?.("a string", "uncaughtException")),
        },
        { name: "clean", run: () => {} },
      ],
      { stdout, uncaught: trap, now: steppingClock(0.25) },
    );
    expect(stdout.text).toContain("not ok 1 during #  unhandledRejection: left behind\n");
    expect(stdout.text).toContain("not ok 2 just_after #  uncaughtException: 'a string'\n");
    expect(stdout.text).toContain("ok 3 clean\n");
    expect(summary.exitCode).toBe(1);
  });

  it("reports an error between cases as a diagnostic and fails the run", async () => {
    const trap = manualUncaughtTrap();
    const stdout = capturedStream();
    const progress = {
      show: (text: string) => {
        if (text.startsWith("[2/2]")) trap.onError?.(new TypeError("stray"), "unhandledRejection");
      },
      clear() {},
    };
    const summary = await runSelftests([MIXED[0], MIXED[5]], {
      stdout,
      progress,
      uncaught: trap,
      now: steppingClock(0.25),
    });
    expect(stdout.text).toContain(
      "# uncaught error outside any test: unhandledRejection: TypeError: stray\n# verify_shared_mem: 0.250 ms\n",
    );
    expect(stdout.text).toContain("# PASSED: 2 / 2 tests passed.\n");
    expect(summary.strayErrors).toBe(1);
    expect(summary.exitCode).toBe(1);
  });
});

describe("progress line", () => {
  it("draws [k/N] name on a terminal's stderr and erases it before each KTAP write", async () => {
    const stdout = capturedStream();
    const stderr = capturedStream(true);
    const order: string[] = [];
    const tracked = {
      isTTY: true,
      columns: 80,
      write: (t: string) => order.push(`err:${JSON.stringify(t)}`) && stderr.write(t),
    };
    const out = { write: (t: string) => order.push(`out:${t.split("\n")[0]}`) && stdout.write(t) };
    await runSelftests([MIXED[0], MIXED[5]], {
      stdout: out,
      progress: createProgress(tracked, {}),
      now: steppingClock(0.25),
    });
    expect(order).toEqual([
      "out:TAP version 13",
      'err:"\\r\\u001b[2K[1/2] verify_td_lifecycle"',
      'err:"\\r\\u001b[2K"',
      "out:# verify_td_lifecycle: 0.250 ms",
      'err:"\\r\\u001b[2K[2/2] verify_shared_mem"',
      'err:"\\r\\u001b[2K"',
      "out:# verify_shared_mem: 0.250 ms",
      "out:# PASSED: 2 / 2 tests passed.",
    ]);
    expect(stdout.text).not.toContain("\x1b");
  });

  it("redraws the line after a live --verbose log line", async () => {
    const stderr = capturedStream(true);
    const stdout = capturedStream();
    await runSelftests([MIXED[5]], { stdout, verbose: true, progress: createProgress(stderr, {}) });
    expect(stderr.text).toBe(
      "\r\x1b[2K[1/1] verify_shared_mem\r\x1b[2K\r\x1b[2K[1/1] verify_shared_mem\r\x1b[2K",
    );
  });

  it("stays off in pipes, under CI and on dumb terminals", async () => {
    for (const [isTTY, env] of [
      [false, {}],
      [true, { CI: "true" }],
      [true, { TERM: "dumb" }],
    ] as const) {
      const stderr = capturedStream(isTTY);
      await runSelftests([MIXED[0]], {
        stdout: capturedStream(),
        progress: createProgress(stderr, env),
      });
      expect(stderr.text).toBe("");
    }
  });
});
