import { hex } from "../util/hex.js";
import { FOUR_GIGABYTES_GPA, RESET_VECTOR_SIZE, tdBootCodeSlot } from "./boot-gpas.js";
import { BootLayoutError } from "./boot-layout-error.js";

/** The boot-code memslot's contents: td_boot .. td_boot_code_end placed so it ends at 4 GiB. */
export interface TdBootCodeImage {
  readonly slotGpa: number;
  /** Whole pages of the slot, zero before the boot code. */
  readonly bytes: Uint8Array;
  /** GPA of td_boot (the first byte of the blob). */
  readonly codeGpa: number;
}

/** Offset of the jump target of a JMP rel8 (EB) or JMP rel32 (E9) at `at`, or undefined if not a JMP. */
function jumpTarget(blob: Uint8Array, at: number): number | undefined {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob[at] === 0xeb) return at + 2 + view.getInt8(at + 1);
  if (blob[at] === 0xe9) return at + 5 + view.getInt32(at + 1, true);
  return undefined;
}

/**
 * load_td_boot_code()'s placement: the blob (td_boot .. td_boot_code_end) whose last 16
 * bytes are the reset vector goes at 4 GiB − size, so the reset vector's JMP sits at
 * 0xFFFFFFF0. Checks the vector is 16 bytes and jumps backwards into the boot code.
 */
export function placeTdBootCode(blob: Uint8Array, resetVectorOffset: number): TdBootCodeImage {
  const vectorSize = blob.length - resetVectorOffset;
  if (vectorSize !== RESET_VECTOR_SIZE) {
    throw new BootLayoutError(
      "reset_vector",
      `The reset vector must be 16 bytes in size (it is ${vectorSize})`,
    );
  }
  const target = jumpTarget(blob, resetVectorOffset);
  if (target === undefined) {
    throw new BootLayoutError(
      "reset_vector",
      `first byte ${hex(blob[resetVectorOffset], 2)} is not a JMP (EB rel8 or E9 rel32)`,
    );
  }
  if (target < 0 || target >= resetVectorOffset) {
    throw new BootLayoutError(
      "reset_vector",
      `the JMP goes to offset ${target}, outside td_boot [0, ${resetVectorOffset}) — GPA ${hex(FOUR_GIGABYTES_GPA - blob.length + target)}`,
    );
  }
  const slot = tdBootCodeSlot(blob.length);
  const bytes = new Uint8Array(slot.size);
  bytes.set(blob, slot.size - blob.length);
  return { slotGpa: slot.gpa, bytes, codeGpa: FOUR_GIGABYTES_GPA - blob.length };
}
