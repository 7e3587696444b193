// A test-only interpreter for the few 64-bit instructions the guest library and the builder
// emit, driven by @tdxsim/x86's decoder, so the routines can be run before the real CPU
// exists: TDCALL calls back into the test (which plays the TDX module and the VMM). It is
// not a CPU model — flat memory, no faults, only the flags the emitted code tests — and any
// instruction outside its subset stops the run with an error naming it.
import {
  decodeInto,
  OK_IMM,
  OK_MEM,
  OK_REG,
  OK_REL,
  opClass,
  opKind,
  opName,
  opReg,
  opSize,
  R_DISP_HI,
  R_DISP_LO,
  R_IMM_HI,
  R_IMM_LO,
  R_LEN,
  R_MBASE,
  R_MINDEX,
  R_MSCALE,
  R_NOPS,
  R_OP,
  R_OP0,
  R_OPCODE,
  R_STATUS,
  RECORD_STRIDE,
  ST_OK,
} from "@tdxsim/x86";

// Register classes of the packed operand (CLS_CR, CLS_SEG in @tdxsim/x86's operand kinds).
const CLS_SEG = 3;
const CLS_CR = 4;

const MASK64 = (1n << 64n) - 1n;
const REG_RIP = 16;
const RSP = 4;
/** GPR numbers by name. */
export const GPR = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
} as const;

const mask = (size: number) => (1n << BigInt(size * 8)) - 1n;
const signed = (v: bigint, size: number) => BigInt.asIntN(size * 8, v);

/** Returned by `call` when the routine returns to this address. */
const RETURN_SENTINEL = 0xdead_0000_0000n;

export class MiniMachine {
  readonly regs = new Array<bigint>(16).fill(0n);
  rip = 0n;
  private readonly pages = new Map<bigint, Uint8Array>();
  private flags = { zf: false, sf: false, cf: false, of: false };
  private readonly rec = new Int32Array(RECORD_STRIDE);
  steps = 0;
  /** Code size: td_boot starts in 32-bit protected mode and ends with a far jump to 64-bit code. */
  mode: 32 | 64 = 64;
  /** System state the boot code loads (recorded, not acted on). */
  readonly system = {
    cr: new Map<number, bigint>(),
    /** CR numbers in the order they were written. */
    crWrites: [] as number[],
    sreg: new Map<number, bigint>(),
    gdtr: undefined as { limit: bigint; base: bigint } | undefined,
    idtr: undefined as { limit: bigint; base: bigint } | undefined,
    cs: 0n,
    interruptsEnabled: true,
  };

  constructor(
    /** Called at TDCALL with the register file; it updates the registers as the module would. */
    private readonly onTdcall: (regs: bigint[]) => void,
  ) {}

  load(address: bigint, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.write(address + BigInt(i), 1, BigInt(bytes[i]));
  }

