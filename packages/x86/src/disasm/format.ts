// Intel-syntax formatting of a decoded record, in GNU objdump's spelling (`objdump -d -M intel`):
// lower-case mnemonic padded to 6 columns, hex immediates, "DWORD PTR [rbp-0x8]", branch
// targets as bare hex addresses. Differences from objdump are listed in the package README.

import {
  OK_FAR,
  OK_IMM,
  OK_IMM2,
  OK_MEM,
  OK_REG,
  OK_REL,
  OK_STR,
  opClass,
  opKind,
  opReg,
  opSize,
  PFX_LOCK,
  PFX_OPSIZE,
  PFX_REP,
  PFX_REPNE,
  R_ASZ,
  R_DISP_HI,
  R_DISP_LO,
  R_FORM,
  R_IMM_HI,
  R_IMM_LO,
  R_IMM2,
  R_LEN,
  R_MBASE,
  R_MINDEX,
  R_MODRM,
  R_MSCALE,
  R_NOPS,
  R_OP0,
  R_OPCODE,
  R_OSZ,
  R_PFX,
  R_SEG,
  R_STATUS,
  REG_RIP,
  ST_OK,
} from "../decoder/record.js";
import { FORMS } from "../isa/forms.js";
import {
  CLS_CR,
  CLS_DR,
  CLS_GPR,
  CLS_GPR8H,
  CLS_MM,
  CLS_SEG,
  CLS_ST,
  CLS_XMM,
  LOC_ONE,
  LOC_STR,
} from "../isa/operand-kinds.js";

const GPR: Record<number, string[]> = {
  1: ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"],
  2: ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"],
  4: ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"],
  8: ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"],
};
const SUFFIX: Record<number, string> = { 1: "b", 2: "w", 4: "d", 8: "" };
const SEGS = ["es", "cs", "ss", "ds", "fs", "gs"];
const SIZE_NAMES: Record<number, string> = {
  1: "BYTE",
  2: "WORD",
  4: "DWORD",
  6: "FWORD",
  8: "QWORD",
  10: "TBYTE",
  16: "XMMWORD",
};

/** Register name: class CLS_*, number, size in bytes. */
export function registerName(cls: number, num: number, size: number): string {
  switch (cls) {
    case CLS_GPR:
      return num < 8 ? GPR[size][num] : `r${num}${SUFFIX[size]}`;
    case CLS_GPR8H:
      return ["ah", "ch", "dh", "bh"][num];
    case CLS_SEG:
      return SEGS[num] ?? "?";
    case CLS_CR:
      return `cr${num}`;
    case CLS_DR:
      return `dr${num}`;
    case CLS_XMM:
      return `xmm${num}`;
    case CLS_MM:
      return `mm${num}`;
    case CLS_ST:
      return `st(${num})`;
    default:
      return "?";
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;
const int64 = (hi: number, lo: number) => BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));

/** Mnemonics whose memory operand objdump prints without a size. */
const NO_PTR = new Set([
  "LEA",
  "LGDT",
  "LIDT",
  "SGDT",
  "SIDT",
  "FXSAVE",
  "FXRSTOR",
  "FXSAVE64",
  "FXRSTOR64",
  "INVPCID",
  "INVEPT",
  "INVVPID",
]);

/** Mnemonics objdump prints without a size suffix at the mode's default operand size. */
const SIZED_NAMES: Record<string, [base: string, default64: number]> = {
  PUSHF: ["pushf", 8],
  PUSHFD: ["pushf", 8],
  PUSHFQ: ["pushf", 8],
  POPF: ["popf", 8],
  POPFD: ["popf", 8],
  POPFQ: ["popf", 8],
  PUSHA: ["pusha", 0],
  PUSHAD: ["pusha", 0],
  POPA: ["popa", 0],
  POPAD: ["popa", 0],
  IRET: ["iret", 4],
  IRETD: ["iret", 4],
  IRETQ: ["iret", 4],
};

