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
  qword,
  rax,
  rbp,
  rbx,
  rcx,
  rdx,
  rip,
  word,
} from "@tdxsim/x86/asm";
import { SYSV_ARG_REGS } from "../library/routines.js";
import { FunctionFrame } from "./function-frame.js";
import { GuestProgramError } from "./guest-program-error.js";
import { type AccessSize, emitLoad, Local, type LocalArray, type Operand, type Value } from "./values.js";

// The vocabulary of a guest function body: variables and memory, 64-bit integer arithmetic
// and comparisons, native instructions, control flow and SysV calls. Every value lives in an
// 8-byte stack slot, so the code reads like -O0 output and needs no register allocation.

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

export class FunctionBuilder extends FunctionFrame {
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

  /** The value of a data global of 1, 2, 4 or 8 bytes (`counter` in C), zero-extended. */
  loadGlobal(name: string): Value {
    return this.load(this.scalarGlobalSize(name, "loadGlobal"), this.symbol(name));
  }

  /** global = value (its low size × 8 bits), for a data global of 1, 2, 4 or 8 bytes. */
  storeGlobal(name: string, value: Operand): void {
    this.store(this.scalarGlobalSize(name, "storeGlobal"), this.symbol(name), value);
  }

  private scalarGlobalSize(name: string, what: string): AccessSize {
    this.checkOpen();
    const size = this.resolver.globalSize(name);
    if (size === undefined) throw new GuestProgramError(this.name, `${what}: "${name}" is not a data global`);
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) {
      throw new GuestProgramError(
        this.name,
        `${what}: global "${name}" has ${size} bytes; use f.symbol("${name}") with f.load/f.store`,
      );
    }
    return size;
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

  // ---- helpers of the vocabulary ---------------------------------------------------------------

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
}
