// Layouts private to the selftest library's guest half (tdcall.h, tdx.h of the series):
// software structs passed between the C-level wrappers and the TDCALL stubs. The assembled
// routines and the host-side tests must agree on these offsets.

/** TDCALL as raw bytes (66 0F 01 CC): not every assembler knows the mnemonic. */
export const TDCALL_BYTES: readonly number[] = [0x66, 0x0f, 0x01, 0xcc];

/** R10 = 0 marks a standard (GHCI) TDVMCALL; non-zero would be a KVM hypercall. */
export const TDX_HYPERCALL_STANDARD = 0;
/** __tdx_hypercall flag: copy R10–R15 back into the args after the call. */
export const TDX_HCALL_HAS_OUTPUT = 1;
/** RCX of TDG.VP.VMCALL: expose R10–R15 to the VMM (bits 10–15). */
export const TDVMCALL_EXPOSE_REGS_MASK = 0xfc00;

/** struct tdx_hypercall_args { u64 r10, r11, r12, r13, r14, r15; } */
export const TDX_HYPERCALL_ARGS = { r10: 0, r11: 8, r12: 16, r13: 24, r14: 32, r15: 40, size: 48 } as const;

/** struct tdx_module_output { u64 rcx, rdx, r8, r9, r10, r11; } (filled even on failure). */
export const TDX_MODULE_OUTPUT = { rcx: 0, rdx: 8, r8: 16, r9: 24, r10: 32, r11: 40, size: 48 } as const;

/**
 * struct ve_info (tdg_vp_veinfo_get): exit_reason ← RCX, exit_qual ← RDX, gla ← R8,
 * gpa ← R9, instr_len ← R10[31:0], instr_info ← R10[63:32].
 */
export const VE_INFO = {
  exitReason: 0,
  exitQual: 8,
  gla: 16,
  gpa: 24,
  instrLen: 32,
  instrInfo: 36,
  size: 40,
} as const;

export interface VeInfo {
  readonly exitReason: bigint;
  readonly exitQual: bigint;
  readonly gla: bigint;
  readonly gpa: bigint;
  readonly instrLen: number;
  readonly instrInfo: number;
}

/** Reads a struct ve_info the guest wrote (e.g. sent to the host or read back from shared memory). */
export function decodeVeInfo(bytes: Uint8Array): VeInfo {
  if (bytes.length < VE_INFO.size)
    throw new RangeError(`ve_info: ${bytes.length} bytes, need ${VE_INFO.size}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    exitReason: view.getBigUint64(VE_INFO.exitReason, true),
    exitQual: view.getBigUint64(VE_INFO.exitQual, true),
    gla: view.getBigUint64(VE_INFO.gla, true),
    gpa: view.getBigUint64(VE_INFO.gpa, true),
    instrLen: view.getUint32(VE_INFO.instrLen, true),
    instrInfo: view.getUint32(VE_INFO.instrInfo, true),
  };
}