function memoryText(
  r: Int32Array,
  o: number,
  size: number,
  mnemonic: string,
  address: bigint,
): [string, string] {
  const asz = r[o + R_ASZ];
  const base = r[o + R_MBASE];
  const index = r[o + R_MINDEX];
  const disp = int64(r[o + R_DISP_HI], r[o + R_DISP_LO]);
  const segOv = r[o + R_SEG];
  const modrm = r[o + R_MODRM];
  const moffs = modrm < 0; // A0-A3: objdump prints no size
  const sizeName = mnemonic === "CMPXCHG16B" ? "OWORD" : SIZE_NAMES[size];
  const sizeText = NO_PTR.has(mnemonic) || moffs || !sizeName ? "" : `${sizeName} PTR `;
  const seg = segOv >= 0 ? `${SEGS[segOv]}:` : "";
  let comment = "";
  if (base < 0 && index < 0) {
    // absolute: objdump shows a segment, "ds:" by default
    const a = BigInt.asUintN(asz * 8, disp);
    return [`${sizeText}${seg || "ds:"}${hex(a)}`, comment];
  }
  const parts: string[] = [];
  if (base === REG_RIP) {
    parts.push(asz === 4 ? "eip" : "rip");
    const target = BigInt.asUintN(64, address + BigInt(r[o + R_LEN]) + disp);
    comment = `        # ${target.toString(16)}`;
  } else if (base >= 0) parts.push(registerName(CLS_GPR, base, asz));
  let inner = parts.join("");
  if (index >= 0) {
    inner += `${inner ? "+" : ""}${registerName(CLS_GPR, index, asz)}${asz === 2 ? "" : `*${r[o + R_MSCALE]}`}`;
  } else if (modrm & 0x10000) {
    // a SIB byte without an index: objdump shows the "riz"/"eiz" pseudo-register unless the
    // SIB was required (rSP/r12 base, scale 1)
    const sib = (modrm >>> 8) & 0xff;
    if ((sib & 7) !== 4 || sib >>> 6 !== 0)
      inner += `${inner ? "+" : ""}${asz === 8 ? "riz" : "eiz"}*${1 << (sib >>> 6)}`;
  }
  const mod = (modrm >>> 6) & 3;
  const explicitDisp = base === REG_RIP || mod === 1 || mod === 2 || base < 0;
  if (disp !== 0n || explicitDisp) inner += disp < 0n ? `-${hex(-disp)}` : `+${hex(disp)}`;
  return [`${sizeText}${seg}[${inner}]`, comment];
}

function stringOperand(r: Int32Array, o: number, packed: number): string {
  const asz = r[o + R_ASZ];
  const size = opSize(packed);
  const isDst = opReg(packed) === 1;
  const segOv = r[o + R_SEG];
  const seg = isDst ? "es" : segOv >= 0 ? SEGS[segOv] : "ds";
  return `${SIZE_NAMES[size]} PTR ${seg}:[${registerName(CLS_GPR, isDst ? 7 : 6, asz)}]`;
}

export interface FormattedInstruction {
  mnemonic: string;
  operands: string;
  /** e.g. "        # 1ce" for RIP-relative operands (objdump's comment) */
  comment: string;
}

