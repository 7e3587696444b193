// Assembler operands: registers, memory references, labels and immediates.
import { CLS_CR, CLS_DR, CLS_GPR, CLS_GPR8H, CLS_MM, CLS_SEG, CLS_XMM } from "../isa/operand-kinds.js";

export interface Reg {
  readonly kind: "reg";
  /** CLS_* */
  readonly cls: number;
  readonly num: number;
  /** bytes */
  readonly size: number;
  readonly name: string;
}

/** A position in the output, bound with `Assembler.bind` (or `name:` in text). */
export class Label {
  readonly kind = "label";
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

/** A label plus a constant: `label + 8`. */
export interface LabelRef {
  readonly kind: "labelref";
  readonly label: Label;
  readonly addend: number;
}

export interface Mem {
  readonly kind: "mem";
  /** access size in bytes, 0 = unspecified (taken from the other operand) */
  readonly size: number;
  readonly base?: Reg;
  readonly index?: Reg;
  readonly scale: 1 | 2 | 4 | 8;
  /** displacement: a number, or a label (absolute, or RIP-relative when base is rip) */
  readonly disp: number | bigint | Label | LabelRef;
  /** segment override register */
  readonly seg?: Reg;
}

/** A far pointer immediate ptr16:16/32 (CALL/JMP far outside 64-bit mode). */
export interface FarPtr {
  readonly kind: "far";
  readonly selector: number;
  /** a number or a label (absolute; recorded as a relocation) */
  readonly offset: number | Label | LabelRef;
}

export type Imm = number | bigint;
export type Operand = Reg | Mem | Imm | Label | LabelRef | FarPtr;

const reg = (cls: number, num: number, size: number, name: string): Reg => ({
  kind: "reg",
  cls,
  num,
  size,
  name,
});

const GPR64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
const GPR32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
const GPR16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];
const GPR8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"];

/** Every register by (lower-case) name. */
export const REGISTERS: ReadonlyMap<string, Reg> = (() => {
  const m = new Map<string, Reg>();
  const add = (r: Reg) => m.set(r.name, r);
  for (let i = 0; i < 16; i++) {
    const hi = i >= 8;
    add(reg(CLS_GPR, i, 8, hi ? `r${i}` : GPR64[i]));
    add(reg(CLS_GPR, i, 4, hi ? `r${i}d` : GPR32[i]));
    add(reg(CLS_GPR, i, 2, hi ? `r${i}w` : GPR16[i]));
    add(reg(CLS_GPR, i, 1, hi ? `r${i}b` : GPR8[i]));
    add(reg(CLS_XMM, i, 16, `xmm${i}`));
    add(reg(CLS_CR, i, 8, `cr${i}`));
  }
  ["ah", "ch", "dh", "bh"].forEach((n, i) => {
    add(reg(CLS_GPR8H, i, 1, n));
  });
  ["es", "cs", "ss", "ds", "fs", "gs"].forEach((n, i) => {
    add(reg(CLS_SEG, i, 2, n));
  });
  for (let i = 0; i < 8; i++) {
    add(reg(CLS_DR, i, 8, `dr${i}`));
    add(reg(CLS_MM, i, 8, `mm${i}`));
  }
  add(reg(0, 16, 8, "rip"));
  add(reg(0, 16, 4, "eip"));
  return m;
})();

const R = (n: string) => REGISTERS.get(n)!;
export const rax = R("rax"),
  rcx = R("rcx"),
  rdx = R("rdx"),
  rbx = R("rbx"),
  rsp = R("rsp"),
  rbp = R("rbp");
export const rsi = R("rsi"),
  rdi = R("rdi"),
  r8 = R("r8"),
  r9 = R("r9"),
  r10 = R("r10"),
  r11 = R("r11");
export const r12 = R("r12"),
  r13 = R("r13"),
  r14 = R("r14"),
  r15 = R("r15");
export const eax = R("eax"),
  ecx = R("ecx"),
  edx = R("edx"),
  ebx = R("ebx"),
  esp = R("esp"),
  ebp = R("ebp");
