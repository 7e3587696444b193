// shareImagePages: cutting shared pages out of image chunks (the ELF side of shared globals).
import { describe, expect, it } from "vitest";
import { shareImagePages } from "../../src/index.js";

const chunk = (gpa: number, pages: number, fill: number) => ({
  gpa,
  bytes: new Uint8Array(pages * 4096).fill(fill),
  writable: true,
});

describe("shareImagePages", () => {
  it("splits the pages of the range off as shared chunks, keeping the rest and each chunk's other fields", () => {
    const chunks = [chunk(0x40_0000, 4, 1), chunk(0x50_0000, 2, 2)];
    const out = shareImagePages(chunks, 0x40_2000, 0x2000);
    expect(out.map((c) => [c.gpa, c.bytes.length, c.shared ?? false, c.writable])).toEqual([
      [0x40_0000, 0x2000, false, true],
      [0x40_2000, 0x2000, true, true],
      [0x50_0000, 0x2000, false, true],
    ]);
    // the pieces are views of the same bytes
    expect(out[1]!.bytes.buffer).toBe(chunks[0]!.bytes.buffer);
    const whole = shareImagePages(chunks, 0x50_0000, 0x2000);
    expect(whole.map((c) => [c.gpa, c.shared ?? false])).toEqual([
      [0x40_0000, false],
      [0x50_0000, true],
    ]);
  });

  it("refuses an unaligned range, an empty one, or pages outside the image", () => {
    const chunks = [chunk(0x40_0000, 1, 0)];
    expect(() => shareImagePages(chunks, 0x40_0800, 4096)).toThrow(
      "share_image_pages: start 0x400800 is not page-aligned",
    );
    expect(() => shareImagePages(chunks, 0x40_0000, 100)).toThrow(
      /size 0x64 is not a positive multiple of 4096/,
    );
    expect(() => shareImagePages(chunks, 0x40_0000, 0x2000)).toThrow(/page 0x401000 is not in the image/);
  });
});
