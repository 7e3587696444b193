import { type Assembler, eax, type Label, qword, type Reg, rbp, rsp } from "@tdxsim/x86/asm";
import { SYSV_ARG_REGS } from "../library/routines.js";
import { GuestProgramError } from "./guest-program-error.js";
import { emitLoad, Local, type Operand, Scope, type SymbolResolver, Value } from "./values.js";

// The frame and bookkeeping of one guest function being built: stack slots (RBP-relative),
// lexical blocks, the recorded emit steps, and the checks every operation makes. The body is
// assembled once its frame size is known. FunctionBuilder adds the vocabulary.

/** One recorded piece of the body; `labels` gives the function's local labels by name. */
export type Step = (a: Assembler, labels: (name: string) => Label) => void;

const I64_MIN = -(1n << 63n);
const U64_LIMIT = 1n << 64n;

export abstract class FunctionFrame {
  protected readonly steps: Step[] = [];
  protected slotBytes = 0;
  protected readonly scopes: Scope[] = [];
  protected closed = false;
  protected labelCount = 0;
  /** Parameters as locals (spilled from RDI, RSI, … in the prologue). */
  readonly params: readonly Local[];

  constructor(
    readonly name: string,
    paramCount: number,
    protected readonly resolver: SymbolResolver,
  ) {
    if (!Number.isInteger(paramCount) || paramCount < 0 || paramCount > SYSV_ARG_REGS.length) {
      throw new GuestProgramError(name, `${paramCount} parameters: a guest function takes 0 to 6`);
    }
    this.scopes.push(new Scope("the function body"));
    this.params = Array.from({ length: paramCount }, (_, i) => this.newLocal(`parameter ${i}`));
  }

  // ---- assembling --------------------------------------------------------------------------

  /** Ends the body; later use of this builder is an error. */
  close(): void {
    this.closed = true;
    for (const scope of this.scopes) scope.open = false;
  }

  /** Emits prologue, body and epilogue at the current position (label = function name). */
  emit(a: Assembler): void {
    const frame = Math.ceil(this.slotBytes / 16) * 16;
    const labels = new Map<string, Label>();
    const label = (n: string) => {
      let l = labels.get(n);
      if (!l) {
        l = a.label(`.L${this.name}.${n}`);
        labels.set(n, l);
      }
      return l;
    };
    a.bind(this.name);
    a.push(rbp).mov(rbp, rsp);
    if (frame > 0) a.sub(rsp, frame);
    this.params.forEach((param, i) => {
      a.mov(qword(rbp, param.offset), SYSV_ARG_REGS[i]);
    });
    for (const step of this.steps) step(a, label);
    a.xor(eax, eax);
    a.bind(label("return"));
    a.leave().ret();
  }

  // ---- shared by the vocabulary ----------------------------------------------------------

  protected block(description: string, body: () => void): void {
    const scope = new Scope(description);
    this.scopes.push(scope);
    try {
      body();
    } finally {
      scope.open = false;
      this.scopes.pop();
    }
  }

  protected loadOperand(reg: Reg, operand: Operand, what: string): void {
    this.checkOperand(operand, what);
    this.steps.push((a) => emitLoad(a, reg, operand));
  }

  protected checkOperand(operand: Operand, what: string): void {
    if (operand instanceof Value) {
      this.use(operand, what);
      return;
    }
    if (typeof operand === "number" && !Number.isSafeInteger(operand)) {
      throw new GuestProgramError(
        this.name,
        `${what}: ${operand} is not an integer (use a bigint above 2^53)`,
      );
    }
    if (typeof operand !== "number" && typeof operand !== "bigint") {
      throw new GuestProgramError(this.name, `${what}: ${String(operand)} is not a value or an integer`);
    }
    const big = BigInt(operand);
    if (big < I64_MIN || big >= U64_LIMIT) {
      throw new GuestProgramError(this.name, `${what}: ${operand} does not fit in 64 bits`);
    }
  }

  protected use(value: Value, what: string): void {
    if (value.owner !== this) {
      throw new GuestProgramError(
        this.name,
        `${what}: ${value.origin} belongs to function ${value.owner.name}`,
      );
    }
    if (!value.scope.open) {
      throw new GuestProgramError(
        this.name,
        `${what}: ${value.origin} is used out of scope (it was made in ${value.scope.description}, which has ended)`,
      );
    }
    if (value.voidResult) {
      throw new GuestProgramError(this.name, `${what}: ${value.origin} returns no value`);
    }
  }

  protected checkOpen(): void {
    if (this.closed) {
      throw new GuestProgramError(
        this.name,
        "the function body has ended; build it inside its g.fn callback",
      );
    }
  }

  protected checkSize(size: number, what: string): void {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
      throw new GuestProgramError(this.name, `${what}: size ${size} is not 1, 2, 4 or 8 bytes`);
    }
  }

  protected nextLabelId(): number {
    this.labelCount += 1;
    return this.labelCount;
  }

  protected newSlot(): number {
    this.slotBytes += 8;
    return -this.slotBytes;
  }

  protected newLocal(origin: string): Local {
    return new Local(this, this.newSlot(), this.currentScope(), origin);
  }

  protected newTemp(origin: string, voidResult = false): Value {
    return new Value(this, this.newSlot(), this.currentScope(), `the result of ${origin}`, voidResult);
  }

  protected currentScope(): Scope {
    return this.scopes[this.scopes.length - 1];
  }
}
