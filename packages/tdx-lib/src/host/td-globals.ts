// sync_global_to_guest / sync_global_from_guest for a TD: copy a guest global, found by name in
// the guest image (builder image or ELF), between the host and the TD under the TDX rules. A
// global in the private image can be written and read before td_finalize (what is written
// becomes measured initial contents); after it the TD's private memory is out of the host's
// reach, and only a global on a shared page (a builder global declared { shared: true }) can be
// synced — through the memslot's user memory, which KVM maps into the TD's shared EPT, so the
// guest and the host see the same bytes while the TD runs.
import { STT_OBJECT } from "../elf/constants.js";
import type { LoadedElf } from "../elf/index.js";
import type { GuestImage } from "../guest/guest-image.js";
import { finalizedAccessProblem, isSharedGva, readGuestMemory, writeGuestMemory } from "./td-memory.js";
import { TdHostError, type TdVm } from "./td-vm.js";

/** Where guest globals come from: a builder image (its `globals`) or a loaded ELF (its symbol table). */
export type GuestGlobalSource = Pick<GuestImage, "globals"> | Pick<LoadedElf, "symbols">;

/** A global's GVA and size, or a TdHostError naming what is missing. */
export function guestGlobal(source: GuestGlobalSource, name: string, operation: string) {
  if ("globals" in source) {
    const g = source.globals.get(name);
    if (!g) throw new TdHostError(operation, `the guest image has no data global "${name}"`);
    return { gva: Number(g.address), size: g.size };
  }
  const s = source.symbols.get(name);
  if (!s) throw new TdHostError(operation, `the ELF has no symbol "${name}"`);
  if (s.type !== STT_OBJECT || s.size === 0) {
    throw new TdHostError(operation, `ELF symbol "${name}" is not a sized data object (STT_OBJECT)`);
  }
  return { gva: s.address, size: s.size };
}

/** After td_finalize only a global on pages that are shared (mapped and converted) is reachable. */
function checkReachable(td: TdVm, name: string, gva: number, size: number, operation: string): void {
  if (!td.finalized) return;
  for (let page = gva - (gva % 4096); page < gva + size; page += 4096) {
    const at = Math.max(page, gva);
    if (!isSharedGva(td, at)) {
      throw new TdHostError(
        operation,
        `global "${name}" (gva 0x${gva.toString(16)}) is private memory of a finalized TD: TDX lets the host reach only shared memory (declare it with { shared: true }, sync before tdFinalize, or have the guest report the value)`,
      );
    }
    const problem = finalizedAccessProblem(td, at);
    if (problem) {
      throw new TdHostError(
        operation,
        `global "${name}" (gva 0x${gva.toString(16)}): gva 0x${at.toString(16)} ${problem}`,
      );
    }
  }
}

/**
 * sync_global_to_guest(): writes `value` (bytes of the global's size, or an integer stored
 * little-endian in it) into the guest's copy of global `name`.
 */
export function syncGlobalToGuest(
  td: TdVm,
  source: GuestGlobalSource,
  name: string,
  value: Uint8Array | number | bigint,
): void {
  const operation = "sync_global_to_guest";
  const { gva, size } = guestGlobal(source, name, operation);
  checkReachable(td, name, gva, size, operation);
  writeGuestMemory(td, gva, encodeGlobal(name, size, value, operation), operation);
}

/** sync_global_from_guest(): the guest's bytes of global `name`. */
export function syncGlobalFromGuest(td: TdVm, source: GuestGlobalSource, name: string): Uint8Array {
  const operation = "sync_global_from_guest";
  const { gva, size } = guestGlobal(source, name, operation);
  checkReachable(td, name, gva, size, operation);
  return readGuestMemory(td, gva, size, operation);
}

function encodeGlobal(name: string, size: number, value: Uint8Array | number | bigint, operation: string) {
  if (value instanceof Uint8Array) {
    if (value.length !== size) {
      throw new TdHostError(operation, `global "${name}" has ${size} bytes, the value ${value.length}`);
    }
    return value;
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new TdHostError(operation, `value ${value} for global "${name}" is not an integer`);
  }
  const big = BigInt(value);
  if (size > 8 || big < 0n || big >= 1n << BigInt(8 * size)) {
    throw new TdHostError(
      operation,
      size > 8
        ? `global "${name}" has ${size} bytes: pass a Uint8Array of that size`
        : `value ${big} does not fit global "${name}" of ${size} byte(s) (unsigned)`,
    );
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Number((big >> BigInt(8 * i)) & 0xffn);
  return bytes;
}
