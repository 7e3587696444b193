// Shared pages inside a guest image that was not built by the guest-program builder (a
// gcc-built ELF): the pages of a range, or of one page-aligned data object, are cut out of the
// image chunks and flagged `shared`, so tdInitialize maps them with the shared bit, makes them
// shared and td_finalize leaves them unmeasured — the host then syncs the object while the TD runs.
import { STT_OBJECT } from "../elf/constants.js";
import type { LoadedElf } from "../elf/index.js";
import { TdHostError } from "./td-vm.js";

const PAGE_SIZE = 4096;

/** An image chunk (LoadedElf.chunks, GuestImage.chunks): page-aligned bytes at GVA = GPA. */
export interface SharableChunk {
  readonly gpa: number;
  readonly bytes: Uint8Array;
  readonly shared?: boolean;
}

/**
 * The chunks with the pages of [start, start + size) split off as chunks flagged `shared`
 * (other fields of a split chunk are kept on each piece). `start` and `size` must be page
 * multiples and every page must be in the image.
 */
export function shareImagePages<T extends SharableChunk>(
  chunks: readonly T[],
  start: number,
  size: number,
): (T & { readonly shared?: boolean })[] {
  const operation = "share_image_pages";
  if (!Number.isSafeInteger(start) || start < 0 || start % PAGE_SIZE !== 0) {
    throw new TdHostError(operation, `start 0x${start.toString(16)} is not page-aligned`);
  }
  if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
    throw new TdHostError(operation, `size 0x${size.toString(16)} is not a positive multiple of 4096`);
  }
  const end = start + size;
  for (let page = start; page < end; page += PAGE_SIZE) {
    if (!chunks.some((c) => page >= c.gpa && page < c.gpa + c.bytes.length)) {
      throw new TdHostError(operation, `page 0x${page.toString(16)} is not in the image`);
    }
  }
  const out: (T & { readonly shared?: boolean })[] = [];
  for (const chunk of chunks) {
    const chunkEnd = chunk.gpa + chunk.bytes.length;
    const cuts = [
      chunk.gpa,
      Math.min(Math.max(start, chunk.gpa), chunkEnd),
      Math.min(Math.max(end, chunk.gpa), chunkEnd),
      chunkEnd,
    ];
    for (let i = 0; i < 3; i++) {
      const from = cuts[i]!;
      const to = cuts[i + 1]!;
      if (from >= to) continue;
      const piece = { ...chunk, gpa: from, bytes: chunk.bytes.subarray(from - chunk.gpa, to - chunk.gpa) };
      out.push(i === 1 ? { ...piece, shared: true } : piece);
    }
  }
  return out;
}

/**
 * The ELF's chunks with the pages of data object `name` shared. The object must own its pages —
 * page-aligned and a page multiple in size (in C: `__attribute__((aligned(4096)))` on an object
 * of 4096·n bytes) — since a page is either private or shared.
 */
export function elfSharedChunks(elf: Pick<LoadedElf, "chunks" | "symbols">, name: string) {
  const operation = "share_image_pages";
  const s = elf.symbols.get(name);
  if (!s) throw new TdHostError(operation, `the ELF has no symbol "${name}"`);
  if (s.type !== STT_OBJECT || s.size === 0) {
    throw new TdHostError(operation, `ELF symbol "${name}" is not a sized data object (STT_OBJECT)`);
  }
  if (s.address % PAGE_SIZE !== 0 || s.size % PAGE_SIZE !== 0) {
    throw new TdHostError(
      operation,
      `ELF object "${name}" [0x${s.address.toString(16)}, +0x${s.size.toString(16)}) does not own whole pages: align it to 4096 and size it in 4096-byte multiples`,
    );
  }
  return shareImagePages(elf.chunks, s.address, s.size);
}
