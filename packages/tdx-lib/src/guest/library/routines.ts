import { type Assembler, dword, edx, type Mem, qword, r8, r9, rcx, rdi, rdx, rsi } from "@tdxsim/x86/asm";

/** SysV integer argument registers, in order. */
export const SYSV_ARG_REGS = [rdi, rsi, rdx, rcx, r8, r9] as const;

/** One routine of the guest library: its SysV signature (for the builder's checks) and code. */
export interface GuestRoutine {
  /** Upstream name, also the symbol. */
  readonly name: string;
  /** Number of integer arguments (RDI, RSI, RDX, RCX, R8, R9). */
  readonly params: number;
  /** Whether RAX carries a value the caller may use (upstream returns uint64_t). */
  readonly returns: boolean;
  /** Emits the routine's body; its label is already bound. */
  readonly emit: (a: Assembler) => void;
}

/** A global of the guest library (data after the code), with its size in bytes. */
export interface GuestGlobal {
  readonly name: string;
  readonly size: number;
}

/** Internal labels carry this prefix so they stay out of the exported symbol table. */
export const LOCAL_LABEL_PREFIX = ".L";

let counter = 0;
/** A fresh local label name for branches inside a routine. */
export function localLabel(a: Assembler, hint: string) {
  counter += 1;
  return a.label(`${LOCAL_LABEL_PREFIX}${hint}.${counter}`);
}

/**
 * `if (ptr) *ptr = value` for a routine's optional output argument: the pointer is loaded from
 * `pointerSlot` into RCX, the value from `valueSlot` into RDX (both clobbered), and stored as a
 * uint64_t (or, with `size` 4, a uint32_t) when the pointer is not NULL.
 */
export function storeIfPointerSet(
  a: Assembler,
  hint: string,
  pointerSlot: Mem,
  valueSlot: Mem,
  size: 4 | 8 = 8,
): void {
  const skip = localLabel(a, hint);
  a.mov(rcx, pointerSlot);
  a.test(rcx, rcx).jz(skip);
  a.mov(rdx, valueSlot);
  if (size === 4) a.mov(dword(rcx, 0), edx);
  else a.mov(qword(rcx, 0), rdx);
  a.bind(skip);
}
