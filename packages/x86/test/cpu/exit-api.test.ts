// The pending-exit API the layers above use instead of reaching into the CPU: the exiting
// instruction's length, and abandoning an exit so the instruction re-executes.
import { describe, expect, it } from "vitest";
import { guest64, rip } from "./harness.js";

describe("pendingExitLength", () => {
  it("is the exiting instruction's length, prefixes included, and undefined with no exit pending", () => {
    const { cpu } = guest64(
      [
        "tdcall",
        "vmcall",
        "seamcall",
        "mov dx, 0x80",
        "out dx, al",
        "cpuid",
        "mov ecx, 1",
        "rep outsb",
        "hlt",
      ].join("\n"),
    );
    expect(cpu.pendingExitLength).toBeUndefined();
    const lengths: [string, number][] = [
      ["tdcall", 4], // 66 0F 01 CC
      ["vmcall", 3], // 0F 01 C1
      ["seamcall", 4], // 66 0F 01 CF
      ["io", 1], // EE
      ["cpuid", 2], // 0F A2
      ["io", 2], // F3 6E
    ];
    for (const [reason, length] of lengths) {
      expect(cpu.run(100).reason).toBe(reason);
      expect(cpu.pendingExitLength).toBe(length);
      const at = rip(cpu);
      if (reason === "cpuid") cpu.completeCpuid(0, 0, 0, 0);
      else cpu.skipInstruction(); // the REP OUTSB's only element (RCX = 1) completes it
      expect(cpu.pendingExitLength).toBeUndefined();
      expect(rip(cpu)).toBe(at + length);
    }
    expect(cpu.run(100).reason).toBe("hlt");
  });
});

describe("abandonPendingExit", () => {
  it("leaves RIP at the instruction, retires nothing, and the next run() executes it again", () => {
    const { cpu, labels } = guest64("inc ebx\nat: tdcall\ninc ebx\nhlt");
    expect(cpu.run(100).reason).toBe("tdcall");
    const retired = cpu.st.retired;
    cpu.abandonPendingExit();
    expect(cpu.pendingExit).toBeUndefined();
    expect(cpu.pendingExitLength).toBeUndefined();
    expect(BigInt(rip(cpu))).toBe(labels.get("at"));
    expect(cpu.st.retired).toBe(retired);
    // Re-executed: the same stop again, then it completes normally.
    expect(cpu.run(100).reason).toBe("tdcall");
    expect(cpu.st.retired).toBe(retired);
    cpu.skipInstruction();
    expect(cpu.run(100).reason).toBe("hlt");
    expect(cpu.r[6]).toBe(2);
    expect(cpu.st.retired).toBe(retired + 3); // TDCALL, INC, HLT
  });

  it("throws RangeError when no exit is pending", () => {
    const { cpu } = guest64("hlt");
    expect(() => cpu.abandonPendingExit()).toThrow(/no exit is pending/);
    expect(cpu.run(10).reason).toBe("hlt");
    expect(() => cpu.abandonPendingExit()).toThrow(RangeError);
  });
});
