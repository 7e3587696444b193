// The data globals of a guest program — the `static` / file-scope variables the upstream tests
// share between host and guest with sync_global_to_guest / sync_global_from_guest. Each is a
// named, aligned block of initialised bytes after the code; the image's symbol table gives
// the host its address and size.
import type { Assembler } from "@tdxsim/x86/asm";
import { GuestProgramError } from "./guest-program-error.js";

/** Largest global the builder accepts (a guest image stays small). */
export const MAX_GUEST_GLOBAL_SIZE = 1 << 20;

export interface GuestGlobalOptions {
  /** Size in bytes. */
  readonly size: number;
  /** Initial value: an integer stored little-endian (size ≤ 8), or bytes (at most `size`); default zero. */
  readonly init?: number | bigint | Uint8Array;
  /** Alignment in bytes, a power of two up to 4096 (default 8). TDREPORT buffers want 1024. */
  readonly align?: number;
  /**
   * Place the global in the image's shared section: its own pages after the private image,
   * mapped with the shared bit and never measured. The host reads and writes it while the TD
   * runs (syncGlobalToGuest / syncGlobalFromGuest after tdFinalize), as the guest does through
   * the same GVA. Default false: private, measured, out of the host's reach after tdFinalize.
   */
  readonly shared?: boolean;
}

/** A declared global with its initial bytes. */
export interface ProgramGlobal {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly bytes: Uint8Array;
  /** In the image's shared section (GuestGlobalOptions.shared). */
  readonly shared: boolean;
}

/** Checks the options of `g.global(name, options)` and returns the global's initial image. */
export function makeProgramGlobal(name: string, options: GuestGlobalOptions): ProgramGlobal {
  const { size } = options;
  if (!Number.isInteger(size) || size <= 0 || size > MAX_GUEST_GLOBAL_SIZE) {
    throw new GuestProgramError(
      name,
      `global size ${size} is not an integer from 1 to ${MAX_GUEST_GLOBAL_SIZE}`,
    );
  }
  const align = options.align ?? 8;
  if (!Number.isInteger(align) || align < 1 || align > 4096 || (align & (align - 1)) !== 0) {
    throw new GuestProgramError(name, `global alignment ${align} is not a power of two from 1 to 4096`);
  }
  if (options.shared !== undefined && typeof options.shared !== "boolean") {
    throw new GuestProgramError(name, `shared must be true or false, not ${String(options.shared)}`);
  }
  return {
    name,
    size,
    align,
    bytes: initialBytes(name, size, options.init),
    shared: options.shared ?? false,
  };
}

function initialBytes(name: string, size: number, init: GuestGlobalOptions["init"]): Uint8Array {
  const bytes = new Uint8Array(size);
  if (init === undefined) return bytes;
  if (init instanceof Uint8Array) {
    if (init.length > size) {
      throw new GuestProgramError(name, `initial value has ${init.length} bytes, the global has ${size}`);
    }
    bytes.set(init);
    return bytes;
  }
  if (typeof init === "number" && !Number.isSafeInteger(init)) {
    throw new GuestProgramError(name, `initial value ${init} is not an integer (use a bigint above 2^53)`);
  }
  const value = BigInt(init);
  const bits = BigInt(8 * Math.min(size, 8));
  if (size > 8 || value < 0n || value >= 1n << bits) {
    throw new GuestProgramError(
      name,
      size > 8
        ? `an integer initial value needs a global of at most 8 bytes (this one has ${size}); pass bytes`
        : `initial value ${value} does not fit in ${size} byte(s) (unsigned)`,
    );
  }
  for (let i = 0; i < size; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

/** Emits the globals (each aligned, labelled with its name) at the current position. */
export function emitProgramGlobals(a: Assembler, globals: readonly ProgramGlobal[]): void {
  for (const g of globals) {
    a.align(g.align, 0);
    a.bind(g.name);
    a.bytes(g.bytes);
  }
}
