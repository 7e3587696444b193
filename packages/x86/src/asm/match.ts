// Matching assembler operands against a table form: decides the operand size and checks
// every operand, or explains (operand index + reason) why the form does not fit.
import {
  FL_A16,
  FL_A64,
  FL_D64,
  FL_F64,
  FL_I64,
  FL_O64,
  FL_OS16,
  FL_OS32,
  FL_OS64,
  FL_SSE,
  type Form,
} from "../isa/forms.js";
import {
  CLS_GPR,
  CLS_GPR8H,
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
  SZ_A,
  SZ_B,
  SZ_DT,
  SZ_P,
  SZ_V,
  SZ_Y,
  SZ_Z,
} from "../isa/operand-kinds.js";
import { isImm, isLabelish, isMem, isReg, type Mem, type Operand } from "./operands.js";

export interface Match {
  form: Form;
  /** size in bytes this form gives a memory operand written without a size (0 if none) */
  unsizedMem: number;
  /** effective operand size in bytes */
  osz: number;
  /** user operands aligned with form.operands (undefined for implicit string operands) */
  ops: (Operand | undefined)[];
}

export const SIZE_UNKNOWN =
  "operand size unknown: give the memory operand a size (BYTE/WORD/DWORD/QWORD PTR)";

export class MatchError {
  constructor(
    /** 0-based operand index, or -1 for the whole instruction */
    readonly operand: number,
    readonly reason: string,
  ) {}
}

const CLASS_NAMES = [
  "",
  "general-purpose",
  "general-purpose",
  "segment",
  "control",
  "debug",
  "XMM",
  "MMX",
  "x87",
];

/** Size rule → bytes for a given operand size / mode; 0 = unconstrained. */
export function resolveSize(rule: number, osz: number, mode: number, asz = mode / 8): number {
  if (rule >= 0) return rule;
  switch (rule) {
    case SZ_V:
      return osz;
    case SZ_Y:
      return osz === 8 ? 8 : 4;
    case SZ_Z:
      return osz === 2 ? 2 : 4;
    case SZ_P:
      return 2 + osz;
    case SZ_DT:
      return mode === 64 ? 10 : 6;
    case SZ_A:
      return asz;
    case SZ_B:
      return 2 * osz;
    default:
      return 0;
  }
}

/** Operand sizes a form allows in a mode. */
function allowedSizes(form: Form, mode: number): number[] {
  const fixed: number[] = [];
  if (form.flags & FL_OS32) fixed.push(4);
  if (form.flags & FL_OS64) fixed.push(8);
  if (form.flags & FL_OS16) fixed.push(2);
  if (fixed.length) return fixed;
  if (form.flags & FL_SSE) return mode === 64 ? [4, 8] : [4];
  if (mode === 16) return [2, 4];
  if (mode === 32) return [4, 2];
  if (form.flags & FL_F64) return [8];
  if (form.flags & FL_D64) return [8, 2];
  return [4, 2, 8];
}

/** The operand size an operand of this kind implies, or 0. */
function impliedOsz(k: OperandKind, op: Operand): number {
  const rule = isMem(op) ? k.memSize : k.size;
  if (isReg(op) && op.cls !== CLS_GPR && op.cls !== CLS_GPR8H) return 0;
  if (isReg(op) && (k.loc === LOC_REG || k.loc === LOC_RM || k.loc === LOC_OPREG || k.loc === LOC_FIXED)) {
    if (rule === SZ_V) return op.size;
    if (rule === SZ_Y) return op.size === 8 ? 8 : op.size === 4 ? 0 : -1; // 4: operand size 2 or 4
    if (rule === SZ_Z) return op.size === 2 ? 2 : op.size === 4 ? 0 : -1; // 4: operand size 4 or 8
  }
  if (isMem(op) && op.size !== 0 && k.loc === LOC_RM) {
    if (rule === SZ_V) return op.size;
    if (rule === SZ_P) return op.size - 2;
    if (rule === SZ_B) return op.size / 2;
    if (rule === SZ_Y) return op.size === 8 ? 8 : 0;
  }
  return 0;
}

const OSZ_RULES = new Set([SZ_V, SZ_Y, SZ_Z, SZ_P, SZ_B]);
/** True if the form's encoding depends on the operand size (66 / REX.W select it). */
export function formUsesOperandSize(form: Form): boolean {
  if (form.flags & (FL_OS16 | FL_OS32 | FL_OS64)) return true;
  return form.operands.some(
    (k) => OSZ_RULES.has(k.size) || OSZ_RULES.has(k.memSize) || OSZ_RULES.has(k.immSize),
  );
}

