// Random-bytes agreement between our decoder and iced-x86: same valid/invalid decision and,
// when both say valid, the same length. Shared by the CI-sized test and tools/agreement.ts.
import { Code, Decoder, DecoderOptions, Instruction } from "iced-x86";
import { decodeInto } from "../../src/decoder/decode.js";
import {
  R_LEN,
  R_OPCODE,
  R_STATUS,
  RECORD_STRIDE,
  ST_OK,
  ST_UNSUPPORTED,
  STATUS_NAMES,
} from "../../src/decoder/record.js";

export interface AgreementResult {
  total: number;
  agree: number;
  /** strings whose first opcode byte is a VEX/EVEX/XOP lead (validity modelled for VEX map 0F only) */
  vexTotal: number;
  vexAgree: number;
  /** strings whose first opcode byte is the 2-byte VEX lead C5 (VEX map 0F, validity modelled) */
  c5Total: number;
  c5Agree: number;
  /** disagreement classes → count and one example */
  classes: Map<string, { count: number; example: string }>;
}

/** xorshift128+-style deterministic generator (32-bit halves) so runs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed | 0 || 1;
  let b = 0x9e3779b9;
  return () => {
    a ^= a << 13;
    a ^= a >>> 17;
    a ^= a << 5;
    b = (b + 0x6d2b79f5) | 0;
    return (a ^ b) >>> 0;
  };
}

const hex = (bytes: Uint8Array, n: number) =>
  Array.from(bytes.subarray(0, n), (x) => x.toString(16).padStart(2, "0")).join(" ");

export function runAgreement(count: number, mode: 16 | 32 | 64, seed: number): AgreementResult {
  const next = rng(seed);
  const CHUNK = 65536;
  const big = new Uint8Array(CHUNK * 16);
  const rec = new Int32Array(RECORD_STRIDE);
  const res: AgreementResult = {
    total: 0,
    agree: 0,
    vexTotal: 0,
    vexAgree: 0,
    c5Total: 0,
    c5Agree: 0,
    classes: new Map(),
  };
  const instr = new Instruction();
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    for (let j = 0; j < n * 16; j += 4) {
      const r = next();
      big[j] = r;
      big[j + 1] = r >>> 8;
      big[j + 2] = r >>> 16;
      big[j + 3] = r >>> 24;
    }
    // iced copies its input into wasm memory: one decoder per chunk, repositioned per string
    const decoder = new Decoder(mode, big.subarray(0, n * 16), DecoderOptions.None);
    for (let i = 0; i < n; i++) {
      const buf = big.subarray(i * 16, i * 16 + 16);
      decodeInto(buf, 0, 16, mode, rec, 0);
      decoder.position = i * 16;
      decoder.decodeOut(instr);
      classify(res, buf, rec, instr, mode);
    }
    decoder.free();
  }
  instr.free();
  return res;
}

/** True if the string's first opcode byte (after legacy/REX prefixes) starts VEX, EVEX or XOP. */
function vexLead(buf: Uint8Array, mode: number): boolean {
  let i = 0;
  while (i < 15 && (LEGACY_PREFIXES.has(buf[i]) || (mode === 64 && (buf[i] & 0xf0) === 0x40))) i++;
  const b = buf[i];
  const next = buf[i + 1];
  if (b === 0x8f) return (next & 0x1f) >= 8;
  if (b === 0xc4 || b === 0xc5 || b === 0x62) return mode === 64 || (next & 0xc0) === 0xc0;
  return false;
}
const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

function classify(
  res: AgreementResult,
  buf: Uint8Array,
  rec: Int32Array,
  instr: Instruction,
  mode: number,
): void {
  // iced reads past our 16 bytes into the next string: cap its view at 16 like ours
  const icedValid = instr.code !== Code.INVALID && instr.length <= 15;
  const icedLen = instr.length;
  const st = rec[R_STATUS];
  const ours = st === ST_OK || st === ST_UNSUPPORTED;
  const lead = rec[R_OPCODE];
  const isVex = vexLead(buf, mode);
  const isC5 = isVex && lead === 0xc5;
  const agree = ours === icedValid && (!ours || icedLen === rec[R_LEN]);
  res.total++;
  if (isVex) res.vexTotal++;
  if (isC5) res.c5Total++;
  if (agree) {
    res.agree++;
    if (isVex) res.vexAgree++;
    if (isC5) res.c5Agree++;
    return;
  }
  const opc = lead.toString(16);
  const key = `${isVex ? "VEX/EVEX/XOP " : ""}op=${opc} ours=${STATUS_NAMES[st]}${ours ? `/${rec[R_LEN]}` : ""} iced=${icedValid ? `valid/${icedLen}` : "invalid"}`;
  const c = res.classes.get(key);
  if (c) c.count++;
  else res.classes.set(key, { count: 1, example: hex(buf, Math.max(icedLen, rec[R_LEN], 4)) });
}
