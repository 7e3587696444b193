// Every form of the table, encoded with random operands by our encoder, decoded by iced-x86
// (and by our decoder): same length, mnemonic and operands.
import { Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register } from "iced-x86";
import { encode } from "../../src/asm/encode.js";
import { MatchError, matchForm, resolveSize } from "../../src/asm/match.js";
import { far, type Mem, mem, type Operand, REGISTERS, type Reg } from "../../src/asm/operands.js";
import { decodeOne } from "../../src/decoder/view.js";
import {
  FL_A16,
  FL_A64,
  FL_I64,
  FL_O64,
  FL_OS16,
  FL_OS32,
  FL_OS64,
  FL_UNSUP,
  FORMS,
  type Form,
} from "../../src/isa/forms.js";
import {
  CLS_GPR,
  CLS_SEG,
  LOC_FAR,
  LOC_FIXED,
  LOC_IMM,
  LOC_MOFFS,
  LOC_ONE,
  LOC_OPREG,
  LOC_REG,
  LOC_REL,
  LOC_RM,
  LOC_STR,
  type OperandKind,
  SZ_V,
} from "../../src/isa/operand-kinds.js";
import { rng } from "./random-agreement.js";

/** Our mnemonic → iced's, where the spellings differ. */
const ICED_NAME: Record<string, string> = { FWAIT: "WAIT" };
/** iced names hints in Intel's reserved-NOP space (0F 0D, 0F 18-1F) that our table decodes as NOP. */
const RESERVED_NOP_HINTS = new Set([
  "RESERVEDNOP",
  "PREFETCHWT1",
  "PREFETCHIT0",
  "PREFETCHIT1",
  "CLDEMOTE",
  "NOP",
  "PREFETCHW",
  "PREFETCH",
  "PREFETCHNTA",
  "PREFETCHT0",
  "PREFETCHT1",
  "PREFETCHT2",
]);
/** 16-bit register operands that iced shows at the operand size (the CPU ignores the upper bits). */
const WIDE16 = new Set(["ARPL", "MOV", "LLDT", "LTR", "VERR", "VERW", "LMSW"]);

export interface CoverageFailure {
  form: string;
  bytes: string;
  problem: string;
}

const ORIGIN = 0x1000000n;

export function formCoverage(
  perForm: number,
  seed: number,
  filter?: (f: Form) => boolean,
  /** encode every form valid outside 64-bit mode in 32-bit code instead */
  legacy = false,
): { checked: number; forms: number; failures: CoverageFailure[] } {
  const next = rng(seed);
  const rand = (n: number) => next() % n;
  const failures: CoverageFailure[] = [];
  let checked = 0;
  let forms = 0;
  const instr = new Instruction();
  for (const form of FORMS) {
    if (form.flags & FL_UNSUP || (filter && !filter(form))) continue;
    // outside 64-bit mode there is no 64-bit operand size (o64s-only forms, REX.W forms)
    const only64 = form.flags & FL_OS64 && !(form.flags & (FL_OS16 | FL_OS32));
    if (legacy && (form.flags & (FL_O64 | FL_A64) || only64 || form.w === 1)) continue;
    const mode = legacy || form.flags & (FL_I64 | FL_A16) ? 32 : 64;
    if (form.operands.some((k) => k.loc === LOC_MOFFS) && mode === 64) continue; // movabs only: covered by tests
    forms++;
    let encoded = 0;
    for (let t = 0; t < perForm * 4 && encoded < perForm; t++) {
      const osz = pick(rand, form, mode);
      const ops = form.operands.every((k) => k.loc === LOC_STR || k.loc === LOC_FIXED)
        ? []
        : form.operands.map((k) => randomOperand(k, osz, mode, rand));
      const movabs = form.operands.some(
        (k) => k.loc === LOC_MOFFS || (k.loc === LOC_IMM && k.immSize === SZ_V),
      );
      const m = matchForm(form, ops, mode, movabs);
      if (m instanceof MatchError) {
        // the random operand size may not be allowed for this form: try again with another
        continue;
      }
      let bytes: number[];
      try {
        bytes = encode(
          m,
          { mode, address: ORIGIN, resolve: () => undefined, prefixes: [], final: true },
          true,
        ).bytes;
      } catch (e) {
        if (e instanceof MatchError) continue; // e.g. AH with a REX-requiring operand
        throw e;
      }
      checked++;
      encoded++;
      const problem = compare(form, ops, Uint8Array.from(bytes), mode, instr);
      if (problem) failures.push({ form: form.row, bytes: hex(bytes), problem });
    }
    if (encoded === 0)
      failures.push({ form: form.row, bytes: "", problem: "no random operands could be encoded" });
  }
  instr.free();
  return { checked, forms, failures };
}

