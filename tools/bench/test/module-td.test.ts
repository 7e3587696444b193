import { HostPhysicalMemory } from "@tdxsim/memory";
import { TdxModule } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import { createModuleTd } from "../src/module-td.js";

describe("createModuleTd", () => {
  it("leaves a TD whose vCPU is initialized: SEPT.ADD, PAGE.ADD and MR.FINALIZE succeed", () => {
    const memory = new HostPhysicalMemory(64 << 20);
    const tdx = new TdxModule(memory);
    const { tdr, tdvpr } = createModuleTd(tdx, memory);
    expect(tdvpr).not.toBe(tdr);
    for (let level = 3; level >= 1; level--) {
      expect(tdx.tdhMemSeptAdd(0, level, tdr, memory.allocPage()).status).toBe(0n);
    }
    expect(tdx.tdhMemPageAdd(0, 0, tdr, memory.allocPage(), memory.allocPage()).status).toBe(0n);
    expect(tdx.tdhMrFinalize(tdr).status).toBe(0n);
  });

  it("names the SEAMCALL that fails: a second TD on the same module finds its HKID taken", () => {
    const memory = new HostPhysicalMemory(64 << 20);
    const tdx = new TdxModule(memory);
    createModuleTd(tdx, memory);
    expect(() => createModuleTd(tdx, memory)).toThrow(/^TDH\.MNG\.CREATE failed: status 0x/);
  });
});
