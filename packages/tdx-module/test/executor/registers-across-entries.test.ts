// The guest's registers survive TDVMCALL round trips: GPRs come back as the host answered (exposed
// ones) or as they were; XMM registers the module did not touch stay in the core between entries.
import { describe, expect, it } from "vitest";
import { tdvmcallOut } from "../../src/index.js";
import { run } from "./run-guest.js";

describe("TdCpuExecutor: registers across TD entries", () => {
  it("XMM0 and a callee register keep their values over two TDVMCALL exits", () => {
    const { reports } = run(`
  mov rbx, cr4 ; or ebx, 0x600 ; mov cr4, rbx
  mov rax, 0x1122334455667788 ; movq xmm0, rax ; mov rbp, 0x0badf00d
  ${tdvmcallOut(0x30, "rax")}
  ${tdvmcallOut(0x31, "rbp")}
  movq rax, xmm0`);
    expect(reports).toEqual([
      [0x30, 0x1122334455667788n],
      [0x31, 0x0badf00dn],
      [0x1f, 0x1122334455667788n],
    ]);
  });
});
