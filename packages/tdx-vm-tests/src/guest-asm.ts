// Hand-written guest routines next to the builder's functions, for what the builder cannot say:
// exception entry points (an IDT gate enters with the CPU's frame on the stack, not a SysV call),
// far transfers into 32-bit code or ring 3. A routine is emitted after the program's functions,
// 16-aligned like them, and builder bodies call it by name like any guest function.
import { GuestProgram } from "@tdxsim/tdx-lib";
import type { Assembler } from "@tdxsim/x86/asm";

interface AsmRoutine {
  readonly name: string;
  readonly params: number;
  /** Alignment of the routine's first byte (16, or 4096 for a page of its own). */
  readonly align: number;
  readonly emit: (a: Assembler) => void;
}

export interface AsmRoutineOptions {
  /** Integer parameters in RDI, RSI, … when builder code calls it (default 0). */
  readonly params?: number;
  /** Alignment of its first byte (default 16; 4096 gives it a page, e.g. to map it for ring 3). */
  readonly align?: number;
}

export class GuestProgramWithAsm extends GuestProgram {
  private readonly asmRoutines: AsmRoutine[] = [];

  /** Adds an assembly routine `name`; `emit` writes its body (the label is bound before it). */
  asm(name: string, options: AsmRoutineOptions, emit: (a: Assembler) => void): this {
    if (this.hasSymbol(name)) throw new Error(`guest program: "${name}" is already defined`);
    this.asmRoutines.push({ name, params: options.params ?? 0, align: options.align ?? 16, emit });
    return this;
  }

  override routine(name: string) {
    const own = this.asmRoutines.find((r) => r.name === name);
    return own ? { params: own.params, returns: true } : super.routine(name);
  }

  override hasSymbol(name: string): boolean {
    return this.asmRoutines.some((r) => r.name === name) || super.hasSymbol(name);
  }

  override emit(a: Assembler): void {
    super.emit(a);
    for (const r of this.asmRoutines) {
      a.align(r.align, 0xcc);
      a.bind(r.name);
      r.emit(a);
    }
  }
}
