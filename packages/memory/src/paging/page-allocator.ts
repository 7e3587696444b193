// The simplest table allocator for PageTableBuilder: consecutive pages of a reserved GPA range.

/** Returns page-aligned GPAs start, start+4096, ... and throws once [start, end) is used up. */
export function linearPageAllocator(start: number, end: number): () => number {
  if (
    !Number.isSafeInteger(start) ||
    start < 0 ||
    start % 4096 !== 0 ||
    !Number.isSafeInteger(end) ||
    end <= start
  ) {
    throw new RangeError(`[${start}, ${end}) is not a page-aligned GPA range`);
  }
  let next = start;
  return () => {
    if (next + 4096 > end) {
      throw new RangeError(`page-table area [0x${start.toString(16)}, 0x${end.toString(16)}) is full`);
    }
    const gpa = next;
    next += 4096;
    return gpa;
  };
}
