// Parses the instruction table (table.ts) into Form objects, mnemonic ids, and the compact
// typed-array lookup the decoder uses. Everything here runs once, at module load.
import { LOC_OPREG, LOC_REG, LOC_RM, OPERAND_KINDS, type OperandKind } from "./operand-kinds.js";
import { TABLE_ROWS } from "./table.js";

/** Opcode maps. */
export const MAP_1B = 0;
export const MAP_0F = 1;
export const MAP_0F38 = 2;
export const MAP_0F3A = 3;

/** Mandatory-prefix constraint of a form. */
export const MP_ANY = 0; // legacy: 66/F2/F3 keep their usual meaning
export const MP_NP = 1; // none of 66/F2/F3 may select this form
export const MP_66 = 2;
export const MP_F3 = 3;
export const MP_F2 = 4;

/** Form flag bits. */
export const FL_LOCK = 1 << 0;
export const FL_REP = 1 << 1;
export const FL_REPE = 1 << 2;
export const FL_O64 = 1 << 3; // 64-bit mode only
export const FL_I64 = 1 << 4; // invalid in 64-bit mode
export const FL_D64 = 1 << 5;
export const FL_F64 = 1 << 6;
export const FL_OS16 = 1 << 7;
export const FL_OS32 = 1 << 8;
export const FL_OS64 = 1 << 9;
export const FL_MODREG = 1 << 10;
export const FL_A16 = 1 << 11;
export const FL_A32 = 1 << 12;
export const FL_A64 = 1 << 13;
export const FL_SSE = 1 << 14;
export const FL_UNSUP = 1 << 15;
export const FL_NREXB = 1 << 16;

const FLAG_NAMES: Record<string, number> = {
  lock: FL_LOCK,
  rep: FL_REP,
  repe: FL_REPE,
  o64: FL_O64,
  i64: FL_I64,
  d64: FL_D64,
  f64: FL_F64,
  o16: FL_OS16,
  o32: FL_OS32,
  o64s: FL_OS64,
  modreg: FL_MODREG,
  a16: FL_A16,
  a32: FL_A32,
  a64: FL_A64,
  sse: FL_SSE,
  unsup: FL_UNSUP,
  nrexb: FL_NREXB,
};

/** One encoding form of one instruction: a row of the table. */
export interface Form {
  /** index in FORMS (the decoder's form id) */
  id: number;
  mnemonic: string;
  /** numeric operation id: index in MNEMONICS */
  op: number;
  map: number;
  opcode: number;
  /** MP_* */
  mp: number;
  /** REX.W constraint: -1 any, 0, 1 */
  w: number;
  /** opcode carries a register in its low 3 bits (+r) */
  plusR: boolean;
  hasModrm: boolean;
  /** ModRM.reg opcode extension, or -1 */
  regDigit: number;
  /** exact ModRM byte, or -1 */
  modrmFixed: number;
  /** 0 any, 1 memory only (mod != 3), 2 register only (mod == 3) */
  modReq: number;
  flags: number;
  operands: OperandKind[];
  /** the row text, for error messages */
  row: string;
}

