// Operand kinds of the instruction table (the third column), parsed once into small numeric
// descriptors that the decoder, the assembler and the disassembler all read.

/** Where an operand's value comes from in the encoding. */
export const LOC_REG = 1; // ModRM.reg (+ REX.R)
export const LOC_RM = 2; // ModRM.rm: register (+ REX.B) or memory
export const LOC_OPREG = 3; // low 3 bits of the opcode (+ REX.B)
export const LOC_FIXED = 4; // implicit register (AL, CL, DX, rAX…) or constant 1
export const LOC_IMM = 5; // immediate bytes
export const LOC_REL = 6; // relative branch displacement
export const LOC_MOFFS = 7; // absolute moffs address (A0-A3)
export const LOC_FAR = 8; // ptr16:16/32 (far CALL/JMP)
export const LOC_STR = 9; // implicit string memory operand DS:rSI / ES:rDI
export const LOC_ONE = 10; // the constant 1 of the D0-D3 shifts

/** Register classes (also used in decoded operands). */
export const CLS_GPR = 1;
export const CLS_GPR8H = 2; // AH CH DH BH
export const CLS_SEG = 3;
export const CLS_CR = 4;
export const CLS_DR = 5;
export const CLS_XMM = 6;
export const CLS_MM = 7;
export const CLS_ST = 8;

/** Size rules: positive = bytes; negative = derived from the effective operand/address size. */
export const SZ_V = -1; // operand size: 2/4/8
export const SZ_Y = -2; // 4, or 8 with 64-bit operand size
export const SZ_Z = -3; // 2 with 16-bit operand size, else 4
export const SZ_P = -4; // far pointer: 2 + operand size (m16:16/32/64)
export const SZ_DT = -5; // descriptor table: 10 in 64-bit mode, else 6
export const SZ_A = -6; // address size (moffs)
export const SZ_B = -7; // twice the operand size (BOUND's pair of bounds)

export interface OperandKind {
  /** The spelling in the table. */
  name: string;
  loc: number;
  /** register class for register operands (or for the register half of an r/m operand) */
  cls: number;
  /** size rule of the register form (or of the immediate / fixed operand) */
  size: number;
  /** r/m operands: size rule of the memory form; 0 = no memory form */
  memSize: number;
  /** r/m operands: a register form exists */
  regOk: boolean;
  /** LOC_FIXED: register number; LOC_STR: 0 = DS:rSI, 1 = ES:rDI; LOC_REG sreg: the excluded register */
  fixedReg: number;
  /** LOC_IMM: sign-extend the immediate to the operand size */
  signed: boolean;
  /** LOC_IMM / LOC_REL: encoded size rule (1, 2, 4, 8, SZ_Z, SZ_V) */
  immSize: number;
}

function k(
  name: string,
  loc: number,
  cls: number,
  size: number,
  extra: Partial<OperandKind> = {},
): OperandKind {
  return {
    name,
    loc,
    cls,
    size,
    memSize: 0,
    regOk: loc !== LOC_RM,
    fixedReg: -1,
    signed: false,
    immSize: 0,
    ...extra,
  };
}
const rm = (name: string, cls: number, size: number, memSize: number, regOk = true) =>
  k(name, LOC_RM, cls, size, { memSize, regOk });
const mem = (name: string, memSize: number) => k(name, LOC_RM, CLS_GPR, 0, { memSize, regOk: false });
const fixed = (name: string, reg: number, size: number, cls = CLS_GPR) =>
  k(name, LOC_FIXED, cls, size, { fixedReg: reg });
const imm = (name: string, immSize: number, size: number, signed: boolean) =>
  k(name, LOC_IMM, 0, size, { immSize, signed });

