import { describe, expect, it } from "vitest";
import { X86Exception } from "../../src/exec/exception.js";
import { writeRflags } from "../../src/exec/flags.js";
import { checkIoPermission } from "../../src/exec/io-permission.js";
import { SEG_CS, SEG_TR, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE } from "../../src/exec/state.js";
import { TestMemory } from "./test-memory.js";

const TSS = 0x3000;

function user(): { cpu: CpuState; mem: TestMemory } {
  const cpu = new CpuState();
  const mem = new TestMemory();
  cpu.cr0 = CR0_PE;
  setSegment(cpu.seg, SEG_CS, 0x1b, 0, 0, -1, 0xc0fb);
  // TSS with the I/O map at 0x68 covering ports 0..0x3ff (128 bytes) + the terminating 0xff byte.
  setSegment(cpu.seg, SEG_TR, 0x28, TSS, 0, 0x68 + 128, 0x8b);
  mem.writeU32(TSS + 100, 0, 0x68 << 16, false);
  for (let i = 0; i < 128; i += 4) mem.writeU32(TSS + 0x68 + i, 0, -1, false); // all denied
  mem.writeU32(TSS + 0x68 + (0x3f8 >>> 3), 0, 0xffffff00 | 0, false); // allow 0x3f8..0x3ff
  return { cpu, mem };
}

const denied = (f: () => void): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof X86Exception && e.vector === 13) return true;
    throw e;
  }
};

describe("I/O permission", () => {
  it("allows CPL <= IOPL without a bitmap", () => {
    const { cpu, mem } = user();
    writeRflags(cpu.r, 0x3002);
    expect(denied(() => checkIoPermission(cpu, mem, 0x80, 1))).toBe(false);
  });

  it("consults the TSS bitmap at CPL > IOPL, including accesses that span two bytes", () => {
    const { cpu, mem } = user();
    expect(denied(() => checkIoPermission(cpu, mem, 0x3f8, 4))).toBe(false);
    expect(denied(() => checkIoPermission(cpu, mem, 0x3fc, 4))).toBe(false);
    expect(denied(() => checkIoPermission(cpu, mem, 0x3f6, 4))).toBe(true); // 0x3f6/0x3f7 denied
    expect(denied(() => checkIoPermission(cpu, mem, 0x80, 1))).toBe(true);
    expect(denied(() => checkIoPermission(cpu, mem, 0xcf8, 4))).toBe(true); // beyond the TSS limit
  });
});