export function matchForm(
  form: Form,
  user: readonly Operand[],
  mode: number,
  movabs: boolean,
): Match | MatchError {
  if (form.flags & FL_I64 && mode === 64) return new MatchError(-1, "not encodable in 64-bit mode");
  if (form.flags & FL_O64 && mode !== 64) return new MatchError(-1, "exists only in 64-bit mode");
  if ((form.flags & FL_A16 && mode === 64) || (form.flags & FL_A64 && mode !== 64)) {
    return new MatchError(-1, "address size not encodable in this mode");
  }
  const kinds = form.operands;
  let ops: (Operand | undefined)[];
  if (user.length === kinds.length) ops = [...user];
  else if (user.length === 0 && kinds.every((k) => k.loc === LOC_STR || k.loc === LOC_FIXED)) {
    ops = kinds.map(() => undefined);
  } else {
    return new MatchError(
      -1,
      `takes ${kinds.length} operand${kinds.length === 1 ? "" : "s"}, got ${user.length}`,
    );
  }
  const sizes = allowedSizes(form, mode);
  let osz = 0;
  let sizeUnknown = false;
  for (let i = 0; i < kinds.length; i++) {
    const op = ops[i];
    if (op === undefined) continue;
    const s = impliedOsz(kinds[i], op);
    if (s < 0) return new MatchError(i, `wrong register size (${(op as { name: string }).name})`);
    if (s === 0) continue;
    if (osz !== 0 && s !== osz) return new MatchError(i, "operand sizes do not match");
    osz = s;
  }
  const usesOsz = formUsesOperandSize(form);
  if (osz === 0 && form.w === 1) osz = 8;
  if (osz === 0) {
    if (form.flags & (FL_OS16 | FL_OS32 | FL_OS64) || !usesOsz || form.flags & FL_SSE)
      osz = form.w === 1 ? 8 : sizes[0];
    else if (form.flags & (FL_D64 | FL_F64) && mode === 64) osz = 8;
    else if (!ops.some((op) => op !== undefined && isMem(op) && op.size === 0)) osz = sizes[0];
    else {
      // the size of an unsized memory operand is unknown: an error only if the form fits otherwise
      osz = sizes[0];
      sizeUnknown = true;
    }
  }
  if (!sizes.includes(osz)) return new MatchError(-1, `${osz * 8}-bit operand size is not encodable here`);
  if (form.w === 1 && osz !== 8) return new MatchError(-1, "needs 64-bit operands");
  if (form.w === 0 && osz === 8) return new MatchError(-1, "no 64-bit form");
  if (
    movabs &&
    !form.operands.some((k) => k.loc === LOC_MOFFS || (k.loc === LOC_IMM && k.immSize === SZ_V))
  ) {
    return new MatchError(-1, "movabs takes a 64-bit immediate or an absolute address");
  }
  for (let i = 0; i < kinds.length; i++) {
    const why = checkOperand(kinds[i], ops[i], osz, mode, movabs);
    if (why) return new MatchError(i, why);
  }
  if (sizeUnknown) return new MatchError(-1, SIZE_UNKNOWN);
  let unsizedMem = 0;
  kinds.forEach((k, i) => {
    const op = ops[i];
    if (op !== undefined && isMem(op) && op.size === 0 && k.loc === LOC_RM)
      unsizedMem = resolveSize(k.memSize, osz, mode) || -1;
  });
  return { form, osz, ops, unsizedMem };
}

function describe(k: OperandKind, osz: number, mode: number): string {
  const s = resolveSize(k.size, osz, mode);
  const cls = CLASS_NAMES[k.cls] ?? "";
  switch (k.loc) {
    case LOC_REG:
    case LOC_OPREG:
      return `a ${k.cls === CLS_GPR ? `${s * 8}-bit ` : ""}${cls} register`;
    case LOC_RM:
      return k.regOk && k.memSize !== 0
        ? `a ${k.cls === CLS_GPR ? `${s * 8}-bit ` : ""}${cls} register or memory`
        : k.regOk
          ? `a ${cls} register`
          : "a memory operand";
    case LOC_IMM:
      return "an immediate";
    case LOC_REL:
      return "a label or branch target";
    default:
      return `"${k.name}"`;
  }
}

function checkReg(k: OperandKind, op: Operand, osz: number, mode: number): string | undefined {
  if (!isReg(op)) return `expected ${describe(k, osz, mode)}`;
  if (mode !== 64 && op.cls === CLS_GPR && op.size === 8) return `${op.name} exists only in 64-bit mode`;
  const wantCls = k.cls;
  const cls = op.cls === CLS_GPR8H ? CLS_GPR : op.cls;
  if (cls !== wantCls) return `expected ${describe(k, osz, mode)}, got ${op.name}`;
  if (wantCls === CLS_GPR) {
    const s = resolveSize(k.size, osz, mode);
    if (op.size !== s) return `expected ${describe(k, osz, mode)}, got ${op.name}`;
    if (mode !== 64 && (op.num >= 8 || (op.size === 1 && op.num >= 4 && op.cls === CLS_GPR))) {
      return `${op.name} exists only in 64-bit mode`;
    }
  } else if (mode !== 64 && op.num >= 8) return `${op.name} exists only in 64-bit mode`;
  if (wantCls === CLS_SEG && k.fixedReg === op.num && k.loc === LOC_REG) return `cannot load ${op.name}`;
  return undefined;
}