export const esi = R("esi"),
  edi = R("edi"),
  r8d = R("r8d"),
  r9d = R("r9d"),
  r10d = R("r10d"),
  r11d = R("r11d");
export const r12d = R("r12d"),
  r13d = R("r13d"),
  r14d = R("r14d"),
  r15d = R("r15d");
export const ax = R("ax"),
  cx = R("cx"),
  dx = R("dx"),
  bx = R("bx"),
  sp = R("sp"),
  bp = R("bp"),
  si = R("si");
export const di = R("di");
export const al = R("al"),
  cl = R("cl"),
  dl = R("dl"),
  bl = R("bl"),
  ah = R("ah"),
  ch = R("ch"),
  dh = R("dh");
export const bh = R("bh"),
  spl = R("spl"),
  bpl = R("bpl"),
  sil = R("sil"),
  dil = R("dil");
export const es = R("es"),
  cs = R("cs"),
  ss = R("ss"),
  ds = R("ds"),
  fs = R("fs"),
  gs = R("gs");
export const cr0 = R("cr0"),
  cr2 = R("cr2"),
  cr3 = R("cr3"),
  cr4 = R("cr4"),
  cr8 = R("cr8");
export const dr0 = R("dr0"),
  dr1 = R("dr1"),
  dr2 = R("dr2"),
  dr3 = R("dr3"),
  dr6 = R("dr6"),
  dr7 = R("dr7");
export const rip = R("rip");
export const xmm = Array.from({ length: 16 }, (_, i) => R(`xmm${i}`));
export const [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7] = xmm;
export const [xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15] = xmm.slice(8);

export interface MemSpec {
  base?: Reg;
  index?: Reg;
  scale?: 1 | 2 | 4 | 8;
  disp?: number | bigint | Label | LabelRef;
  seg?: Reg;
}

/** A memory operand of `size` bytes (0 = take the size from the other operand). */
export function mem(size: number, spec: MemSpec | Reg, disp: number | bigint | Label | LabelRef = 0): Mem {
  const s: MemSpec = "kind" in spec ? { base: spec, disp } : spec;
  return {
    kind: "mem",
    size,
    base: s.base,
    index: s.index,
    scale: s.scale ?? 1,
    disp: s.disp ?? 0,
    seg: s.seg,
  };
}
type MemArgs = [spec: MemSpec | Reg, disp?: number | bigint | Label | LabelRef];
/** `byte(rax, 8)` = BYTE PTR [rax+8]; `qword({ base: rbp, index: rcx, scale: 8, disp: -16 })`. */
export const byte = (...a: MemArgs) => mem(1, ...a);
export const word = (...a: MemArgs) => mem(2, ...a);
export const dword = (...a: MemArgs) => mem(4, ...a);
export const qword = (...a: MemArgs) => mem(8, ...a);
export const xmmword = (...a: MemArgs) => mem(16, ...a);
/** A memory operand whose size comes from the other operand (or is not needed: LEA, LGDT…). */
export const ptr = (...a: MemArgs) => mem(0, ...a);
/** `label + addend` as an operand (absolute address, or displacement with rip). */
export const plus = (label: Label, addend: number): LabelRef => ({ kind: "labelref", label, addend });
/** `far(0x08, longMode)`: ptr16:16/32 for JMP/CALL far outside 64-bit mode. */
export const far = (selector: number, offset: number | Label | LabelRef): FarPtr => ({
  kind: "far",
  selector,
  offset,
});

export const isReg = (o: Operand): o is Reg => typeof o === "object" && o.kind === "reg";
export const isMem = (o: Operand): o is Mem => typeof o === "object" && o.kind === "mem";
export const isImm = (o: Operand): o is Imm => typeof o === "number" || typeof o === "bigint";
export const isLabelish = (o: unknown): o is Label | LabelRef =>
  typeof o === "object" &&
  o !== null &&
  ((o as Label).kind === "label" || (o as LabelRef).kind === "labelref");
