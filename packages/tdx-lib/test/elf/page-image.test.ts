import { describe, expect, it } from "vitest";
import { PageImage } from "../../src/elf/page-image.js";

const R = 4;
const W = 2;
const X = 1;

describe("PageImage", () => {
  it("gives a page shared by two segments the union of their permissions", () => {
    const image = new PageImage();
    image.cover(0x1000, 0x1800, R | X); // pages 1, 2
    image.cover(0x2800, 0x1000, R | W); // pages 2, 3
    image.write(0x27ff, new Uint8Array([0xaa, 0xbb]));
    const chunks = image.chunks();
    expect(chunks.map((c) => [c.gpa, c.bytes.length, c.readable, c.writable, c.executable])).toEqual([
      [0x1000, 0x1000, true, false, true],
      [0x2000, 0x1000, true, true, true],
      [0x3000, 0x1000, true, true, false],
    ]);
    expect(chunks[1].bytes[0x7ff]).toBe(0xaa);
    expect(chunks[1].bytes[0x800]).toBe(0xbb);
  });

  it("merges adjacent pages with equal permissions and splits at gaps", () => {
    const image = new PageImage();
    image.cover(0x5000, 0x3000, R | W);
    image.cover(0x9000, 1, R | W);
    const chunks = image.chunks();
    expect(chunks.map((c) => [c.gpa, c.bytes.length])).toEqual([
      [0x5000, 0x3000],
      [0x9000, 0x1000],
    ]);
  });

  it("writes and reads across a page boundary, and refuses uncovered addresses", () => {
    const image = new PageImage();
    image.cover(0x1000, 0x2000, R | W);
    image.write(0x1ffc, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect([...image.read(0x1ffc, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => image.write(0x2ffe, new Uint8Array(4))).toThrow(/0x3000 is not covered/);
    expect(() => image.read(0x800, 1)).toThrow(/0x800 is not covered/);
  });
});