function parseRow(row: string, id: number): Omit<Form, "op"> {
  const [mnemonic, enc, ops, flagText] = row.split("|").map((s) => s.trim());
  const f: Omit<Form, "op"> = {
    id,
    mnemonic,
    map: MAP_1B,
    opcode: -1,
    mp: MP_ANY,
    w: -1,
    plusR: false,
    hasModrm: false,
    regDigit: -1,
    modrmFixed: -1,
    modReq: 0,
    flags: 0,
    operands: [],
    row,
  };
  const bytes: number[] = [];
  for (const tok of enc.split(/\s+/)) {
    if (tok === "NP") f.mp = MP_NP;
    else if (tok === "66" && bytes.length === 0 && enc.includes("0F")) f.mp = MP_66;
    else if (tok === "F3" && bytes.length === 0) f.mp = MP_F3;
    else if (tok === "F2" && bytes.length === 0) f.mp = MP_F2;
    else if (tok === "W0") f.w = 0;
    else if (tok === "W1") f.w = 1;
    else if (tok === "+r") f.plusR = true;
    else if (tok === "mod3") f.modReq = 2;
    else if (tok === "/r") f.hasModrm = true;
    else if (/^\/[0-7]$/.test(tok)) {
      f.hasModrm = true;
      f.regDigit = Number(tok[1]);
    } else if (/^![0-9A-F]{2}$/.test(tok)) {
      f.hasModrm = true;
      f.modrmFixed = Number.parseInt(tok.slice(1), 16);
      f.regDigit = (f.modrmFixed >> 3) & 7;
      f.modReq = 2;
    } else if (/^[0-9A-F]{2}$/.test(tok)) bytes.push(Number.parseInt(tok, 16));
    else throw new Error(`instruction table: bad encoding token "${tok}" in row "${row}"`);
  }
  if (bytes[0] === 0x0f) {
    if (bytes[1] === 0x38 && bytes.length === 3) f.map = MAP_0F38;
    else if (bytes[1] === 0x3a && bytes.length === 3) f.map = MAP_0F3A;
    else f.map = MAP_0F;
  }
  f.opcode = bytes[bytes.length - 1];
  if (bytes.length !== [1, 2, 3, 3][f.map]) throw new Error(`instruction table: bad opcode in row "${row}"`);
  if (ops) {
    for (const name of ops.split(",")) {
      const kind = OPERAND_KINDS.get(name.trim());
      if (!kind) throw new Error(`instruction table: unknown operand kind "${name}" in row "${row}"`);
      f.operands.push(kind);
    }
  }
  for (const fl of (flagText ?? "").split(/\s+/).filter(Boolean)) {
    const bit = FLAG_NAMES[fl];
    if (bit === undefined) throw new Error(`instruction table: unknown flag "${fl}" in row "${row}"`);
    f.flags |= bit;
  }
  if (f.plusR) {
    // The (only) register operand of a +r form is the one in the opcode's low bits.
    const i = f.operands.findIndex((o) => o.loc === LOC_REG);
    if (i < 0) throw new Error(`instruction table: +r form without a register operand: "${row}"`);
    f.operands[i] = { ...f.operands[i], loc: LOC_OPREG };
  }
  const rmOp = f.operands.find((o) => o.loc === LOC_RM);
  if (rmOp && f.modReq === 0) {
    if (!rmOp.regOk) f.modReq = 1;
    else if (rmOp.memSize === 0) f.modReq = 2;
  }
  if (f.flags & FL_MODREG) f.modReq = 0;
  return f;
}

const parsed = TABLE_ROWS.map(parseRow);

/** Every mnemonic of the table, sorted; an operation id is an index in this list. */
export const MNEMONICS: readonly string[] = [...new Set(parsed.map((f) => f.mnemonic))].sort();
const mnemonicIds = new Map(MNEMONICS.map((m, i) => [m, i]));

/** Every form of the table, in table order; a form id is an index in this list. */
export const FORMS: readonly Form[] = parsed.map((f) => ({ ...f, op: mnemonicIds.get(f.mnemonic)! }));

/** Operation ids by mnemonic (`OPS.ADD`), for handler tables indexed by R_OP. */
export const OPS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(MNEMONICS.map((m, i) => [m, i])),
);

/** Operation id of a mnemonic (upper case), or -1. */
export function opId(mnemonic: string): number {
  return mnemonicIds.get(mnemonic.toUpperCase()) ?? -1;
}
/** Mnemonic of an operation id. */
export function opName(op: number): string {
  return MNEMONICS[op] ?? "(bad)";
}

/** Forms grouped by mnemonic, for the assembler. */
export const FORMS_BY_MNEMONIC: ReadonlyMap<string, readonly Form[]> = (() => {
  const m = new Map<string, Form[]>();
  for (const f of FORMS) {
    const list = m.get(f.mnemonic) ?? [];
    list.push(f);
    m.set(f.mnemonic, list);
  }
  return m;
})();
