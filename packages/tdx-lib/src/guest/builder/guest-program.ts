import type { Assembler } from "@tdxsim/x86/asm";
import { GUEST_LIBRARY_GLOBALS, guestLibraryRoutine } from "../library/guest-library.js";
import { FunctionBuilder } from "./function-builder.js";
import { GuestProgramError } from "./guest-program-error.js";
import {
  emitProgramGlobals,
  type GuestGlobalOptions,
  makeProgramGlobal,
  type ProgramGlobal,
} from "./program-globals.js";
import type { CalleeSignature, Local, SymbolResolver } from "./values.js";

/** Body of a guest function: the builder and its parameters as locals. */
export type GuestFunctionBody = (f: FunctionBuilder, ...params: Local[]) => void;

export interface GuestFunctionOptions {
  /** Number of integer parameters (0–6), received in RDI, RSI, … (default 0). */
  readonly params?: number;
}

/**
 * Test guest functions written in TypeScript, emitted as x86-64 next to the guest library:
 *
 *   const g = new GuestProgram();
 *   g.fn("guest_code_lifecycle", (f) => { f.call("tdx_test_success"); });
 */
export class GuestProgram implements SymbolResolver {
  private readonly functions: FunctionBuilder[] = [];
  private readonly declared = new Map<string, number>();
  private readonly globals: ProgramGlobal[] = [];
  private building: string | undefined;

  /**
   * A data global shared with the host (a C file-scope variable): `g.global("counter", { size: 8 })`.
   * Guest code reads and writes it with f.loadGlobal / f.storeGlobal (or its address, f.symbol);
   * the host uses syncGlobalToGuest / syncGlobalFromGuest with the image.
   */
  global(name: string, options: GuestGlobalOptions): this {
    if (this.building !== undefined) {
      throw new GuestProgramError(
        name,
        `global declared inside the body of ${this.building}; declare globals at top level`,
      );
    }
    this.checkNewSymbol(name);
    this.globals.push(makeProgramGlobal(name, options));
    return this;
  }

  /** Size of a program or library global, undefined for anything else. */
  globalSize(name: string): number | undefined {
    return (
      this.globals.find((g) => g.name === name)?.size ??
      GUEST_LIBRARY_GLOBALS.find((g) => g.name === name)?.size
    );
  }

  /** The program's globals (name, size, alignment, initial bytes), in image order. */
  get programGlobals(): readonly ProgramGlobal[] {
    return this.globals;
  }

  /** A new function or global name: a C identifier not yet used by the library or this program. */
  private checkNewSymbol(name: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new GuestProgramError(name, "is not a C identifier");
    }
    if (guestLibraryRoutine(name) || GUEST_LIBRARY_GLOBALS.some((g) => g.name === name)) {
      throw new GuestProgramError(name, "is already a guest-library symbol");
    }
    if (this.functions.some((f) => f.name === name) || this.globals.some((g) => g.name === name)) {
      throw new GuestProgramError(name, "is defined twice");
    }
  }

  /** A prototype, so a body can call a function defined later: `g.declare("helper", { params: 1 })`. */
  declare(name: string, options: GuestFunctionOptions = {}): this {
    const params = options.params ?? 0;
    if (this.globalSize(name) !== undefined) {
      throw new GuestProgramError(name, "is a data global, not a function");
    }
    const previous = this.declared.get(name);
    if (previous !== undefined && previous !== params) {
      throw new GuestProgramError(name, `declared with ${previous} parameters, then with ${params}`);
    }
    this.declared.set(name, params);
    return this;
  }

  /** Defines a guest function; its body runs now and records the code. */
  fn(name: string, body: GuestFunctionBody): this;
  fn(name: string, options: GuestFunctionOptions, body: GuestFunctionBody): this;
  fn(name: string, a: GuestFunctionOptions | GuestFunctionBody, b?: GuestFunctionBody): this {
    const options = typeof a === "function" ? {} : a;
    const body = typeof a === "function" ? a : b;
    if (this.building !== undefined) {
      throw new GuestProgramError(
        name,
        `defined inside the body of ${this.building}; define functions at top level`,
      );
    }
    this.checkNewSymbol(name);
    if (typeof body !== "function") throw new GuestProgramError(name, "has no body callback");
    const declared = this.declared.get(name);
    if (declared !== undefined && declared !== (options.params ?? 0)) {
      throw new GuestProgramError(
        name,
        `declared with ${declared} parameters, defined with ${options.params ?? 0}`,
      );
    }
    const builder = new FunctionBuilder(name, options.params ?? 0, this);
    this.functions.push(builder);
    this.building = name;
    try {
      body(builder, ...builder.params);
    } finally {
      this.building = undefined;
      builder.close();
    }
    return this;
  }

  /** Names of the functions defined so far. */
  get functionNames(): string[] {
    return this.functions.map((f) => f.name);
  }

  routine(name: string): CalleeSignature | undefined {
    const library = guestLibraryRoutine(name);
    if (library) return library;
    const own = this.functions.find((f) => f.name === name);
    if (own) return { params: own.params.length, returns: true };
    const declared = this.declared.get(name);
    return declared === undefined ? undefined : { params: declared, returns: true };
  }

  hasSymbol(name: string): boolean {
    return this.routine(name) !== undefined || this.globalSize(name) !== undefined || this.building === name;
  }

  /** Emits the program's private globals (after the library's data). */
  emitData(a: Assembler): void {
    emitProgramGlobals(
      a,
      this.globals.filter((g) => !g.shared),
    );
  }

  /** Whether any global asked for shared memory (the image then gets a shared section). */
  get hasSharedGlobals(): boolean {
    return this.globals.some((g) => g.shared);
  }

  /** Emits the program's shared globals (the image's shared section, page-aligned by the caller). */
  emitSharedData(a: Assembler): void {
    emitProgramGlobals(
      a,
      this.globals.filter((g) => g.shared),
    );
  }

  /** Emits every function (16-aligned) at the current position. */
  emit(a: Assembler): void {
    for (const name of this.declared.keys()) {
      if (!this.functions.some((f) => f.name === name)) {
        throw new GuestProgramError(name, "is declared and called but never defined");
      }
    }
    for (const fn of this.functions) {
      a.align(16, 0xcc);
      fn.emit(a);
    }
  }
}
