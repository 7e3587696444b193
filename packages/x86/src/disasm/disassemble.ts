// The disassembler: one line per instruction with address, bytes and Intel-syntax text
// (for traces and debugging), in the layout of `objdump -d -M intel`.
import { decodeInto } from "../decoder/decode.js";
import {
  type CodeMode,
  R_FORM,
  R_LEN,
  R_OPCODE,
  R_STATUS,
  RECORD_STRIDE,
  ST_OK,
  ST_UNSUPPORTED,
} from "../decoder/record.js";
import { formatInstruction } from "./format.js";

export interface DisassembledLine {
  address: bigint;
  bytes: Uint8Array;
  /** Intel-syntax text, "(bad)" for bytes that do not decode */
  text: string;
}

export interface DisassembleOptions {
  mode?: CodeMode;
  /** address of bytes[0] (default 0) */
  address?: number | bigint;
  /** stop after this many instructions */
  limit?: number;
}

/**
 * Decodes and formats every instruction in `bytes`; undecodable bytes become one-byte "(bad)"
 * lines, encodings decoded for length only (VEX/EVEX/XOP, x87, 3DNow!) one "(not decoded: …)" line.
 */
export function disassemble(bytes: Uint8Array, opts: DisassembleOptions = {}): DisassembledLine[] {
  const mode = opts.mode ?? 64;
  const base = BigInt(opts.address ?? 0);
  const rec = new Int32Array(RECORD_STRIDE);
  const out: DisassembledLine[] = [];
  let pos = 0;
  while (pos < bytes.length && out.length < (opts.limit ?? Number.POSITIVE_INFINITY)) {
    decodeInto(bytes, pos, bytes.length, mode, rec, 0);
    const st = rec[R_STATUS];
    // fully decoded forms print even when the executor does not run them (ST_UNSUPPORTED)
    const ok = st === ST_OK || (st === ST_UNSUPPORTED && rec[R_FORM] >= 0);
    // VEX/EVEX/XOP, x87, 3DNow!: known length, no operand decoding
    const lengthOnly = st === ST_UNSUPPORTED && !ok;
    const len = ok || lengthOnly ? rec[R_LEN] : 1;
    const address = base + BigInt(pos);
    out.push({
      address,
      bytes: bytes.subarray(pos, pos + len),
      text: ok
        ? formatInstruction(rec, 0, address, mode)
        : lengthOnly
          ? `(not decoded: ${rareKind(rec[R_OPCODE])})`
          : "(bad)",
    });
    pos += len;
  }
  return out;
}

function rareKind(opcode: number): string {
  if (opcode === 0xc4 || opcode === 0xc5) return "VEX";
  if (opcode === 0x62) return "EVEX";
  if (opcode === 0x8f) return "XOP";
  if (opcode === 0x10f) return "3DNow!";
  return "x87";
}

/** objdump-style text: "  401000:\t48 89 e5             \tmov    rbp,rsp". */
export function formatLine(l: DisassembledLine): string {
  const bytes = Array.from(l.bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
  return `${l.address.toString(16).padStart(8)}:\t${bytes.padEnd(21)}\t${l.text}`;
}

/** Disassembles to a multi-line string. */
export function disassembleText(bytes: Uint8Array, opts: DisassembleOptions = {}): string {
  return disassemble(bytes, opts).map(formatLine).join("\n");
}