const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

function pick(rand: (n: number) => number, form: Form, mode: number): number {
  const sizes = mode === 64 ? [2, 4, 8] : [2, 4];
  void form;
  return sizes[rand(sizes.length)];
}

const GPR_NAMES: Record<number, string[]> = {};
for (const r of REGISTERS.values()) {
  if (r.cls !== CLS_GPR) continue;
  const list = GPR_NAMES[r.size] ?? [];
  list[r.num] = r.name;
  GPR_NAMES[r.size] = list;
}

function randomReg(cls: number, size: number, mode: number, rand: (n: number) => number): Reg {
  const max = mode === 64 ? 16 : 8;
  for (;;) {
    const n = rand(max);
    const r = [...REGISTERS.values()].find(
      (x) => x.cls === cls && x.num === n && (cls !== CLS_GPR || x.size === size),
    );
    if (!r) continue;
    if (cls === CLS_GPR && size === 1 && mode !== 64 && n >= 4) continue;
    if (cls === 4 && ![0, 2, 3, 4, 8].includes(n)) continue; // control registers
    if (cls === 5 && n > 7) continue;
    if (cls === CLS_SEG && n > 5) continue;
    if (cls === 7 && n > 7) continue;
    return r;
  }
}

function randomMem(size: number, mode: number, rand: (n: number) => number): Mem {
  const asz = mode === 64 ? 8 : 4;
  const max = mode === 64 ? 16 : 8;
  const base = rand(4) === 0 ? undefined : randomReg(CLS_GPR, asz, mode, rand);
  let index: Reg | undefined;
  if (rand(2) === 0) {
    do index = randomReg(CLS_GPR, asz, mode, rand);
    while (index.num === 4);
  }
  const d = [0, (rand(256) << 24) >> 24, rand(0x7fffffff) - 0x3fffffff][rand(3)];
  void max;
  return mem(size, { base, index, scale: ([1, 2, 4, 8] as const)[rand(4)], disp: d });
}

function randomOperand(k: OperandKind, osz: number, mode: number, rand: (n: number) => number): Operand {
  const size = resolveSize(k.size, osz, mode);
  switch (k.loc) {
    case LOC_REG:
    case LOC_OPREG:
      return randomReg(k.cls, size, mode, rand);
    case LOC_RM:
      if (k.regOk && (k.memSize === 0 || rand(2) === 0)) return randomReg(k.cls, size, mode, rand);
      return randomMem(resolveSize(k.memSize, osz, mode), mode, rand);
    case LOC_FIXED:
      return [...REGISTERS.values()].find((x) => x.cls === k.cls && x.num === k.fixedReg && x.size === size)!;
    case LOC_ONE:
      return 1;
    case LOC_IMM: {
      const n = resolveSize(k.immSize, osz, mode);
      if (k.signed) {
        if (n === 1) return (rand(256) << 24) >> 24;
        if (n === 2) return (rand(65536) << 16) >> 16;
        return rand(0xffffffff) | 0;
      }
      if (n === 8) return BigInt(rand(0xffffffff)) * 0x100000001n + 0x100000000n;
      return rand(2 ** Math.min(n * 8, 31));
    }
    case LOC_REL: {
      const n = resolveSize(k.immSize, osz, mode);
      const span = n === 1 ? 100 : 0x100000;
      return Number(ORIGIN) + rand(span) - span / 2;
    }
    case LOC_FAR:
      return far(rand(0x10000), rand(0xffff));
    case LOC_MOFFS:
      return mem(size, { disp: rand(0x7fffffff) });
    default:
      return 0;
  }
}

