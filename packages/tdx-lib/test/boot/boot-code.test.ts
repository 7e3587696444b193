import { describe, expect, it } from "vitest";
import { placeTdBootCode, RESET_VECTOR_GPA } from "../../src/index.js";

/** 54 bytes of stand-in boot code, then a JMP rel8 back to offset 0 and 14 × INT3. */
function blob(jump: number[] = [0xeb, 0xc8]): Uint8Array {
  const code = new Uint8Array(54).fill(0x90);
  const vector = new Uint8Array(16).fill(0xcc);
  vector.set(jump);
  return new Uint8Array([...code, ...vector]);
}

describe("placeTdBootCode (load_td_boot_code)", () => {
  it("ends the blob at 4 GiB so the reset vector's JMP is at 0xFFFFFFF0", () => {
    const image = placeTdBootCode(blob(), 54);
    expect(image.slotGpa).toBe(0xffff_f000);
    expect(image.codeGpa).toBe(0x1_0000_0000 - 70);
    expect(image.bytes.length).toBe(4096);
    expect(image.bytes[RESET_VECTOR_GPA - image.slotGpa]).toBe(0xeb);
    expect(image.bytes[0xfff]).toBe(0xcc);
    expect(image.bytes.subarray(0, 4096 - 70).every((b) => b === 0)).toBe(true);
  });

  it("accepts a JMP rel32 into the boot code", () => {
    // E9 rel32 at offset 54: target = 54 + 5 + rel = 10 → rel = −49.
    const rel = new Uint8Array(new Int32Array([-49]).buffer);
    expect(placeTdBootCode(blob([0xe9, ...rel]), 54).codeGpa).toBe(0xffff_ffba);
  });

  it("refuses a reset vector that is not 16 bytes, not a JMP, or jumps outside td_boot", () => {
    expect(() => placeTdBootCode(blob(), 50)).toThrow(
      "reset_vector: The reset vector must be 16 bytes in size (it is 20)",
    );
    expect(() => placeTdBootCode(blob([0x90]), 54)).toThrow(/first byte 0x90 is not a JMP/);
    expect(() => placeTdBootCode(blob([0xeb, 0x0e]), 54)).toThrow(
      /the JMP goes to offset 70, outside td_boot \[0, 54\) — GPA 0x100000000/,
    );
    expect(() => placeTdBootCode(blob([0xeb, 0x80]), 54)).toThrow(/offset -72/);
  });
});
