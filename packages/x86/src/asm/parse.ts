// Intel-syntax text front end (GNU as `.intel_syntax noprefix` / `-msyntax=intel -mnaked-reg`
// spelling) on top of the Assembler: the same table, the same encodings.
import { FORMS_BY_MNEMONIC } from "../isa/forms.js";
import { LOC_REL } from "../isa/operand-kinds.js";
import {
  ALIASES,
  AsmError,
  type AssembleResult,
  Assembler,
  type AssemblerOptions,
  PREFIX_BYTES,
} from "./assembler.js";
import {
  far,
  type Label,
  type LabelRef,
  type Mem,
  mem,
  type Operand,
  plus,
  REGISTERS,
  type Reg,
} from "./operands.js";

const SIZES: Record<string, number> = {
  BYTE: 1,
  WORD: 2,
  DWORD: 4,
  FWORD: 6,
  QWORD: 8,
  TBYTE: 10,
  XMMWORD: 16,
  OWORD: 16,
};

const IGNORED = new Set([
  ".intel_syntax",
  ".text",
  ".data",
  ".section",
  ".globl",
  ".global",
  ".type",
  ".size",
  ".file",
  ".local",
  ".ident",
]);

/** Assembles Intel-syntax source text. Errors are AsmError with the line and operand. */
export function assembleText(source: string, opts: AssemblerOptions = {}): AssembleResult {
  const a = new Assembler(opts);
  const consts = new Map<string, bigint>();
  const locals = new Map<string, number>();
  source.split("\n").forEach((rawLine, i) => {
    const line = i + 1;
    a.currentLine = line;
    for (const stmt of splitStatements(stripComment(rawLine))) {
      try {
        statement(a, numericLabels(stmt.trim(), locals, line), line, consts);
      } catch (e) {
        if (e instanceof AsmError && !e.message.startsWith("line ")) {
          throw new AsmError(`line ${line}: ${e.message}`, line, e.operand);
        }
        throw e;
      }
    }
  });
  return a.assemble();
}

/**
 * GNU as local labels: "1:" defines the next instance of label 1, "1b" refers to the last one
 * defined, "1f" to the next one. Rewritten to unique names before parsing.
 */
function numericLabels(stmt: string, locals: Map<string, number>, line: number): string {
  const def = /^(\d+):/.exec(stmt);
  if (def) {
    const n = (locals.get(def[1]) ?? 0) + 1;
    locals.set(def[1], n);
    stmt = `.Llocal${def[1]}.${n}:${stmt.slice(def[0].length)}`;
  }
  return stmt.replace(/(?<![\w.$])(\d+)([bf])(?![\w.$])/g, (_, num: string, dir: string) => {
    const n = locals.get(num) ?? 0;
    if (dir === "b" && n === 0) throw new AsmError(`local label "${num}b" has no earlier "${num}:"`, line, 0);
    return `.Llocal${num}.${dir === "b" ? n : n + 1}`;
  });
}

function stripComment(s: string): string {
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && s[i - 1] !== "\\") inStr = !inStr;
    if (!inStr && (c === "#" || (c === "/" && s[i + 1] === "/"))) return s.slice(0, i);
  }
  return s;
}

