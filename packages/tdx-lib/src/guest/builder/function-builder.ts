import {
  type Assembler,
  al,
  ax,
  byte,
  cl,
  dword,
  dx,
  eax,
  edx,
  type Label,
  qword,
  type Reg,
  rax,
  rbp,
  rbx,
  rcx,
  rdx,
  rip,
  rsp,
  word,
} from "@tdxsim/x86/asm";
import { SYSV_ARG_REGS } from "../library/tdvmcall-wrappers.js";
import { GuestProgramError } from "./guest-program-error.js";

// One guest function being built: every value lives in an 8-byte stack slot of the frame
// (RBP-relative), so expressions need no register allocation and the code reads like -O0
// output. The body is recorded as emit steps and assembled once its frame size is known.

/** An integer operand: a value of this function or an immediate (u64 or i64 range). */
export type Operand = Value | number | bigint;

/** Access sizes of load/store. */
export type AccessSize = 1 | 2 | 4 | 8;

/** A lexical block (the function body, an if arm, a loop body); values die with it. */
class Scope {
  open = true;
  constructor(readonly description: string) {}
}

/** A 64-bit value in a stack slot, usable while its block is open. */
export class Value {
  constructor(
    readonly owner: FunctionBuilder,
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
}

type Step = (a: Assembler, labels: (name: string) => Label) => void;

const I64_MIN = -(1n << 63n);
const U64_LIMIT = 1n << 64n;

const CONDITIONS = {
  eq: "sete",
  ne: "setne",
  lt: "setb",
  le: "setbe",
  gt: "seta",
  ge: "setae",
  slt: "setl",
  sle: "setle",
  sgt: "setg",
  sge: "setge",
} as const;
type Condition = keyof typeof CONDITIONS;

export class FunctionBuilder {
  private readonly steps: Step[] = [];
  private slotBytes = 0;
  private readonly scopes: Scope[] = [];
  private closed = false;
  private labelCount = 0;
  /** Parameters as locals (spilled from RDI, RSI, … in the prologue). */
  readonly params: readonly Local[];

  constructor(
    readonly name: string,
    paramCount: number,
    private readonly resolver: SymbolResolver,
  ) {
    if (!Number.isInteger(paramCount) || paramCount < 0 || paramCount > SYSV_ARG_REGS.length) {
      throw new GuestProgramError(name, `${paramCount} parameters: a guest function takes 0 to 6`);
    }
    this.scopes.push(new Scope("the function body"));
    this.params = Array.from({ length: paramCount }, (_, i) => this.newLocal(`parameter ${i}`));
  }

  // ---- variables and memory -------------------------------------------------------------

  /** A local variable, optionally initialised: `const i = f.local(0)`. */
  local(init?: Operand, name = "local"): Local {
    this.checkOpen();
    const local = this.newLocal(name);
    if (init !== undefined) this.set(local, init);
    return local;
  }

  /** local = value. */
  set(local: Value, value: Operand): void {
    this.checkOpen();
    this.use(local, "set");
    if (!(local instanceof Local)) {
      throw new GuestProgramError(this.name, `set: the target (${local.origin}) is not a local variable`);
    }
    this.loadOperand(rax, value, "set");
    this.steps.push((a) => a.mov(qword(rbp, local.offset), rax));
  }

  /** A local byte array of `size` bytes, 16-aligned in the frame (e.g. a struct ve_info). */
  array(size: number): LocalArray {
    this.checkOpen();
    if (!Number.isInteger(size) || size <= 0) {
      throw new GuestProgramError(this.name, `array: size ${size} is not a positive integer`);
    }
    this.slotBytes = Math.ceil((this.slotBytes + size) / 16) * 16;
    const base = -this.slotBytes;
    const address = this.newTemp("array address");
    this.steps.push((a) => {
      a.lea(rax, qword(rbp, base));
      a.mov(qword(rbp, address.offset), rax);
    });
    return { address, size };
  }

