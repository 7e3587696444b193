import { type Assembler, qword, type Reg, rbp } from "@tdxsim/x86/asm";
import type { FunctionFrame } from "./function-frame.js";

// The values a guest function body works with: every value is a 64-bit stack slot of the
// frame, alive while the block that made it is open.

/** An integer operand: a value of this function or an immediate (u64 or i64 range). */
export type Operand = Value | number | bigint;

/** Access sizes of load/store. */
export type AccessSize = 1 | 2 | 4 | 8;

/** A lexical block (the function body, an if arm, a loop body); values die with it. */
export class Scope {
  open = true;
  constructor(readonly description: string) {}
}

/** A 64-bit value in a stack slot, usable while its block is open. */
export class Value {
  constructor(
    readonly owner: FunctionFrame,
    /** RBP-relative offset of the slot. */
    readonly offset: number,
    readonly scope: Scope,
    /** what produced it, for error messages */
    readonly origin: string,
    /** set for the result of a routine that returns nothing */
    readonly voidResult = false,
  ) {}
}

/** A named, assignable variable (a C local). */
export class Local extends Value {
  readonly assignable = true;
}

/** A local byte buffer (a C array); its address is a Value. */
export interface LocalArray {
  readonly address: Value;
  readonly size: number;
}

/** Callee's signature, as the program resolves it when assembling. */
export interface CalleeSignature {
  readonly params: number;
  readonly returns: boolean;
}

/** Looks up routines and symbols; implemented by GuestProgram. */
export interface SymbolResolver {
  routine(name: string): CalleeSignature | undefined;
  hasSymbol(name: string): boolean;
  /** Size of a data global (program or library), undefined when `name` is not one. */
  globalSize(name: string): number | undefined;
}

/** Loads an operand (slot or immediate) into a register. */
export function emitLoad(a: Assembler, reg: Reg, operand: Operand): void {
  if (operand instanceof Value) {
    a.mov(reg, qword(rbp, operand.offset));
  } else if (BigInt(operand) === 0n) {
    a.xor(reg, reg);
  } else {
    a.mov(reg, BigInt.asIntN(64, BigInt(operand)));
  }
}