function icedRegName(r: number): string {
  return Register[r].toLowerCase().replace(/^r(\d+)l$/, "r$1b");
}

function compare(
  form: Form,
  ops: Operand[],
  bytes: Uint8Array,
  mode: number,
  instr: Instruction,
): string | undefined {
  const dec = new Decoder(mode, bytes, DecoderOptions.None);
  dec.ip = ORIGIN;
  dec.decodeOut(instr);
  dec.free();
  if (instr.length !== bytes.length)
    return `iced length ${instr.length} (${Mnemonic[instr.mnemonic]}) vs ${bytes.length}`;
  const name = ICED_NAME[form.mnemonic] ?? form.mnemonic;
  const iced = Mnemonic[instr.mnemonic].toUpperCase();
  const reservedNop = form.mnemonic === "NOP" && form.map !== 0 && RESERVED_NOP_HINTS.has(iced);
  if (iced !== name && !reservedNop) return `iced mnemonic ${iced} vs ${form.mnemonic}`;
  const ours = decodeOne(bytes, mode as 64);
  if (!ours.ok || ours.length !== bytes.length || (ours.form?.mnemonic !== form.mnemonic && !reservedNop)) {
    return `our decoder: status ${ours.status} length ${ours.length} ${ours.mnemonic}`;
  }
  if (reservedNop || form.mnemonic.startsWith("MASKMOV")) return undefined; // iced lists implicit/extra operands
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const kind = instr.opKind(i);
    if (typeof op === "object" && op.kind === "reg") {
      if (kind !== OpKind.Register) return `operand ${i + 1}: iced kind ${OpKind[kind]}`;
      const got = icedRegName(instr.opRegister(i));
      const sameNum = REGISTERS.get(got)?.num === op.num && REGISTERS.get(got)?.cls === op.cls;
      if (got !== op.name && !(WIDE16.has(form.mnemonic) && op.size === 2 && sameNum)) {
        return `operand ${i + 1}: iced ${got} vs ${op.name}`;
      }
    } else if (typeof op === "object" && op.kind === "mem") {
      if (kind !== OpKind.Memory) return `operand ${i + 1}: iced kind ${OpKind[kind]}`;
      const base = instr.memoryBase === Register.None ? undefined : icedRegName(instr.memoryBase);
      const index = instr.memoryIndex === Register.None ? undefined : icedRegName(instr.memoryIndex);
      if (base !== op.base?.name || index !== op.index?.name)
        return `operand ${i + 1}: iced [${base}+${index}]`;
      if (op.index && instr.memoryIndexScale !== op.scale)
        return `operand ${i + 1}: scale ${instr.memoryIndexScale}`;
      const disp = BigInt.asIntN(mode === 64 ? 64 : 32, instr.memoryDisplacement);
      if (disp !== BigInt(op.disp as number)) return `operand ${i + 1}: disp ${disp} vs ${String(op.disp)}`;
    } else if (typeof op === "number" || typeof op === "bigint") {
      const k = form.operands[i];
      if (k.loc === LOC_REL) {
        const target =
          kind === OpKind.NearBranch64
            ? instr.nearBranch64
            : kind === OpKind.NearBranch32
              ? BigInt(instr.nearBranch32)
              : BigInt(instr.nearBranch16);
        if (target !== BigInt(op)) return `operand ${i + 1}: branch target ${target} vs ${op}`;
      } else if (k.loc === LOC_IMM) {
        const v = instr.immediate(i);
        const bits = BigInt(resolveSize(k.size, ours.operandSize, mode) * 8);
        if (BigInt.asUintN(Number(bits), v) !== BigInt.asUintN(Number(bits), BigInt(op)))
          return `operand ${i + 1}: imm ${v} vs ${op}`;
      }
    }
  }
  return undefined;
}
