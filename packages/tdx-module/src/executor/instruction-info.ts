// What a #VE for an intercepted instruction reports besides the exit reason: the instruction's
// length (VE_INFO.INSTR_LEN, the guest handler advances RIP by it) and, for I/O, the VMX exit
// qualification (SDM Vol. 3C Table 28-5). The CPU's stop is at the instruction; decoding it
// again here keeps the hot path free of this bookkeeping.
import { type Cpu, decodeInto, R_LEN, R_OPCODE, R_STATUS, RECORD_STRIDE, ST_OK } from "@tdxsim/x86";

const buf = new Uint8Array(32);
const rec = new Int32Array(RECORD_STRIDE);

/** Decodes the instruction at RIP; returns its record (shared scratch) or null if it cannot be fetched. */
export function decodeAtRip(cpu: Cpu): Int32Array | null {
  const r = cpu.r;
  const lo = r[32];
  const hi = r[33];
  try {
    const inPage = 4096 - (lo & 4095);
    let n = cpu.mmu.fetchBytes(lo, hi, buf, 0, Math.min(inPage, 15));
    if (n < 15) {
      const nlo = (lo + n) | 0;
      const nhi = nlo === 0 && cpu.mode64 ? (hi + 1) | 0 : hi;
      n += cpu.mmu.fetchBytes(nlo, nhi, buf, n, 15 - n);
    }
    decodeInto(buf, 0, n, cpu.bits as 16 | 32 | 64, rec, 0);
  } catch {
    return null;
  }
  return rec[R_STATUS] === ST_OK ? rec : null;
}

/** Length of the instruction at RIP (`fallback` if it cannot be decoded). */
export function instructionLength(cpu: Cpu, fallback: number): number {
  const d = decodeAtRip(cpu);
  return d === null ? fallback : d[R_LEN];
}

/**
 * VMX I/O exit qualification: size − 1 (bits 2:0), direction IN (bit 3), string (bit 4), REP
 * (bit 5), immediate port operand (bit 6), port (bits 31:16).
 */
export function ioQualification(
  cpu: Cpu,
  port: number,
  size: number,
  isIn: boolean,
  string: boolean,
  rep: boolean,
): { qualification: number; length: number } {
  const d = decodeAtRip(cpu);
  const opcode = d === null ? 0 : d[R_OPCODE]; // map 0 (one-byte opcodes) only
  const immediate = opcode >= 0xe4 && opcode <= 0xe7;
  const qualification =
    ((size - 1) | (isIn ? 8 : 0) | (string ? 16 : 0) | (rep ? 32 : 0) | (immediate ? 64 : 0)) +
    (port & 0xffff) * 0x10000;
  return { qualification, length: d === null ? 1 : d[R_LEN] };
}
