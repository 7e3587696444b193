// What a #VE for an intercepted instruction reports besides the exit reason: the instruction's
// length (VE_INFO.INSTR_LEN, the guest handler advances RIP by it) and, for I/O, the VMX exit
// qualification (SDM Vol. 3C Table 28-5). The CPU's stop is at the instruction; decoding it
// again here keeps the hot path free of this bookkeeping.
import {
  type Cpu,
  decodeInto,
  OPS,
  R_LEN,
  R_OP,
  R_OPCODE,
  R_STATUS,
  RECORD_STRIDE,
  ST_OK,
  ST_UNSUPPORTED,
} from "@tdxsim/x86";

const buf = new Uint8Array(32);
const rec = new Int32Array(RECORD_STRIDE);

/** Decodes the instruction at RIP; returns its record (shared scratch; operation id kept for rows the CPU does not execute) or null. */
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
  const status = rec[R_STATUS];
  return status === ST_OK || status === ST_UNSUPPORTED ? rec : null;
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

/** VMX basic exit reasons of instructions the CPU does not execute but a TD gives #UD, #GP or #VE for (tdx-abi.md §3.2). */
const EXIT_REASON_BY_OP = new Map<number, number>(
  (
    [
      ["GETSEC", 11],
      ["RDPMC", 15],
      ["RSM", 17],
      ["VMCLEAR", 19],
      ["VMLAUNCH", 20],
      ["VMPTRLD", 21],
      ["VMPTRST", 22],
      ["VMREAD", 23],
      ["VMRESUME", 24],
      ["VMWRITE", 25],
      ["VMXOFF", 26],
      ["VMXON", 27],
      ["MWAIT", 36],
      ["MONITOR", 39],
      ["INVEPT", 50],
      ["INVVPID", 53],
      ["VMFUNC", 59],
      ["ENCLS", 60],
      ["ENCLV", 75],
      ["PCONFIG", 65],
    ] as const
  )
    .filter(([name]) => OPS[name] !== undefined)
    .map(([name, reason]) => [OPS[name]!, reason]),
);

/** The instruction at RIP as a VMX exit the TDX module has a rule for: [exit reason, length], or null. */
export function interceptedInstruction(cpu: Cpu): [number, number] | null {
  const d = decodeAtRip(cpu);
  if (d === null) return null;
  const reason = EXIT_REASON_BY_OP.get(d[R_OP]);
  return reason === undefined ? null : [reason, d[R_LEN]];
}
