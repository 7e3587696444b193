// The pieces together on a real TD guest: a gcc-built C guest that issues TDCALL through
// inline assembly is loaded, placed in a planned TD layout, and described by boot parameters.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  decodeTdPerVcpuParameters,
  encodeTdBootParameters,
  type LoadedElf,
  loadElf,
  planTdInitialize,
  planTdVcpuStack,
} from "../../src/index.js";
import { readImage } from "../elf/chunk-reader.js";
import { gccAvailable, useCompiledGuests } from "../elf/gcc-guest.js";

const SOURCE = readFileSync(fileURLToPath(new URL("../guests/tdx-success.c", import.meta.url)), "utf8");
const TDCALL = [0x66, 0x0f, 0x01, 0xcc];

function containsAt(haystack: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe.skipIf(!gccAvailable())("a gcc-built TD guest in a planned TD layout", () => {
  const compiled = useCompiledGuests(SOURCE);

  function expectPlaced(elf: LoadedElf): void {
    // TDCALL is in the executable code of _start.
    const start = elf.symbol("_start");
    expect(start.address).toBe(elf.entry);
    const code = readImage(elf, start.address, start.size);
    expect(containsAt(code, TDCALL)).toBeGreaterThanOrEqual(0);

    const plan = planTdInitialize({ memorySize: 64 << 20, maxVcpus: 2, bootCodeSize: 70, image: elf.chunks });
    const stack = planTdVcpuStack(plan, 0, 2);
    for (const chunk of elf.chunks) expect(plan.layout.gvaToGpa(chunk.gpa)).toBe(chunk.gpa);
    const status = elf.symbol("tdvmcall_status").address;
    expect(plan.layout.gvaToGpa(status)).toBe(status);
    expect(plan.image).toEqual({ start: elf.start, end: elf.end });

    const block = encodeTdBootParameters(
      plan.bootCommonParameters,
      [{ espGva: stack.initialStackAddr, eipGva: elf.entry, code64Sel: 0x8 }],
      2,
    );
    expect(block.length).toBe(24 + 2 * 10);
    expect(decodeTdPerVcpuParameters(block, 0)).toEqual({
      espGva: 0xab_aff8,
      eipGva: elf.entry,
      code64Sel: 8,
    });
  }

  it("ET_EXEC build", () => {
    expectPlaced(loadElf(compiled.guests.exec.bytes));
  });

  it("static PIE build at a chosen base", () => {
    const elf = loadElf(compiled.guests.pie.bytes, { loadBase: 0x60_0000 });
    expect(elf.entry).toBeGreaterThanOrEqual(0x60_0000);
    expectPlaced(elf);
  });
});