  /** &local: the address of a variable's slot, as upstream passes `&data`. */
  addrOf(local: Value): Value {
    this.checkOpen();
    this.use(local, "addrOf");
    if (!(local instanceof Local)) {
      throw new GuestProgramError(
        this.name,
        `addrOf: ${local.origin} is a temporary, take the address of a local`,
      );
    }
    const result = this.newTemp("address");
    this.steps.push((a) => {
      a.lea(rax, qword(rbp, local.offset));
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  /** The address of a library routine, library global or program function. */
  symbol(name: string): Value {
    this.checkOpen();
    if (!this.resolver.hasSymbol(name)) {
      throw new GuestProgramError(this.name, `symbol: unknown symbol "${name}"`);
    }
    const result = this.newTemp(`&${name}`);
    this.steps.push((a) => {
      a.lea(rax, qword(rip, a.label(name)));
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  /** *(uintN_t *)(pointer + offset), zero-extended to 64 bits. */
  load(size: AccessSize, pointer: Operand, offset = 0): Value {
    this.checkOpen();
    this.checkSize(size, "load");
    this.loadOperand(rcx, pointer, "load");
    const result = this.newTemp(`load${size * 8}`);
    this.steps.push((a) => {
      if (size === 8) a.mov(rax, qword(rcx, offset));
      else if (size === 4) a.mov(eax, dword(rcx, offset));
      else a.movzx(eax, size === 2 ? word(rcx, offset) : byte(rcx, offset));
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  /** *(uintN_t *)(pointer + offset) = value (its low N bits). */
  store(size: AccessSize, pointer: Operand, value: Operand, offset = 0): void {
    this.checkOpen();
    this.checkSize(size, "store");
    this.loadOperand(rcx, pointer, "store");
    this.loadOperand(rax, value, "store");
    this.steps.push((a) => {
      const target = ({ 1: byte, 2: word, 4: dword, 8: qword } as const)[size](rcx, offset);
      a.mov(target, ({ 1: al, 2: ax, 4: eax, 8: rax } as const)[size]);
    });
  }

  // ---- arithmetic and comparisons (64-bit, wrapping) ------------------------------------

  add(x: Operand, y: Operand): Value {
    return this.binary("add", x, y, (a) => a.add(rax, rcx));
  }
  sub(x: Operand, y: Operand): Value {
    return this.binary("sub", x, y, (a) => a.sub(rax, rcx));
  }
  mul(x: Operand, y: Operand): Value {
    return this.binary("mul", x, y, (a) => a.imul(rax, rcx));
  }
  /** Unsigned division; the CPU raises #DE on a zero divisor, as in C. */
  udiv(x: Operand, y: Operand): Value {
    return this.binary("udiv", x, y, (a) => a.xor(edx, edx).div(rcx));
  }
  urem(x: Operand, y: Operand): Value {
    return this.binary("urem", x, y, (a) => a.xor(edx, edx).div(rcx).mov(rax, rdx));
  }
  and(x: Operand, y: Operand): Value {
    return this.binary("and", x, y, (a) => a.and(rax, rcx));
  }
  or(x: Operand, y: Operand): Value {
    return this.binary("or", x, y, (a) => a.or(rax, rcx));
  }
  xor(x: Operand, y: Operand): Value {
    return this.binary("xor", x, y, (a) => a.xor(rax, rcx));
  }
  /** x << y (y taken mod 64, as the CPU does). */
  shl(x: Operand, y: Operand): Value {
    return this.binary("shl", x, y, (a) => a.shl(rax, cl));
  }
  /** Logical x >> y. */
  shr(x: Operand, y: Operand): Value {
    return this.binary("shr", x, y, (a) => a.shr(rax, cl));
  }
  /** Arithmetic x >> y. */
  sar(x: Operand, y: Operand): Value {
    return this.binary("sar", x, y, (a) => a.sar(rax, cl));
  }

  /** Unsigned comparisons (the selftests' values are uint64_t); 1 or 0. */
  eq(x: Operand, y: Operand): Value {
    return this.compare("eq", x, y);
  }
  ne(x: Operand, y: Operand): Value {
    return this.compare("ne", x, y);
  }
  lt(x: Operand, y: Operand): Value {
    return this.compare("lt", x, y);
  }
  le(x: Operand, y: Operand): Value {
    return this.compare("le", x, y);
  }
  gt(x: Operand, y: Operand): Value {
    return this.compare("gt", x, y);
  }
  ge(x: Operand, y: Operand): Value {
    return this.compare("ge", x, y);
  }
  /** Signed comparisons. */
  slt(x: Operand, y: Operand): Value {
    return this.compare("slt", x, y);
  }
  sle(x: Operand, y: Operand): Value {
    return this.compare("sle", x, y);
  }
  sgt(x: Operand, y: Operand): Value {
    return this.compare("sgt", x, y);
  }
  sge(x: Operand, y: Operand): Value {
    return this.compare("sge", x, y);
  }
  /** Logical not: 1 if x is 0, else 0. */
  not(x: Operand): Value {
    return this.compare("eq", x, 0);
  }

  // ---- instructions a guest runs natively (the TDX module or the #VE handler deals with them) --

  /** cpuid(leaf, subleaf) as processor.h's __cpuid: EAX, EBX, ECX, EDX as values. */
  cpuid(leaf: Operand, subleaf: Operand = 0): { eax: Value; ebx: Value; ecx: Value; edx: Value } {
    this.checkOpen();
    this.loadOperand(rax, leaf, "cpuid");
    this.loadOperand(rcx, subleaf, "cpuid");
    const out = {
      eax: this.newTemp("cpuid.eax"),
      ebx: this.newTemp("cpuid.ebx"),
      ecx: this.newTemp("cpuid.ecx"),
      edx: this.newTemp("cpuid.edx"),
    };
    this.steps.push((a) => {
      a.push(rbx); // callee-saved, CPUID writes it
      a.cpuid();
      a.mov(qword(rbp, out.eax.offset), rax);
      a.mov(qword(rbp, out.ebx.offset), rbx);
      a.mov(qword(rbp, out.ecx.offset), rcx);
      a.mov(qword(rbp, out.edx.offset), rdx);
      a.pop(rbx);
    });
    return out;
  }

  /** rdmsr(msr): EDX:EAX as one value. In a TD most MSRs take a #VE. */
  rdmsr(msr: Operand): Value {
    this.checkOpen();
    this.loadOperand(rcx, msr, "rdmsr");
    const result = this.newTemp("rdmsr");
    this.steps.push((a) => {
      a.rdmsr();
      a.shl(rdx, 32).or(rax, rdx);
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  /** wrmsr(msr, value): EAX = low half, EDX = high half. */
  wrmsr(msr: Operand, value: Operand): void {
    this.checkOpen();
    this.loadOperand(rcx, msr, "wrmsr");
    this.loadOperand(rax, value, "wrmsr");
    this.steps.push((a) => {
      a.mov(rdx, rax).shr(rdx, 32);
      a.wrmsr();
    });
  }

  /** hlt: in a TD, a #VE the guest turns into TDG.VP.VMCALL<Instruction.HLT>. */
  hlt(): void {
    this.checkOpen();
    this.steps.push((a) => a.hlt());
  }

  /** inb/inw/inl(port): a native IN (a #VE in a TD), zero-extended. */
  inb(port: Operand): Value {
    return this.portIn(port, 1);
  }
  inw(port: Operand): Value {
    return this.portIn(port, 2);
  }
  inl(port: Operand): Value {
    return this.portIn(port, 4);
  }
  /** outb/outw/outl(value, port), in io.h's argument order. */
  outb(value: Operand, port: Operand): void {
    this.portOut(value, port, 1);
  }
  outw(value: Operand, port: Operand): void {
    this.portOut(value, port, 2);
  }
  outl(value: Operand, port: Operand): void {
    this.portOut(value, port, 4);
  }

  // ---- control flow ------------------------------------------------------------------------

  /** if (cond) then(); else otherwise(); — cond is true when non-zero. */
  if(cond: Operand, then: () => void, otherwise?: () => void): void {
    this.checkOpen();
    const id = this.nextLabelId();
    this.loadOperand(rax, cond, "if");
    this.steps.push((a, label) => a.test(rax, rax).jz(label(`else${id}`)));
    this.block("an if branch", then);
    if (otherwise) {
      this.steps.push((a, label) => a.jmp(label(`endif${id}`)));
      this.steps.push((a, label) => a.bind(label(`else${id}`)));
      this.block("an else branch", otherwise);
      this.steps.push((a, label) => a.bind(label(`endif${id}`)));
    } else {
      this.steps.push((a, label) => a.bind(label(`else${id}`)));
    }
  }

  /** while (cond()) body(); — cond is re-evaluated before every iteration. */
  while(cond: () => Operand, body: () => void): void {
    this.checkOpen();
    const id = this.nextLabelId();
    this.steps.push((a, label) => a.bind(label(`while${id}`)));
    this.block("a while condition", () => {
      const value = cond();
      this.loadOperand(rax, value, "while");
    });
    this.steps.push((a, label) => a.test(rax, rax).jz(label(`endwhile${id}`)));
    this.block("a while body", body);
    this.steps.push((a, label) => a.jmp(label(`while${id}`)));
    this.steps.push((a, label) => a.bind(label(`endwhile${id}`)));
  }

  /** return value; (0 when omitted, as for a void function). */
  ret(value: Operand = 0): void {
    this.checkOpen();
    this.loadOperand(rax, value, "ret");
    this.steps.push((a, label) => a.jmp(label("return")));
  }

  // ---- calls -------------------------------------------------------------------------------

  /**
   * name(args…) with the SysV convention: up to six integer arguments in RDI, RSI, RDX, RCX,
   * R8, R9; the result (RAX) in a new value. Library routines are checked now, program
   * functions when the program is assembled.
   */
  call(name: string, ...args: Operand[]): Value {
    this.checkOpen();
    if (args.length > SYSV_ARG_REGS.length) {
      throw new GuestProgramError(
        this.name,
        `call ${name}: ${args.length} arguments, at most 6 are passed in registers`,
      );
    }
    const signature = this.resolver.routine(name);
    if (signature === undefined) {
      throw new GuestProgramError(this.name, `call: unknown routine "${name}"`);
    }
    if (signature.params !== args.length) {
      throw new GuestProgramError(
        this.name,
        `call ${name}: ${args.length} argument${args.length === 1 ? "" : "s"} given, it takes ${signature.params}`,
      );
    }
    args.forEach((arg, i) => {
      this.checkOperand(arg, `call ${name} argument ${i + 1}`);
    });
    const result = this.newTemp(`${name}()`, !signature.returns);
    this.steps.push((a) => {
      args.forEach((arg, i) => {
        emitLoad(a, SYSV_ARG_REGS[i], arg);
      });
      a.call(a.label(name));
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
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

  // ---- internals -----------------------------------------------------------------------------

  private block(description: string, body: () => void): void {
    const scope = new Scope(description);
    this.scopes.push(scope);
    try {
      body();
    } finally {
      scope.open = false;
      this.scopes.pop();
    }
  }

  private binary(op: string, x: Operand, y: Operand, emit: (a: Assembler) => void): Value {
    this.checkOpen();
    this.loadOperand(rax, x, op);
    this.loadOperand(rcx, y, op);
    const result = this.newTemp(op);
    this.steps.push((a) => {
      emit(a);
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  private compare(cond: Condition, x: Operand, y: Operand): Value {
    this.checkOpen();
    this.loadOperand(rax, x, cond);
    this.loadOperand(rcx, y, cond);
    const result = this.newTemp(cond);
    this.steps.push((a) => {
      a.cmp(rax, rcx);
      a.insn(CONDITIONS[cond], cl);
      a.movzx(eax, cl);
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  private loadOperand(reg: Reg, operand: Operand, what: string): void {
    this.checkOperand(operand, what);
    this.steps.push((a) => emitLoad(a, reg, operand));
  }

  private portIn(port: Operand, size: 1 | 2 | 4): Value {
    this.checkOpen();
    this.loadOperand(rdx, port, "in");
    const result = this.newTemp(`in${size * 8}`);
    this.steps.push((a) => {
      a.xor(eax, eax);
      a.in(size === 1 ? al : size === 2 ? ax : eax, dx);
      a.mov(qword(rbp, result.offset), rax);
    });
    return result;
  }

  private portOut(value: Operand, port: Operand, size: 1 | 2 | 4): void {
    this.checkOpen();
    this.loadOperand(rax, value, "out");
    this.loadOperand(rdx, port, "out");
    this.steps.push((a) => a.out(dx, size === 1 ? al : size === 2 ? ax : eax));
  }

  private checkOperand(operand: Operand, what: string): void {
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

  private use(value: Value, what: string): void {
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

  private checkOpen(): void {
    if (this.closed) {
      throw new GuestProgramError(
        this.name,
        "the function body has ended; build it inside its g.fn callback",
      );
    }
  }

  private checkSize(size: number, what: string): void {
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
      throw new GuestProgramError(this.name, `${what}: size ${size} is not 1, 2, 4 or 8 bytes`);
    }
  }

  private nextLabelId(): number {
    this.labelCount += 1;
    return this.labelCount;
  }

  private newSlot(): number {
    this.slotBytes += 8;
    return -this.slotBytes;
  }

  private newLocal(origin: string): Local {
    return new Local(this, this.newSlot(), this.currentScope(), origin);
  }

  private newTemp(origin: string, voidResult = false): Value {
    return new Value(this, this.newSlot(), this.currentScope(), `the result of ${origin}`, voidResult);
  }

  private currentScope(): Scope {
    return this.scopes[this.scopes.length - 1];
  }
}

function emitLoad(a: Assembler, reg: Reg, operand: Operand): void {
  if (operand instanceof Value) {
    a.mov(reg, qword(rbp, operand.offset));
  } else if (BigInt(operand) === 0n) {
    a.xor(reg, reg);
  } else {
    a.mov(reg, BigInt.asIntN(64, BigInt(operand)));
  }
}