function immRange(v: bigint, bytes: number, signed: boolean, osz: number): boolean {
  if (signed) {
    // the value as the operand-size quantity must be the sign extension of `bytes`
    const bits = BigInt(osz * 8);
    const t = BigInt.asIntN(Number(bits), v);
    if (v < -(1n << (bits - 1n)) || v >= 1n << bits) return false;
    return t >= -(1n << BigInt(bytes * 8 - 1)) && t < 1n << BigInt(bytes * 8 - 1);
  }
  const bits = BigInt(bytes * 8);
  return v >= -(1n << (bits - 1n)) && v < 1n << bits;
}

function checkOperand(
  k: OperandKind,
  op: Operand | undefined,
  osz: number,
  mode: number,
  movabs: boolean,
): string | undefined {
  if (op === undefined) return k.loc === LOC_STR || k.loc === LOC_FIXED ? undefined : "missing operand";
  switch (k.loc) {
    case LOC_REG:
    case LOC_OPREG:
      return checkReg(k, op, osz, mode);
    case LOC_RM:
      if (isMem(op)) {
        if (k.memSize === 0 && k.regOk) return `expected ${describe(k, osz, mode)}, got memory`;
        const want = resolveSize(k.memSize, osz, mode);
        if (op.size !== 0 && want !== 0 && op.size !== want)
          return `expected a ${want * 8}-bit memory operand`;
        return checkAddress(op, mode);
      }
      if (!k.regOk) return `expected a memory operand`;
      return checkReg(k, op, osz, mode);
    case LOC_FIXED:
      if (!isReg(op) || op.num !== k.fixedReg || op.cls !== k.cls) {
        return `expected ${k.name}`;
      }
      if (op.size !== resolveSize(k.size, osz, mode))
        return `expected ${k.name} of ${resolveSize(k.size, osz, mode) * 8} bits`;
      return undefined;
    case LOC_ONE:
      return isImm(op) && BigInt(op) === 1n ? undefined : "expected 1";
    case LOC_IMM: {
      if (isLabelish(op)) {
        const n = resolveSize(k.immSize, osz, mode);
        return n >= 4 ? undefined : "a label address needs a 32- or 64-bit immediate";
      }
      if (!isImm(op)) return `expected an immediate`;
      const n = resolveSize(k.immSize, osz, mode);
      if (!immRange(BigInt(op), n, k.signed, osz)) return `immediate ${op} does not fit in ${n * 8} bits`;
      if (n === 8 && !movabs && immRange(BigInt(op), 4, true, 8)) return "fits a shorter form";
      return undefined;
    }
    case LOC_REL:
      return isLabelish(op) || isImm(op) ? undefined : "expected a label or branch target";
    case LOC_MOFFS:
      if (mode === 64 && !movabs) return "moffs form only with movabs";
      if (!isMem(op) || op.base || op.index) return "expected an absolute memory address";
      if (op.size !== 0 && op.size !== resolveSize(k.size, osz, mode)) return "wrong memory size";
      return undefined;
    case LOC_FAR:
      return typeof op === "object" && op.kind === "far" ? undefined : "expected a far pointer";
    case LOC_STR:
      return "string operands are implicit: give no operands";
    default:
      return "unsupported operand kind";
  }
}

function checkAddress(m: Mem, mode: number): string | undefined {
  const b = m.base;
  const x = m.index;
  if (b && b.num === 16) {
    if (mode !== 64) return "RIP-relative addressing exists only in 64-bit mode";
    if (x) return "RIP-relative addressing takes no index";
    return undefined;
  }
  for (const r of [b, x]) {
    if (r && (r.cls !== CLS_GPR || r.size === 1)) return `${r.name} cannot address memory`;
  }
  if (b && x && b.size !== x.size) return "base and index sizes differ";
  const size = b?.size ?? x?.size ?? 0;
  if (size === 8 && mode !== 64) return "64-bit addressing exists only in 64-bit mode";
  if (size === 2 && mode === 64) return "16-bit addressing does not exist in 64-bit mode";
  if (x && x.num === 4 && size !== 2) return "rsp/esp cannot be an index";
  if (size === 2) {
    const ok16 = !x || m.scale === 1;
    if (!ok16) return "16-bit addressing has no scale";
  }
  return undefined;
}