function splitStatements(s: string): string[] {
  const out: string[] = [];
  let inStr = false;
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"' && s[i - 1] !== "\\") inStr = !inStr;
    if (c === ";" && !inStr) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function statement(a: Assembler, s: string, line: number, consts: Map<string, bigint>): void {
  if (!s) return;
  const lm = /^([A-Za-z_.$][\w.$]*)\s*:(?!:)\s*(.*)$/.exec(s);
  if (lm && !REGISTERS.has(lm[1].toLowerCase())) {
    a.bind(lm[1]);
    statement(a, lm[2], line, consts);
    return;
  }
  const eq = /^([A-Za-z_.$][\w.$]*)\s*=\s*(.+)$/.exec(s);
  if (eq) {
    consts.set(eq[1], number(eq[2], line, 1, consts));
    return;
  }
  const [head, rest] = splitHead(s);
  const word = head.toLowerCase();
  if (word.startsWith(".")) {
    directive(a, word, rest, line, consts);
    return;
  }
  const prefix = PREFIX_BYTES.get(word.toUpperCase());
  if (prefix !== undefined) {
    if (prefix === 0xf0) a.lock();
    else if (prefix === 0xf2) a.repne();
    else a.rep();
    if (rest) statement(a, rest, line, consts);
    else throw new AsmError(`prefix "${word}" without an instruction`, line, 0);
    return;
  }
  const upper = word.toUpperCase();
  const mnemonic = ALIASES.get(upper) ?? upper;
  const forms = FORMS_BY_MNEMONIC.get(mnemonic);
  if (!forms) throw new AsmError(`unknown mnemonic "${word}"`, line, 0);
  const branch = forms.some((f) => f.operands.some((k) => k.loc === LOC_REL));
  const texts = splitOperands(rest);
  // "." is the address of this statement
  const dot = texts.some((t) => /(^|[^\w.$])\.($|[^\w.$])/.test(t)) ? a.here() : undefined;
  const ops = texts.map((t, i) => operand(a, t, line, i + 1, branch, consts, dot));
  a.insn(word, ...ops);
}

function splitHead(s: string): [string, string] {
  const m = /^(\S+)\s*(.*)$/.exec(s)!;
  return [m[1], m[2].trim()];
}

function splitOperands(s: string): string[] {
  if (!s) return [];
  const out: string[] = [];
  let depth = 0;
  let inStr = false;
  let cur = "";
  for (const c of s) {
    if (c === '"') inStr = !inStr;
    if (!inStr && c === "[") depth++;
    if (!inStr && c === "]") depth--;
    if (c === "," && depth === 0 && !inStr) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

function directive(a: Assembler, d: string, rest: string, line: number, consts: Map<string, bigint>): void {
  const args = rest ? splitOperands(rest) : [];
  const nums = () => args.map((x, i) => number(x, line, i + 1, consts));
  const valuesOrLabels = () =>
    args.map((x, i) => {
      const t = x.trim();
      if (/^[A-Za-z_.$][\w.$]*$/.test(t) && !consts.has(t)) return a.label(t);
      const lm = /^([A-Za-z_.$][\w.$]*)\s*([+-])\s*(.+)$/.exec(t);
      if (lm && !consts.has(lm[1])) {
        const v = Number(number(lm[3], line, i + 1, consts));
        return plus(a.label(lm[1]), lm[2] === "-" ? -v : v);
      }
      return number(t, line, i + 1, consts);
    });
  switch (d) {
    case ".byte":
      a.db(...nums());
      return;
    case ".word":
    case ".short":
    case ".value":
    case ".2byte":
      a.dw(...nums());
      return;
    case ".long":
    case ".int":
    case ".4byte":
      a.dd(...valuesOrLabels());
      return;
    case ".quad":
    case ".8byte":
      a.dq(...valuesOrLabels());
      return;
    case ".ascii":
    case ".asciz":
    case ".string":
      for (const x of args) {
        const s = stringLiteral(x, line);
        a.bytes(d === ".ascii" ? s : `${s}\0`);
      }
      return;
    case ".zero":
    case ".skip":
    case ".space": {
      const [n, fill = 0n] = nums();
      a.bytes(new Uint8Array(Number(n)).fill(Number(fill)));
      return;
    }
    case ".align":
    case ".balign":
    case ".p2align": {
      const [n, fill] = nums();
      const to = d === ".p2align" ? 1 << Number(n) : Number(n);
      a.align(to, fill === undefined ? 0x90 : Number(fill));
      return;
    }
    case ".code16":
      a.code16();
      return;
    case ".code32":
      a.code32();
      return;
    case ".code64":
      a.code64();
      return;
    case ".equ":
    case ".set":
      consts.set(args[0], number(args[1], line, 2, consts));
      return;
    default:
      if (IGNORED.has(d)) return;
      throw new AsmError(`unknown directive "${d}"`, line, 0);
  }
}

function stringLiteral(x: string, line: number): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(x.trim());
  if (!m) throw new AsmError(`expected a string literal, got ${x}`, line, 1);
  return m[1].replace(/\\(n|t|r|0|\\|"|x[0-9a-fA-F]{2})/g, (_, e: string) =>
    e === "n"
      ? "\n"
      : e === "t"
        ? "\t"
        : e === "r"
          ? "\r"
          : e === "0"
            ? "\0"
            : e[0] === "x"
              ? String.fromCharCode(Number.parseInt(e.slice(1), 16))
              : e,
  );
}

function number(x: string, line: number, op: number, consts: Map<string, bigint>): bigint {
  const t = x.trim();
  // a constant expression of + and - terms
  const terms = t.replace(/\s+/g, "").match(/[+-]?[^+-]+/g);
  if (!terms) throw new AsmError(`operand ${op}: expected a number, got "${x}"`, line, op);
  let v = 0n;
  for (const term of terms) {
    const neg = term.startsWith("-");
    const body = term.replace(/^[+-]/, "");
    const c = consts.get(body);
    let n: bigint;
    if (c !== undefined) n = c;
    else if (
      /^0x[0-9a-f]+$/i.test(body) ||
      /^0b[01]+$/i.test(body) ||
      /^0o?[0-7]+$/.test(body) ||
      /^\d+$/.test(body)
    ) {
      n = body.startsWith("0o") ? BigInt(`0o${body.slice(2)}`) : BigInt(body);
    } else if (/^'.'$/.test(body)) n = BigInt(body.charCodeAt(1));
    else throw new AsmError(`operand ${op}: expected a number, got "${x}"`, line, op);
    v += neg ? -n : n;
  }
  return v;
}

function operand(
  a: Assembler,
  text: string,
  line: number,
  op: number,
  branch: boolean,
  consts: Map<string, bigint>,
  dot?: Label,
): Operand {
  let t = text.trim();
  if (dot) t = t.replace(/(^|[^\w.$])\.($|[^\w.$])/, `$1${dot.name}$2`);
  const reg = REGISTERS.get(t.toLowerCase());
  if (reg && reg.num !== 16) return reg;
  // far pointer sel:off
  const farM = /^(0x[0-9a-f]+|\d+)\s*:\s*(0x[0-9a-f]+|\d+|[A-Za-z_.$][\w.$]*)$/i.exec(t);
  if (farM) {
    const off = /^[A-Za-z_.$]/.test(farM[2]) ? labelExpr(a, farM[2], line, op, consts) : Number(farM[2]);
    return far(Number(farM[1]), off);
  }
  let size = 0;
  const sm = /^(\w+)\s+PTR\s+(.*)$/i.exec(t);
  if (sm) {
    size = SIZES[sm[1].toUpperCase()] ?? -1;
    if (size < 0) throw new AsmError(`operand ${op}: unknown size "${sm[1]}"`, line, op);
    t = sm[2].trim();
  }
  let seg: Reg | undefined;
  const segM = /^([cdefgs]s)\s*:\s*(.*)$/i.exec(t);
  if (segM) {
    seg = REGISTERS.get(segM[1].toLowerCase());
    t = segM[2].trim();
    if (!t.startsWith("[")) t = `[${t}]`;
  }
  // "table[rcx*4]" and "table+4[rcx*4]": the displacement written before the brackets
  const pre = /^([^[\]]+)\[(.*)\]$/.exec(t);
  if (pre) t = `[${pre[1].trim()}+${pre[2]}]`;
  if (t.startsWith("[") || sm) {
    if (!t.startsWith("[")) t = `[${t}]`;
    return memOperand(a, t, size, seg, line, op, consts);
  }
  const off = /^OFFSET\s+(?:FLAT:)?(.*)$/i.exec(t);
  if (off) return labelExpr(a, off[1], line, op, consts);
  if (/^[A-Za-z_.$][\w.$]*(\s*[+-].*)?$/.test(t) && !consts.has(t.split(/[+-]/)[0].trim())) {
    const l = labelExpr(a, t, line, op, consts);
    if (branch) return l;
    return mem(0, { disp: l });
  }
  return number(t, line, op, consts);
}

function labelExpr(
  a: Assembler,
  t: string,
  line: number,
  op: number,
  consts: Map<string, bigint>,
): Label | LabelRef {
  const m = /^([A-Za-z_.$][\w.$]*)\s*(?:([+-])\s*(.+))?$/.exec(t.trim());
  if (!m) throw new AsmError(`operand ${op}: cannot parse "${t}"`, line, op);
  const l = a.label(m[1]);
  if (!m[2]) return l;
  const v = Number(number(m[3], line, op, consts));
  return plus(l, m[2] === "-" ? -v : v);
}

function memOperand(
  a: Assembler,
  t: string,
  size: number,
  seg: Reg | undefined,
  line: number,
  op: number,
  consts: Map<string, bigint>,
): Mem {
  const inner = t.replace(/^\[|\]$/g, "").replace(/\s+/g, "");
  const terms = inner.match(/[+-]?[^+-]+/g) ?? [];
  let base: Reg | undefined;
  let index: Reg | undefined;
  let scale: 1 | 2 | 4 | 8 = 1;
  let disp = 0n;
  let label: Label | undefined;
  let addend = 0;
  for (const term of terms) {
    const neg = term.startsWith("-");
    const body = term.replace(/^[+-]/, "");
    const scaled = /^(\w+)\*(\d)$/.exec(body) ?? /^(\d)\*(\w+)$/.exec(body);
    if (scaled) {
      const [r, s] = /^\d$/.test(scaled[1]) ? [scaled[2], scaled[1]] : [scaled[1], scaled[2]];
      const rr = REGISTERS.get(r.toLowerCase());
      if (!rr || neg || !["1", "2", "4", "8"].includes(s))
        throw new AsmError(`operand ${op}: bad index "${body}"`, line, op);
      if (index) throw new AsmError(`operand ${op}: two index registers`, line, op);
      index = rr;
      scale = Number(s) as 1 | 2 | 4 | 8;
      continue;
    }
    const rr = REGISTERS.get(body.toLowerCase());
    if (rr) {
      if (neg) throw new AsmError(`operand ${op}: a register cannot be subtracted`, line, op);
      if (!base) base = rr;
      else if (!index) index = rr;
      else throw new AsmError(`operand ${op}: too many registers in "${t}"`, line, op);
      continue;
    }
    if (/^[A-Za-z_.$][\w.$]*$/.test(body) && !consts.has(body)) {
      if (label || neg) throw new AsmError(`operand ${op}: unsupported address expression "${t}"`, line, op);
      label = a.label(body);
      continue;
    }
    const n = number(body, line, op, consts);
    disp += neg ? -n : n;
  }
  if (label) addend = Number(disp);
  return mem(size, {
    base,
    index,
    scale,
    seg,
    disp: label ? (addend ? plus(label, addend) : label) : disp,
  });
}
