import { PAGE_SIZE } from "@tdxsim/memory";
import { BootLayoutError } from "./boot-layout-error.js";
import {
  type Address64,
  code64Descriptor,
  data64Descriptor,
  encodeGateDescriptor64,
  tss64Descriptor,
} from "./descriptors.js";

// The GDT and IDT the selftest library gives a 64-bit guest, as page images.

/** Selftest framework selectors: kernel code, kernel data, 64-bit TSS (16-byte descriptor). */
export const DEFAULT_CODE_SELECTOR = 0x8;
export const DEFAULT_DATA_SELECTOR = 0x10;
export const DEFAULT_TSS_SELECTOR = 0x18;

export const NUM_INTERRUPTS = 256;
export const IDT_ENTRY_SIZE = 16;
/** IDTR limit: 256 gates × 16 bytes − 1 = 0xFFF. */
export const IDT_LIMIT = NUM_INTERRUPTS * IDT_ENTRY_SIZE - 1;
/**
 * GDTR limit: the GDT is one page. The series' base tree uses a page-sized limit; the
 * spec leaves "page size or page size − 1" open (UNCONFIRMED). We use page − 1, the
 * architectural meaning of a limit (offset of the last valid byte), as
 * vcpu_init_descriptor_tables() does with getpagesize() - 1.
 */
export const GDT_LIMIT = PAGE_SIZE - 1;

/** #VE is vector 20 (SDM table 6-1). */
export const VE_VECTOR = 20;

/** One page of GDT: null, 64-bit code at 0x8, data at 0x10, the TSS descriptor at 0x18. */
export function buildGdtPage(tssBase: Address64): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  page.set(code64Descriptor(), DEFAULT_CODE_SELECTOR);
  page.set(data64Descriptor(), DEFAULT_DATA_SELECTOR);
  page.set(tss64Descriptor(tssBase), DEFAULT_TSS_SELECTOR);
  return page;
}

export interface IdtEntry {
  readonly vector: number;
  readonly handler: Address64;
  /** 0xE interrupt gate (default) or 0xF trap gate. */
  readonly type?: number;
  readonly dpl?: number;
  readonly ist?: number;
}

/** One page of IDT: the given gates, every other vector not present. */
export function buildIdtPage(entries: readonly IdtEntry[], selector = DEFAULT_CODE_SELECTOR): Uint8Array {
  const page = new Uint8Array(PAGE_SIZE);
  const seen = new Set<number>();
  for (const entry of entries) {
    if (!Number.isInteger(entry.vector) || entry.vector < 0 || entry.vector >= NUM_INTERRUPTS) {
      throw new BootLayoutError("vector", `${entry.vector} is not a vector 0..255`);
    }
    if (seen.has(entry.vector)) throw new BootLayoutError("vector", `vector ${entry.vector} is given twice`);
    seen.add(entry.vector);
    page.set(
      encodeGateDescriptor64({
        offset: entry.handler,
        selector,
        type: entry.type,
        dpl: entry.dpl,
        ist: entry.ist,
      }),
      entry.vector * IDT_ENTRY_SIZE,
    );
  }
  return page;
}
