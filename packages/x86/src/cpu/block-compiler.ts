// The second tier for hot decoded blocks: one generated JavaScript function per block that calls
// the block's handlers in order from its own call sites. Each call site then has a single target
// (V8 can inline it and the host's branch predictor sees one target per site) instead of the
// interpreter loop's one megamorphic `fns[i](...)`, and instructions that neither read nor write
// RIP skip the per-instruction RIP store: RIP is written once when the block returns.
//
// Semantics are the interpreter loop's, instruction for instruction: after every handler a set
// `breakBlock` ends the block; a throwing handler leaves its index in `c.blockFault` (and the
// exception in `c.blockError`) so the run loop can put RIP back at that instruction, exactly as
// for an interpreted block.
import {
  OK_MEM,
  OK_REG,
  OK_REL,
  R_IMM_LO,
  R_MBASE,
  R_NOPS,
  R_OP,
  R_OP0,
  R_OSZ,
  R_STATUS,
  REG_RIP,
  ST_OK,
} from "../decoder/record.js";
import { OPS } from "../isa/forms.js";
import { CLS_GPR, CLS_GPR8H, CLS_XMM } from "../isa/operand-kinds.js";
import { type Block, X_NEXT, X_SHIFT, X_START } from "./block.js";
import type { Cpu } from "./cpu.js";
import { JCC_CONDITION_JS } from "./h-flow.js";

/**
 * A compiled block: runs the block's instructions (unless one ends it) and returns how many of
 * the last pass retired, or -1 when instruction `c.blockFault` threw `c.blockError`. A block that branches back to its own start (a loop) keeps running
 * inside the function while the next whole pass fits before `stopAt` (a value of
 * `c.st.retired`) and nothing needs attention; the passes it completed are already added to
 * `c.st.retired`.
 */
export type CompiledBlock = (c: Cpu, d: Int32Array, stopAt: number) => number;

// Operations whose handlers neither read RIP (no RIP-relative operand, no branch, no push of RIP)
// nor write it: for them RIP may lag behind until the block returns or another instruction needs it.
const RIP_FREE_NAMES = [
  ...["ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP", "TEST", "INC", "DEC", "NEG", "NOT"],
  ...["MOV", "MOVZX", "MOVSX", "MOVSXD", "LEA", "XCHG", "CMPXCHG", "XADD", "BSWAP"],
  ...["ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR", "SHLD", "SHRD"],
  ...["MUL", "IMUL", "DIV", "IDIV", "BT", "BTS", "BTR", "BTC", "BSF", "BSR", "TZCNT", "LZCNT", "POPCNT"],
  ...["CBW", "CWDE", "CDQE", "CWD", "CDQ", "CQO", "PUSH", "POP", "LEAVE", "NOP", "ENDBR64", "ENDBR32"],
  ...["CLC", "STC", "CMC", "CLD", "STD"],
  ...["O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"].flatMap(
    (cc) => [`SET${cc}`, `CMOV${cc}`],
  ),
  ...["MOVDQA", "MOVAPS", "MOVAPD", "MOVDQU", "MOVUPS", "MOVUPD", "MOVD", "MOVQ", "PSHUFD", "SHUFPS"],
  ...["PADDB", "PADDW", "PADDD", "PADDQ", "PSUBB", "PSUBW", "PSUBD", "PSUBQ", "PAND", "PANDN", "POR", "PXOR"],
  ...["PCMPEQB", "PCMPEQW", "PCMPEQD", "PCMPGTB", "PCMPGTW", "PCMPGTD", "PMULUDQ", "PMULLW", "PMOVMSKB"],
  ...["PUNPCKLBW", "PUNPCKLWD", "PUNPCKLDQ", "PUNPCKLQDQ", "PUNPCKHBW", "PUNPCKHWD", "PUNPCKHDQ"],
  ...[
    "PUNPCKHQDQ",
    "PSLLW",
    "PSRLW",
    "PSRAW",
    "PSLLD",
    "PSRLD",
    "PSRAD",
    "PSLLQ",
    "PSRLQ",
    "PSLLDQ",
    "PSRLDQ",
  ],
  ...["XORPS", "XORPD", "ANDPS", "ANDPD", "ORPS", "ORPD", "PACKUSWB", "PACKSSWB", "PACKSSDW"],
];
const RIP_FREE = new Set<number>(RIP_FREE_NAMES.map((n) => OPS[n]).filter((v) => v !== undefined));
const JCC = new Set<number>(
  ["O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"].map(
    (cc) => OPS[`J${cc}`],
  ),
);

const JMP = OPS.JMP;
/** Jcc operation id → condition code (0..15). */
const JCC_CC = new Map<number, number>(
  ["O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"].map((cc, i) => [
    OPS[`J${cc}`],
    i,
  ]),
);

/** The inline condition of a Jcc record (32/64-bit operand size) as a JS expression, or undefined. */
function jccCondition(d: Int32Array, o: number): string | undefined {
  if (d[o + R_STATUS] !== ST_OK || d[o + R_OSZ] === 2) return undefined;
  const cc = JCC_CC.get(d[o + R_OP]);
  return cc === undefined ? undefined : JCC_CONDITION_JS[cc];
}

