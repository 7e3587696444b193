import { PAGE_SIZE } from "@tdxsim/memory";
import { Assembler } from "@tdxsim/x86/asm";
import { type IdtEntry, VE_VECTOR } from "../boot/descriptor-tables.js";
import type { GuestProgram } from "./builder/guest-program.js";
import {
  emitGuestLibraryCode,
  emitGuestLibraryData,
  GUEST_LIBRARY_GLOBALS,
} from "./library/guest-library.js";
import { LOCAL_LABEL_PREFIX } from "./library/routines.js";

/** The guest library (plus a test's guest functions) assembled at one address. */
export interface GuestImage {
  /** GVA = GPA of bytes[0]. */
  readonly origin: bigint;
  readonly bytes: Uint8Array;
  /** Routine, global and guest-function names → address. */
  readonly symbols: ReadonlyMap<string, bigint>;
  /** Address of a symbol; throws naming the symbol when absent. */
  symbol(name: string): bigint;
  /**
   * The image as page-aligned chunks for tdInitialize({ image }): the private image, then (when
   * the program has shared globals) the shared section, flagged `shared`.
   */
  readonly chunks: readonly GuestImageChunk[];
  /** The shared section's GVA range (= GPA without the shared bit), if the program has shared globals. */
  readonly sharedSection: { readonly start: bigint; readonly end: bigint } | undefined;
  /** IDT gates the image needs: #VE (vector 20) → guest_ve_entry. */
  readonly idtEntries: readonly IdtEntry[];
  /** Data globals (the library's and the program's): address and size, for sync_global_*. */
  readonly globals: ReadonlyMap<string, GuestImageGlobal>;
}

export interface GuestImageChunk {
  readonly gpa: number;
  readonly bytes: Uint8Array;
  /** Shared memory: mapped with the shared bit, memory attributes shared, not measured. */
  readonly shared?: boolean;
}

export interface GuestImageGlobal {
  readonly address: bigint;
  readonly size: number;
  /** On the image's shared pages (reachable by the host after tdFinalize). */
  readonly shared: boolean;
}

/** Local label at the start of the shared section (not in the symbol table). */
const SHARED_SECTION_LABEL = `${LOCAL_LABEL_PREFIX}shared_section`;

export interface AssembleGuestImageOptions {
  /** Page-aligned GVA (= GPA) of the image, below 4 GiB (the boot code's ljmp is 32-bit). */
  readonly origin: number;
  readonly program?: GuestProgram;
}

/** Assembles the guest library and the program's functions into one image with a symbol table. */
export function assembleGuestImage(options: AssembleGuestImageOptions): GuestImage {
  const { origin } = options;
  if (!Number.isInteger(origin) || origin < 0 || origin % PAGE_SIZE !== 0 || origin >= 2 ** 32) {
    throw new RangeError(`guest image origin ${origin} must be a page-aligned address below 4 GiB`);
  }
  const a = new Assembler({ mode: 64, origin });
  emitGuestLibraryCode(a);
  options.program?.emit(a);
  emitGuestLibraryData(a);
  options.program?.emitData(a);
  const hasShared = options.program?.hasSharedGlobals ?? false;
  if (hasShared) {
    // Shared globals get pages of their own: a page is either private (measured) or shared.
    a.align(PAGE_SIZE, 0);
    a.bind(SHARED_SECTION_LABEL);
    options.program?.emitSharedData(a);
  }
  const result = a.assemble();
  const symbols = new Map([...result.labels].filter(([name]) => !name.startsWith(LOCAL_LABEL_PREFIX)));
  const padded = new Uint8Array(Math.ceil(result.bytes.length / PAGE_SIZE) * PAGE_SIZE);
  padded.set(result.bytes);
  const sharedStart = hasShared ? Number(result.labels.get(SHARED_SECTION_LABEL)) : undefined;
  const chunks: GuestImageChunk[] =
    sharedStart === undefined
      ? [{ gpa: origin, bytes: padded }]
      : [
          { gpa: origin, bytes: padded.subarray(0, sharedStart - origin) },
          { gpa: sharedStart, bytes: padded.subarray(sharedStart - origin), shared: true },
        ];
  const sharedNames = new Set(options.program?.programGlobals.filter((g) => g.shared).map((g) => g.name));
  const symbol = (name: string): bigint => {
    const address = symbols.get(name);
    if (address === undefined) throw new RangeError(`guest image: no symbol "${name}"`);
    return address;
  };
  return {
    origin: BigInt(origin),
    bytes: result.bytes,
    symbols,
    symbol,
    chunks,
    sharedSection:
      sharedStart === undefined
        ? undefined
        : { start: BigInt(sharedStart), end: BigInt(origin + padded.length) },
    idtEntries: [{ vector: VE_VECTOR, handler: symbol("guest_ve_entry") }],
    globals: new Map(
      [...GUEST_LIBRARY_GLOBALS, ...(options.program?.programGlobals ?? [])].map((g) => [
        g.name,
        { address: symbol(g.name), size: g.size, shared: sharedNames.has(g.name) },
      ]),
    ),
  };
}