const KINDS: OperandKind[] = [
  k("r8", LOC_REG, CLS_GPR, 1),
  k("r16", LOC_REG, CLS_GPR, 2),
  k("r32", LOC_REG, CLS_GPR, 4),
  k("r64", LOC_REG, CLS_GPR, 8),
  k("rv", LOC_REG, CLS_GPR, SZ_V),
  k("ry", LOC_REG, CLS_GPR, SZ_Y),
  k("sreg", LOC_REG, CLS_SEG, 2),
  k("sregw", LOC_REG, CLS_SEG, 2, { fixedReg: 1 }), // a destination: CS (1) is #UD
  k("cr", LOC_REG, CLS_CR, SZ_Y),
  k("dr", LOC_REG, CLS_DR, SZ_Y),
  k("xmm", LOC_REG, CLS_XMM, 16),
  k("mm", LOC_REG, CLS_MM, 8),
  rm("rm8", CLS_GPR, 1, 1),
  rm("rm16", CLS_GPR, 2, 2),
  rm("rm32", CLS_GPR, 4, 4),
  rm("rm64", CLS_GPR, 8, 8),
  rm("rmv", CLS_GPR, SZ_V, SZ_V),
  rm("rmy", CLS_GPR, SZ_Y, SZ_Y),
  rm("rmz", CLS_GPR, SZ_Z, SZ_Z),
  mem("m", 0),
  mem("m8", 1),
  mem("m16", 2),
  mem("m32", 4),
  mem("m64", 8),
  mem("m128", 16),
  mem("m80", 10),
  mem("m512", 512),
  mem("mv", SZ_V),
  mem("my", SZ_Y),
  mem("mp", SZ_P),
  mem("mb", SZ_B),
  mem("mdt", SZ_DT),
  rm("R16", CLS_GPR, 2, 0),
  rm("R32", CLS_GPR, 4, 0),
  rm("R64", CLS_GPR, 8, 0),
  rm("Rv", CLS_GPR, SZ_V, 0),
  rm("Ry", CLS_GPR, SZ_Y, 0),
  rm("Rxmm", CLS_XMM, 16, 0),
  rm("Rmm", CLS_MM, 8, 0),
  rm("Rv/m16", CLS_GPR, SZ_V, 2),
  rm("r32/m8", CLS_GPR, 4, 1),
  rm("r32/m16", CLS_GPR, 4, 2),
  rm("xmm/m128", CLS_XMM, 16, 16),
  rm("xmm/m64", CLS_XMM, 16, 8),
  rm("xmm/m32", CLS_XMM, 16, 4),
  rm("xmm/m16", CLS_XMM, 16, 2),
  rm("xmm/m8", CLS_XMM, 16, 1),
  rm("mm/m64", CLS_MM, 8, 8),
  rm("mm/m32", CLS_MM, 8, 4),
  rm("st/m", CLS_ST, 10, 0),
  fixed("AL", 0, 1),
  fixed("CL", 1, 1),
  fixed("DX", 2, 2),
  fixed("AX", 0, 2),
  fixed("rAX", 0, SZ_V),
  fixed("eAX", 0, SZ_Z),
  fixed("ES", 0, 2, CLS_SEG),
  fixed("CS", 1, 2, CLS_SEG),
  fixed("SS", 2, 2, CLS_SEG),
  fixed("DS", 3, 2, CLS_SEG),
  fixed("FS", 4, 2, CLS_SEG),
  fixed("GS", 5, 2, CLS_SEG),
  fixed("ST0", 0, 10, CLS_ST),
  k("1", LOC_ONE, 0, 1),
  imm("ib", 1, 1, false),
  imm("sb", 1, SZ_V, true),
  imm("iw", 2, 2, false),
  imm("iz", SZ_Z, SZ_V, true),
  imm("iv", SZ_V, SZ_V, false),
  k("cb", LOC_REL, 0, SZ_V, { immSize: 1, signed: true }),
  k("cz", LOC_REL, 0, SZ_V, { immSize: SZ_Z, signed: true }),
  k("ptr", LOC_FAR, 0, SZ_P, { immSize: SZ_Z }),
  k("ob", LOC_MOFFS, 0, 1, { immSize: SZ_A }),
  k("ov", LOC_MOFFS, 0, SZ_V, { immSize: SZ_A }),
  k("Xb", LOC_STR, 0, 1, { fixedReg: 0 }),
  k("Xv", LOC_STR, 0, SZ_V, { fixedReg: 0 }),
  k("Yb", LOC_STR, 0, 1, { fixedReg: 1 }),
  k("Yv", LOC_STR, 0, SZ_V, { fixedReg: 1 }),
];

/** Operand kinds by their table spelling. */
export const OPERAND_KINDS: ReadonlyMap<string, OperandKind> = new Map(KINDS.map((x) => [x.name, x]));
/** Operand kinds by numeric id (index in this array; the decoder's form tables hold these ids). */
export const OPERAND_KIND_LIST: readonly OperandKind[] = KINDS;
export const operandKindId = (name: string): number => KINDS.findIndex((x) => x.name === name);