/** 1: a Jcc, 2: a JMP (rel8/rel32, 32/64-bit operand size) whose target is page offset `start`; else 0. */
function branchesTo(d: Int32Array, o: number, start: number): number {
  if (d[o + R_STATUS] !== ST_OK || d[o + R_OSZ] === 2 || d[o + X_NEXT] + d[o + R_IMM_LO] !== start) return 0;
  if (JCC.has(d[o + R_OP])) return 1;
  return d[o + R_OP] === JMP && (d[o + R_OP0] & 15) === OK_REL ? 2 : 0;
}

/**
 * True when the instruction at d[o] does not touch RIP: a RIP-free operation whose operands are
 * general, XMM registers, immediates or a memory operand that is not RIP-relative (segment,
 * control and debug register operands take the interpreter's ordinary path).
 */
export function isRipFree(d: Int32Array, o: number): boolean {
  if (d[o + R_STATUS] !== ST_OK || !RIP_FREE.has(d[o + R_OP])) return false;
  for (let k = 0; k < d[o + R_NOPS]; k++) {
    const p = d[o + R_OP0 + k];
    const kind = p & 15;
    if (kind === OK_MEM && d[o + R_MBASE] === REG_RIP) return false;
    if (kind === OK_REG) {
      const cls = (p >>> 4) & 15;
      if (cls !== CLS_GPR && cls !== CLS_GPR8H && cls !== CLS_XMM) return false;
    }
  }
  return true;
}

/** RIP := block page + the page offset `next` (which may be 4096 + k past a page that ends the 32-bit range). */
function ripStore(next: number): string {
  if (next < 4096) return `r[32] = c.pageLo + ${next};`;
  return `{ const s = (c.pageLo >>> 0) + ${next}; r[32] = s | 0; if (s > 4294967295 && c.mode64) r[33] = (c.pageHi + 1) | 0; }`;
}

let available = true;
let serial = 0;

/** Compiles a block, or returns undefined when code generation is not allowed here (e.g. a CSP without unsafe-eval). */
export function compileBlock(blk: Block): CompiledBlock | undefined {
  if (!available) return undefined;
  const d = blk.recs;
  const n = blk.count;
  const start = d[X_START];
  const lines: string[] = ["const r = c.r;", "const st = c.st;", "let i = 0;", "try {", "for (;;) {"];
  for (let k = 0; k < n; k++) {
    const o = k << X_SHIFT;
    const next = d[o + X_NEXT];
    const cond = jccCondition(d, o);
    if (cond !== undefined) {
      // Jcc tested inline: not taken costs nothing; taken back to the block start (a static
      // page offset, so the same linear page) runs the next pass; otherwise the handler branches.
      lines.push(`if (${cond}) {`);
      if (branchesTo(d, o, start) === 1)
        lines.push(
          `if (st.retired + ${k + 1 + n} <= stopAt && !c.attention) { st.retired += ${k + 1}; ` +
            "c.retiredBase = st.retired; i = 0; continue; }",
        );
      lines.push(ripStore(next), `i = ${k};`, `h${k}(c, d, ${o});`, `return ${k + 1};`, "}");
      if (k === n - 1) lines.push(`${ripStore(next)} return ${n};`);
      continue;
    }
    const free = isRipFree(d, o);
    if (!free) lines.push(ripStore(next));
    if (k > 0) lines.push(`i = ${k};`);
    lines.push(`h${k}(c, d, ${o});`);
    const done = free ? `${ripStore(next)} return ${k + 1};` : `return ${k + 1};`;
    const loop = branchesTo(d, o, start);
    // Back at the block start (same page, checked at run time): one more pass if it fits.
    const again =
      `r[32] === c.pageLo + ${start} && r[33] === c.pageHi && st.retired + ${k + 1 + n} <= stopAt && ` +
      `!c.attention) { st.retired += ${k + 1}; c.retiredBase = st.retired; i = 0;`;
    if (loop === 1) {
      // A taken Jcc sets breakBlock and taken.
      lines.push(
        `if (c.breakBlock) { if (c.taken && ${again} c.breakBlock = false; c.taken = false; continue; } ${done} }`,
      );
      if (k === n - 1) lines.push(done);
    } else if (loop === 2) {
      // A JMP (the block's last instruction) sets neither.
      lines.push(`if (!c.breakBlock && ${again} continue; }`, done);
    } else if (k < n - 1) lines.push(`if (c.breakBlock) { ${done} }`);
    else lines.push(done);
  }
  lines.push("}", "} catch (e) { c.blockFault = i; c.blockError = e; return -1; }");
  const names = blk.fns.slice(0, n).map((_, k) => `h${k}`);
  // The serial makes every source text unique: V8 caches `new Function` by source, and closures
  // of one cached function share their call feedback, which would turn the direct calls to
  // another CPU's (or block's) handlers megamorphic.
  const source = `"use strict"; // block ${serial++}\nreturn function compiledBlock(c, d, stopAt) {\n${lines.join("\n")}\n};`;
  try {
    const factory = new Function(...names, source) as (...h: unknown[]) => CompiledBlock;
    return factory(...blk.fns.slice(0, n));
  } catch {
    available = false; // code generation refused: stay on the interpreter
    return undefined;
  }
}
