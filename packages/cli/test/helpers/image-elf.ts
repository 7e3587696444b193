// Wraps code assembled at a fixed address (a tdx-lib GuestImage) into a static ET_EXEC with one
// RWX PT_LOAD at that address, so `tdxsim run` tests can use builder guests without a compiler.
import { writeElf64ExecHeaders } from "./elf64-exec.js";

const PAGE = 0x1000;
const PF_RWX = 7;

export function elfFromImage(image: Uint8Array, vaddr: number, entry: number): Uint8Array {
  const bytes = new Uint8Array(PAGE + image.length);
  writeElf64ExecHeaders(bytes, {
    entry,
    load: { flags: PF_RWX, offset: PAGE, vaddr, size: image.length, align: PAGE },
  });
  bytes.set(image, PAGE);
  return bytes;
}