  read(address: bigint, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.byteAt(address + BigInt(i)));
    return v;
  }

  write(address: bigint, size: number, value: bigint): void {
    for (let i = 0; i < size; i++) {
      const a = (address + BigInt(i)) & MASK64;
      const page = this.page(a);
      page[Number(a & 0xfffn)] = Number((value >> BigInt(8 * i)) & 0xffn);
    }
  }

  /** Calls `entry` with SysV arguments and runs until it returns; returns RAX. */
  call(entry: bigint, args: bigint[] = [], stackTop = 0x80_0000n): bigint {
    const argRegs = [GPR.rdi, GPR.rsi, GPR.rdx, GPR.rcx, GPR.r8, GPR.r9];
    args.forEach((v, i) => {
      this.regs[argRegs[i]] = v & MASK64;
    });
    this.regs[RSP] = stackTop - 8n;
    this.write(this.regs[RSP], 8, RETURN_SENTINEL);
    this.rip = entry;
    while (this.rip !== RETURN_SENTINEL) {
      this.step();
      if (++this.steps > 1_000_000) throw new Error("mini-interpreter: step limit");
    }
    return this.regs[GPR.rax];
  }

  /**
   * Delivers an exception the way a 64-bit interrupt gate does (SS, RSP, RFLAGS, CS, RIP on a
   * 16-byte aligned stack, no error code) and runs the handler until IRETQ returns.
   */
  deliverException(handler: bigint, interruptedRip: bigint): void {
    const frameTop = this.regs[RSP] & ~15n;
    this.regs[RSP] = frameTop;
    for (const v of [0x10n, frameTop, 0x2n, 0x8n, interruptedRip]) {
      this.regs[RSP] = (this.regs[RSP] - 8n) & MASK64;
      this.write(this.regs[RSP], 8, v);
    }
    this.rip = handler;
    this.returnedFromInterrupt = false;
    while (!this.returnedFromInterrupt) {
      this.step();
      if (++this.steps > 1_000_000) throw new Error("mini-interpreter: step limit");
    }
  }

  /** Set by IRETQ. */
  returnedFromInterrupt = false;
  /** RSP at every CALL through a register (an installed handler), for alignment checks. */
  readonly indirectCallRsp: bigint[] = [];

  private byteAt(address: bigint): number {
    return this.page(address & MASK64)[Number(address & 0xfffn)];
  }

  private page(address: bigint): Uint8Array {
    const key = address >> 12n;
    let p = this.pages.get(key);
    if (!p) {
      p = new Uint8Array(4096);
      this.pages.set(key, p);
    }
    return p;
  }

  step(): void {
    const bytes = new Uint8Array(15);
    for (let i = 0; i < 15; i++) bytes[i] = this.byteAt(this.rip + BigInt(i));
    const r = this.rec;
    decodeInto(bytes, 0, 15, this.mode, r, 0);
    if (r[R_STATUS] !== ST_OK)
      throw new Error(`mini-interpreter: undecodable bytes at ${this.rip.toString(16)}`);
    const next = this.rip + BigInt(r[R_LEN]);
    const name = opName(r[R_OP]);
    const ops = Array.from({ length: r[R_NOPS] }, (_, i) => r[R_OP0 + i]);
    const size = (i: number) => opSize(ops[i]);
    const addr = () => {
      const base = r[R_MBASE];
      const index = r[R_MINDEX];
      let a = BigInt.asIntN(64, (BigInt(r[R_DISP_HI]) << 32n) | BigInt(r[R_DISP_LO] >>> 0));
      if (base === REG_RIP) a += next;
      else if (base >= 0) a += this.regs[base];
      if (index >= 0) a += this.regs[index] * BigInt(r[R_MSCALE]);
      return a & MASK64;
    };
    const imm = () => BigInt.asIntN(64, (BigInt(r[R_IMM_HI]) << 32n) | BigInt(r[R_IMM_LO] >>> 0));
    const get = (i: number): bigint => {
      const k = opKind(ops[i]);
      if (k === OK_REG && opClass(ops[i]) === CLS_CR) return this.system.cr.get(opReg(ops[i])) ?? 0n;
      if (k === OK_REG) return this.regs[opReg(ops[i])] & mask(size(i));
      if (k === OK_MEM) return this.read(addr(), size(i));
      if (k === OK_IMM) return imm() & mask(size(0) || 8);
      throw new Error(`mini-interpreter: operand kind ${k} of ${name}`);
    };
    const set = (i: number, v: bigint) => {
      const k = opKind(ops[i]);
      const s = size(i);
      if (k === OK_REG && opClass(ops[i]) === CLS_CR) {
        this.system.cr.set(opReg(ops[i]), v);
        this.system.crWrites.push(opReg(ops[i]));
      } else if (k === OK_REG && opClass(ops[i]) === CLS_SEG) {
        this.system.sreg.set(opReg(ops[i]), v & 0xffffn);
      } else if (k === OK_REG) {
        const n = opReg(ops[i]);
        // 32-bit writes zero-extend; 8/16-bit writes merge
        this.regs[n] = s >= 4 ? v & mask(s) : (this.regs[n] & ~mask(s) & MASK64) | (v & mask(s));
      } else if (k === OK_MEM) {
        this.write(addr(), s, v);
      } else {
        throw new Error(`mini-interpreter: cannot write operand kind ${k} of ${name}`);
      }
    };
    const logic = (v: bigint, s: number) => {
      this.flags = { zf: (v & mask(s)) === 0n, sf: signed(v, s) < 0n, cf: false, of: false };
      return v & mask(s);
    };
    const subFlags = (a: bigint, b: bigint, s: number) => {
      const res = (a - b) & mask(s);
      this.flags = {
        zf: res === 0n,
        sf: signed(res, s) < 0n,
        cf: a < b,
        of: signed(a, s) - signed(b, s) !== signed(res, s),
      };
      return res;
    };
    const push = (v: bigint) => {
      this.regs[RSP] = (this.regs[RSP] - 8n) & MASK64;
      this.write(this.regs[RSP], 8, v);
    };
    const pop = () => {
      const v = this.read(this.regs[RSP], 8);
      this.regs[RSP] = (this.regs[RSP] + 8n) & MASK64;
      return v;
    };
    const cc = (code: number): boolean => {
      const f = this.flags;
      const table = [
        f.of,
        !f.of,
        f.cf,
        !f.cf,
        f.zf,
        !f.zf,
        f.cf || f.zf,
        !f.cf && !f.zf,
        f.sf,
        !f.sf,
        false,
        true,
        f.sf !== f.of,
        f.sf === f.of,
        f.zf || f.sf !== f.of,
        !f.zf && f.sf === f.of,
      ];
      if (code === 0xa || code === 0xb) throw new Error("mini-interpreter: parity flag");
      return table[code];
    };
    let target = next;
    const s0 = ops.length > 0 ? size(0) : 8;
    if (name.startsWith("J") && name !== "JMP" && opKind(ops[0]) === OK_REL) {
      if (cc(r[R_OPCODE] & 0xf)) target = (next + imm()) & MASK64;
    } else if (name.startsWith("SET")) {
      set(0, cc(r[R_OPCODE] & 0xf) ? 1n : 0n);
    } else {
      switch (name) {
        case "MOV":
          set(0, get(1));
          break;
        case "MOVZX":
          set(0, get(1));
          break;
        case "LEA":
          set(0, addr());
          break;
        case "PUSH":
          push(opKind(ops[0]) === OK_IMM ? imm() & MASK64 : get(0));
          break;
        case "POP":
          set(0, pop());
          break;
        case "ADD": {
          const a = get(0);
          const b = get(1);
          const res = (a + b) & mask(s0);
          this.flags = { zf: res === 0n, sf: signed(res, s0) < 0n, cf: a + b > mask(s0), of: false };
          set(0, res);
          break;
        }
        case "SUB":
          set(0, subFlags(get(0), get(1), s0));
          break;
        case "CMP":
          subFlags(get(0), get(1), s0);
          break;
        case "AND":
          set(0, logic(get(0) & get(1), s0));
          break;
        case "OR":
          set(0, logic(get(0) | get(1), s0));
          break;
        case "XOR":
          set(0, logic(get(0) ^ get(1), s0));
          break;
        case "TEST":
          logic(get(0) & get(1), s0);
          break;
        case "NOT":
          set(0, ~get(0) & mask(s0));
          break;
        case "INC":
          set(0, logic(get(0) + 1n, s0));
          break;
        case "DEC":
          set(0, logic(get(0) - 1n, s0));
          break;
        case "SHL":
        case "SHR":
        case "SAR": {
          const count = get(1) & (s0 === 8 ? 63n : 31n);
          const v = get(0);
          const res =
            name === "SHL"
              ? v << count
              : name === "SHR"
                ? v >> count
                : BigInt.asUintN(s0 * 8, signed(v, s0) >> count);
          set(0, logic(res, s0));
          break;
        }
        case "IMUL":
          if (ops.length !== 2 && ops.length !== 3) throw new Error("mini-interpreter: one-operand IMUL");
          set(0, (get(ops.length - 2) * (ops.length === 3 ? get(2) : get(1))) & mask(s0));
          break;
        case "DIV": {
          const divisor = get(0);
          if (divisor === 0n) throw new Error("mini-interpreter: #DE");
          const dividend = (this.regs[GPR.rdx] << 64n) | this.regs[GPR.rax];
          this.regs[GPR.rax] = (dividend / divisor) & MASK64;
          this.regs[GPR.rdx] = dividend % divisor;
          break;
        }
        case "BTS": {
          const bit = get(1) & 63n;
          this.flags.cf = ((get(0) >> bit) & 1n) === 1n;
          set(0, get(0) | (1n << bit));
          break;
        }
        case "CALL":
          push(next);
          if (opKind(ops[0]) !== OK_REL) this.indirectCallRsp.push(this.regs[RSP]);
          target = opKind(ops[0]) === OK_REL ? (next + imm()) & MASK64 : get(0);
          break;
        case "IRETQ":
          target = pop();
          pop(); // CS
          pop(); // RFLAGS
          this.regs[RSP] = pop();
          pop(); // SS
          this.returnedFromInterrupt = true;
          break;
        case "JMP":
          if (opKind(ops[0]) === OK_MEM && size(0) === 6) {
            // far jump through m16:32: the offset, then the new CS
            const a = addr();
            target = this.read(a, 4);
            this.system.cs = this.read(a + 4n, 2);
          } else {
            target = opKind(ops[0]) === OK_REL ? (next + imm()) & MASK64 : get(0);
          }
          break;
        case "LGDT":
        case "LIDT": {
          const a = addr();
          const table = { limit: this.read(a, 2), base: this.read(a + 2n, this.mode === 64 ? 8 : 4) };
          if (name === "LGDT") this.system.gdtr = table;
          else this.system.idtr = table;
          break;
        }
        case "CLI":
          this.system.interruptsEnabled = false;
          break;
        case "RET":
          target = pop();
          break;
        case "LEAVE":
          this.regs[RSP] = this.regs[GPR.rbp];
          this.regs[GPR.rbp] = pop();
          break;
        case "CLD":
          break;
        case "TDCALL":
          this.onTdcall(this.regs);
          break;
        default:
          throw new Error(`mini-interpreter: ${name} at ${this.rip.toString(16)} is outside the subset`);
      }
    }
    this.rip = target;
  }
}
