// The data of KVM's emulation-failure exit (prepare_emulation_failure_exit, x86.c 6.16) for an
// instruction the x86 core cannot execute: KVM_EXIT_INTERNAL_ERROR, suberror EMULATION, with
// data[0] = flags (KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES when the bytes could be
// fetched), data[1..2] = insn_size then 15 instruction bytes padded with NOPs (0x90), and
// data[3..7] = the VMX exit information, all 0 here because no VM exit caused the failure.
import { type Cpu, decodeInto, R_LEN, RECORD_STRIDE, RIP_HI, RIP_LO } from "@tdxsim/x86";

/** KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES */
export const EMULATION_FLAG_INSTRUCTION_BYTES = 1n;
/** flags + 2 words of instruction bytes + 5 words of exit information */
export const EMULATION_FAILURE_NDATA = 8;
const NOP = 0x90;

/** The bytes of the instruction at RIP (up to 15, as long as the decoder says), or none when unfetchable. */
export function instructionBytes(cpu: Cpu): Uint8Array {
  const buf = new Uint8Array(15);
  try {
    const n = cpu.mmu.fetchBytes(cpu.r[RIP_LO]!, cpu.r[RIP_HI]!, buf, 0, 15);
    if (n <= 0) return new Uint8Array(0);
    const rec = new Int32Array(RECORD_STRIDE);
    const len = decodeInto(buf, 0, n, cpu.bits as 16 | 32 | 64, rec, 0) || rec[R_LEN]!;
    return buf.slice(0, Math.min(len, n));
  } catch {
    return new Uint8Array(0);
  }
}

/** internal.data[0..7] of the emulation-failure exit for the instruction at the CPU's RIP. */
export function emulationFailureData(cpu: Cpu): bigint[] {
  const insn = instructionBytes(cpu);
  const bytes = new Uint8Array(16).fill(NOP);
  bytes[0] = insn.length;
  bytes.set(insn, 1);
  const view = new DataView(bytes.buffer);
  return [
    insn.length ? EMULATION_FLAG_INSTRUCTION_BYTES : 0n,
    view.getBigUint64(0, true),
    view.getBigUint64(8, true),
    ...new Array<bigint>(5).fill(0n),
  ];
}