/** Formats the record at out[o] (decoded at `address`) as objdump-style Intel syntax. */
export function formatParts(r: Int32Array, o: number, address: bigint, mode = 64): FormattedInstruction {
  if (r[o + R_STATUS] !== ST_OK && r[o + R_FORM] < 0) return { mnemonic: "(bad)", operands: "", comment: "" };
  const form = FORMS[r[o + R_FORM]];
  let mnemonic = form.mnemonic;
  const pfx = r[o + R_PFX];
  const n = r[o + R_NOPS];
  const isString = form.operands.some((k) => k.loc === LOC_STR);
  const ops: string[] = [];
  let comment = "";
  for (let i = 0; i < n; i++) {
    const v = r[o + R_OP0 + i];
    const kind = form.operands[i];
    switch (opKind(v)) {
      case OK_REG: {
        // MOV Sreg, r: the CPU reads 16 bits, objdump names the register at the operand size
        const size =
          form.opcode === 0x8e && form.map === 0 && opClass(v) === CLS_GPR ? r[o + R_OSZ] : opSize(v);
        ops.push(registerName(opClass(v), opReg(v), size));
        break;
      }
      case OK_MEM: {
        const [text, c] = memoryText(r, o, opSize(v), mnemonic, address);
        ops.push(text);
        comment = c;
        break;
      }
      case OK_IMM: {
        if (kind.loc === LOC_ONE) {
          ops.push("1");
          break;
        }
        const val = BigInt.asUintN(opSize(v) * 8, int64(r[o + R_IMM_HI], r[o + R_IMM_LO]));
        ops.push(hex(val));
        break;
      }
      case OK_IMM2:
        ops.push(hex(BigInt(r[o + R_IMM2])));
        break;
      case OK_REL: {
        const next = address + BigInt(r[o + R_LEN]);
        const target = BigInt.asUintN(opSize(v) * 8, next + int64(r[o + R_IMM_HI], r[o + R_IMM_LO]));
        ops.push(target.toString(16));
        break;
      }
      case OK_FAR:
        ops.push(`${hex(BigInt(r[o + R_IMM2]))}:${hex(BigInt(r[o + R_IMM_LO] >>> 0))}`);
        break;
      case OK_STR:
        ops.push(stringOperand(r, o, v));
        break;
    }
  }
  const prefixes: string[] = [];
  if (pfx & PFX_LOCK) prefixes.push("lock");
  if (isString) {
    mnemonic = mnemonic.slice(0, -1); // MOVSB → movs with sized operands, as objdump prints
    const cond = mnemonic === "CMPS" || mnemonic === "SCAS";
    if (pfx & PFX_REP) prefixes.push(cond ? "repz" : "rep");
    if (pfx & PFX_REPNE) prefixes.push(cond ? "repnz" : "repnz");
  } else {
    if (pfx & PFX_REP && mnemonic === "RET") prefixes.push("repz");
    if (
      pfx & PFX_REPNE &&
      (mnemonic === "RET" || mnemonic === "CALL" || mnemonic === "JMP" || mnemonic.startsWith("J"))
    ) {
      prefixes.push("bnd");
    }
  }
  if (mnemonic === "MOV" && form.operands.some((k) => k.name === "iv") && r[o + R_OSZ] === 8)
    mnemonic = "MOVABS";
  if (
    mnemonic === "MOV" &&
    form.operands.some((k) => k.name === "ob" || k.name === "ov") &&
    r[o + R_ASZ] === 8
  ) {
    mnemonic = "MOVABS";
  }
  if (mnemonic === "NOP" && form.map === 0 && pfx & PFX_OPSIZE) mnemonic = "XCHG AX,AX";
  let name = mnemonic.toLowerCase();
  const sized = SIZED_NAMES[mnemonic];
  if (sized) {
    const osz = r[o + R_OSZ];
    const def = mode === 64 ? sized[1] || 4 : mode === 32 ? 4 : 2;
    name = osz === def ? sized[0] : `${sized[0]}${SUFFIX[osz] || "q"}`;
  }
  if (mode !== 64 && /^[LS][GI]DT$/.test(mnemonic)) name += SUFFIX[r[o + R_OSZ]];
  const text = [...prefixes, name].join(" ");
  return { mnemonic: text, operands: ops.join(","), comment };
}

/** One instruction as objdump prints it after the bytes: "mov    eax,DWORD PTR [rbp-0x8]". */
export function formatInstruction(r: Int32Array, o: number, address: bigint, mode = 64): string {
  const p = formatParts(r, o, address, mode);
  if (p.mnemonic === "xchg ax,ax") return "xchg   ax,ax";
  if (!p.operands) return p.mnemonic;
  return `${p.mnemonic.padEnd(6)} ${p.operands}${p.comment}`;
}

export { R_OPCODE };
