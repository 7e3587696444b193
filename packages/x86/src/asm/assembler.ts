// The assembler: instructions (by mnemonic, from the table), labels with forward references,
// alignment and data directives; lays out the program with branch relaxation (short jumps
// where they fit, as GNU as does) and records absolute relocations.
import { FORMS_BY_MNEMONIC, type Form } from "../isa/forms.js";
import { LOC_IMM, LOC_REL } from "../isa/operand-kinds.js";
import { type EncodeContext, type Encoded, encode, type Relocation } from "./encode.js";
import { type Match, MatchError, matchForm, SIZE_UNKNOWN } from "./match.js";
import { isLabelish, Label, type LabelRef, type Operand } from "./operands.js";

/** An assembler error naming the source line (text input) or instruction, and the operand. */
export class AsmError extends Error {
  constructor(
    message: string,
    /** 1-based source line for text input; for the typed API, the 1-based statement number */
    readonly line: number,
    /** 1-based operand number, or 0 if the error is about the whole statement */
    readonly operand: number,
  ) {
    super(message);
    this.name = "AsmError";
  }
}

/** Assembler mnemonic aliases (GNU as spellings) → table mnemonic. */
const CC_ALIASES: [string, string][] = [
  ["Z", "E"],
  ["NZ", "NE"],
  ["C", "B"],
  ["NAE", "B"],
  ["NC", "AE"],
  ["NB", "AE"],
  ["NA", "BE"],
  ["NBE", "A"],
  ["PE", "P"],
  ["PO", "NP"],
  ["NGE", "L"],
  ["NL", "GE"],
  ["NG", "LE"],
  ["NLE", "G"],
];
export const ALIASES: ReadonlyMap<string, string> = new Map([
  ...CC_ALIASES.flatMap(([a, b]) => ["J", "CMOV", "SET"].map((p) => [p + a, p + b] as [string, string])),
  ["SAL", "SHL"],
  ["XLAT", "XLATB"],
  ["MOVABS", "MOV"],
  ["LOOPZ", "LOOPE"],
  ["LOOPNZ", "LOOPNE"],
  ["WAIT", "FWAIT"],
  ["INT1", "INT1"],
  ["ICEBP", "INT1"],
]);

/** Unsuffixed mnemonics mean the mode's operand size (GNU as): pusha in 32-bit code is PUSHAD. */
const MODE32_ALIASES = new Map([
  ["PUSHA", "PUSHAD"],
  ["POPA", "POPAD"],
  ["PUSHF", "PUSHFD"],
  ["POPF", "POPFD"],
  ["IRET", "IRETD"],
]);
const MODE64_ALIASES = new Map([
  ["PUSHF", "PUSHFQ"],
  ["POPF", "POPFQ"],
  ["IRET", "IRETD"],
]);

/** Prefix keywords usable before a mnemonic (≥ 0x100: a raw prefix byte, see Assembler.prefix). */
export const PREFIX_BYTES: ReadonlyMap<string, number> = new Map([
  ["DATA16", 0x166],
  ["ADDR32", 0x167],
  ["CS", 0x12e],
  ["DS", 0x13e],
  ["ES", 0x126],
  ["SS", 0x136],
  ["FS", 0x164],
  ["GS", 0x165],
  ["NOTRACK", 0x13e],
  ["BND", 0x1f2],
  ["LOCK", 0xf0],
  ["REP", 0xf3],
  ["REPE", 0xf3],
  ["REPZ", 0xf3],
  ["REPNE", 0xf2],
  ["REPNZ", 0xf2],
]);

type Item =
  | { kind: "label"; label: Label }
  | {
      kind: "insn";
      mnemonic: string;
      movabs: boolean;
      ops: Operand[];
      prefixes: number[];
      line: number;
      long: boolean;
      mode: 16 | 32 | 64;
      /** The encoding of an instruction without label operands: it does not depend on its address,
       * so it is selected once (at `insn`) instead of on every layout pass. */
      fixed?: Encoded;
    }
  | { kind: "data"; size: number; values: (number | bigint | Label | LabelRef)[]; line: number }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "align"; to: number; fill: number };

export interface AssembleResult {
  bytes: Uint8Array;
  /** address of bytes[0] */
  origin: bigint;
  /** every bound label's address */
  labels: Map<string, bigint>;
  /** absolute references to labels (offsets in `bytes`), for relocating loaders */
  relocations: Relocation[];
}

export interface AssemblerOptions {
  /** code mode (default 64) */
  mode?: 16 | 32 | 64;
  /** address of the first byte (default 0) */
  origin?: number | bigint;
}

export class Assembler {
  /** the code mode of the next instruction (`code16/32/64()` or `.code32` change it) */
  mode: 16 | 32 | 64;
  readonly origin: bigint;
  private items: Item[] = [];
  private labels = new Map<string, Label>();
  private boundLabels = new Set<Label>();
  private pendingPrefixes: number[] = [];
  private statements = 0;
  /** source line attached to the next statement (the text front end sets it) */
  currentLine = 0;

  constructor(opts: AssemblerOptions = {}) {
    this.mode = opts.mode ?? 64;
    this.origin = BigInt(opts.origin ?? 0);
  }

  /** A label by name (created on first use; bind it with `bind`). */
  label(name?: string): Label {
    const n = name ?? `.Lanon${this.labels.size}`;
    let l = this.labels.get(n);
    if (!l) {
      l = new Label(n);
      this.labels.set(n, l);
    }
    return l;
  }

  /** Binds a label at the current position. */
  bind(label: Label | string): this {
    const l = typeof label === "string" ? this.label(label) : label;
    if (this.boundLabels.has(l)) throw new AsmError(`label "${l.name}" is defined twice`, this.lineNo(), 0);
    this.boundLabels.add(l);
    this.labels.set(l.name, l);
    this.items.push({ kind: "label", label: l });
    return this;
  }

  /** Creates and binds a label here. */
  here(name?: string): Label {
    const l = this.label(name);
    this.bind(l);
    return l;
  }

  /** Switches the code mode for the following instructions (like GNU as `.code16/32/64`), e.g.
   * 32-bit boot code that enables long mode and continues in 64-bit code in one image. */
  code16(): this {
    this.mode = 16;
    return this;
  }
  code32(): this {
    this.mode = 32;
    return this;
  }
  code64(): this {
    this.mode = 64;
    return this;
  }

  lock(): this {
    this.pendingPrefixes.push(0xf0);
    return this;
  }
  rep(): this {
    this.pendingPrefixes.push(0xf3);
    return this;
  }
  repe(): this {
    return this.rep();
  }
  /** Raw prefix bytes for the next instruction, emitted first and as given (GNU as "data16",
   * "addr32", "cs" …; a segment override on a memory operand is better written as its `seg`). */
  prefix(...bytes: number[]): this {
    for (const b of bytes) this.pendingPrefixes.push(0x100 | (b & 0xff));
    return this;
  }
  repne(): this {
    this.pendingPrefixes.push(0xf2);
    return this;
  }

  /** Emits one instruction; checks the operands now (labels are resolved at `assemble`). */
  insn(mnemonic: string, ...ops: Operand[]): this {
    const upper = mnemonic.toUpperCase();
    const name =
      (this.mode === 64 ? MODE64_ALIASES : this.mode === 32 ? MODE32_ALIASES : undefined)?.get(upper) ??
      ALIASES.get(upper) ??
      upper;
    const line = this.lineNo();
    const prefixes = this.pendingPrefixes;
    this.pendingPrefixes = [];
    const item: Item = {
      kind: "insn",
      mnemonic: name,
      movabs: upper === "MOVABS",
      ops,
      prefixes,
      line,
      long: false,
      mode: this.mode,
    };
    // validate now so errors point at the statement that caused them
    if (ops.some(mentionsLabel) || HAS_REL_FORM.has(name))
      this.select(item, this.origin, () => undefined, false);
    else item.fixed = this.select(item, this.origin, () => undefined, true);
    this.items.push(item);
    return this;
  }

  /** Data directives; dd/dq accept labels (absolute addresses, recorded as relocations). */
  db(...values: (number | bigint)[]): this {
    return this.data(1, values);
  }
  dw(...values: (number | bigint)[]): this {
    return this.data(2, values);
  }
  dd(...values: (number | bigint | Label | LabelRef)[]): this {
    return this.data(4, values);
  }
  dq(...values: (number | bigint | Label | LabelRef)[]): this {
    return this.data(8, values);
  }
  /** Raw bytes, or a string's UTF-8 bytes. */
  bytes(data: Uint8Array | string): this {
    this.statements++;
    const b = typeof data === "string" ? new TextEncoder().encode(data) : data;
    this.items.push({ kind: "bytes", bytes: b });
    return this;
  }
  /** n zero bytes. */
  zero(n: number): this {
    return this.bytes(new Uint8Array(n));
  }
  /** Pads to a multiple of `to` bytes (a power of two) with `fill` (default: NOPs in code, as GNU as). */
  align(to: number, fill = 0x90): this {
    this.statements++;
    if (to <= 0 || (to & (to - 1)) !== 0)
      throw new AsmError(`alignment ${to} is not a power of two`, this.lineNo(), 1);
    this.items.push({ kind: "align", to, fill });
    return this;
  }

  private data(size: number, values: (number | bigint | Label | LabelRef)[]): this {
    const line = this.lineNo();
    values.forEach((v, i) => {
      if (isLabelish(v)) {
        if (size < 4) throw new AsmError(`a label address needs .long or .quad`, line, i + 1);
        return;
      }
      const x = BigInt(v);
      if (x < -(1n << BigInt(size * 8 - 1)) || x >= 1n << BigInt(size * 8)) {
        throw new AsmError(`value ${v} does not fit in ${size * 8} bits`, line, i + 1);
      }
    });
    this.items.push({ kind: "data", size, values, line });
    return this;
  }

  private lineNo(): number {
    this.statements++;
    return this.currentLine || this.statements;
  }

  /** Picks the shortest encodable form (GNU as's choice) for an instruction at `address`. */
  private select(
    item: Extract<Item, { kind: "insn" }>,
    address: bigint,
    resolve: (l: Label) => bigint | undefined,
    final: boolean,
  ): Encoded {
    if (item.fixed) return item.fixed;
    const forms = FORMS_BY_MNEMONIC.get(item.mnemonic);
    if (!forms) throw new AsmError(`unknown mnemonic "${item.mnemonic.toLowerCase()}"`, item.line, 0);
    const ctx: EncodeContext = { mode: item.mode, address, resolve, prefixes: item.prefixes, final };
    let best: Encoded | undefined;
    let bestForm: Form | undefined;
    let bestErr: MatchError | undefined;
    let encodeErr: MatchError | undefined;
    const unsized = new Set<number>();
    for (const { form, ops } of candidates(forms, item.ops)) {
      const m = matchForm(form, ops, item.mode, item.movabs);
      if (m instanceof MatchError) {
        if (m.reason === SIZE_UNKNOWN) unsized.add(-1);
        if (!bestErr || m.operand > bestErr.operand) bestErr = m;
        continue;
      }
      if (item.long && isShortBranch(form)) continue;
      let enc: Encoded;
      try {
        enc = encode(m, ctx, !item.long);
      } catch (e) {
        if (e instanceof MatchError) {
          if (e.operand === -2 || final) throw this.toAsmError(item, e);
          // an encoding problem after the operands matched explains more than a mismatch
          encodeErr ??= e;
          continue;
        }
        throw e;
      }
      if (enc.relOverflow) {
        item.long = true;
        continue;
      }
      if (m.unsizedMem) unsized.add(m.unsizedMem);
      if (
        !best ||
        enc.bytes.length < best.bytes.length ||
        (enc.bytes.length === best.bytes.length && prefer(m, bestForm!))
      ) {
        best = enc;
        bestForm = form;
      }
    }
    if (!best) {
      throw this.toAsmError(
        item,
        encodeErr ?? bestErr ?? new MatchError(-1, "no encoding for these operands"),
      );
    }
    if (unsized.size > 1) throw this.toAsmError(item, new MatchError(-1, SIZE_UNKNOWN));
    return best;
  }

  private toAsmError(item: Extract<Item, { kind: "insn" }>, e: MatchError): AsmError {
    const what = item.mnemonic.toLowerCase();
    if (e.operand >= 0)
      return new AsmError(`${what}: operand ${e.operand + 1}: ${e.reason}`, item.line, e.operand + 1);
    return new AsmError(`${what}: ${e.reason}`, item.line, 0);
  }

  /** Lays out everything and returns the bytes, label addresses and relocations. */
  assemble(): AssembleResult {
    const addrs = new Map<Label, bigint>();
    let sizes: number[] = [];
    for (let pass = 0; pass < 64; pass++) {
      const next: number[] = [];
      let changed = false;
      let addr = this.origin;
      this.items.forEach((item, i) => {
        if (item.kind === "label") {
          if (addrs.get(item.label) !== addr) changed = true;
          addrs.set(item.label, addr);
        }
        const n = this.sizeOf(item, addr, (l) => addrs.get(l), false);
        if (n !== sizes[i]) changed = true;
        next.push(n);
        addr += BigInt(n);
      });
      sizes = next;
      if (!changed && pass > 0) break;
    }
    for (const l of this.labels.values()) {
      if (!this.boundLabels.has(l) && this.isReferenced(l)) {
        for (const x of this.items) {
          const i = x.kind === "insn" ? x.ops.findIndex((o) => refersTo(o, l)) : -1;
          if (x.kind === "insn" && i >= 0) {
            throw new AsmError(
              `${x.mnemonic.toLowerCase()}: operand ${i + 1}: undefined label "${l.name}"`,
              x.line,
              i + 1,
            );
          }
          const j = x.kind === "data" ? x.values.findIndex((o) => refersTo(o as Operand, l)) : -1;
          if (x.kind === "data" && j >= 0)
            throw new AsmError(`value ${j + 1}: undefined label "${l.name}"`, x.line, j + 1);
        }
      }
    }
    const out: number[] = [];
    const relocations: Relocation[] = [];
    let addr = this.origin;
    const resolve = (l: Label) => addrs.get(l);
    for (const item of this.items) {
      const start = out.length;
      if (item.kind === "insn") {
        const enc = this.select(item, addr, resolve, true);
        out.push(...enc.bytes);
        for (const r of enc.relocs) relocations.push({ ...r, offset: r.offset + start });
      } else if (item.kind === "data") {
        item.values.forEach((v, i) => {
          let x: bigint;
          if (isLabelish(v)) {
            const [l, add] = v.kind === "label" ? [v, 0] : [v.label, v.addend];
            const a = resolve(l);
            if (a === undefined) throw new AsmError(`undefined label "${l.name}"`, item.line, i + 1);
            x = a + BigInt(add);
            relocations.push({ offset: out.length, size: item.size, label: l.name, addend: add });
          } else x = BigInt(v);
          let u = BigInt.asUintN(item.size * 8, x);
          for (let b = 0; b < item.size; b++) {
            out.push(Number(u & 0xffn));
            u >>= 8n;
          }
        });
      } else if (item.kind === "bytes") out.push(...item.bytes);
      else if (item.kind === "align") {
        const pad = Number((BigInt(item.to) - (addr % BigInt(item.to))) % BigInt(item.to));
        out.push(...alignFill(pad, item.fill));
      }
      addr += BigInt(out.length - start);
    }
    const labels = new Map<string, bigint>();
    for (const [l, a] of addrs) labels.set(l.name, a);
    return { bytes: Uint8Array.from(out), origin: this.origin, labels, relocations };
  }

  private sizeOf(
    item: Item,
    addr: bigint,
    resolve: (l: Label) => bigint | undefined,
    final: boolean,
  ): number {
    switch (item.kind) {
      case "label":
        return 0;
      case "insn":
        return this.select(item, addr, resolve, final).bytes.length;
      case "data":
        return item.size * item.values.length;
      case "bytes":
        return item.bytes.length;
      case "align":
        return Number((BigInt(item.to) - (addr % BigInt(item.to))) % BigInt(item.to));
    }
  }

  private isReferenced(l: Label): boolean {
    return this.items.some(
      (x) =>
        (x.kind === "insn" && x.ops.some((o) => refersTo(o, l))) ||
        (x.kind === "data" && x.values.some((o) => refersTo(o as Operand, l))),
    );
  }
}

/** Mnemonics with a relative-branch form: even a numeric target's encoding depends on the address. */
const HAS_REL_FORM: ReadonlySet<string> = new Set(
  [...FORMS_BY_MNEMONIC]
    .filter(([, forms]) => forms.some((f) => f.operands.some((k) => k.loc === LOC_REL)))
    .map(([m]) => m),
);

function mentionsLabel(o: Operand): boolean {
  if (typeof o !== "object") return false;
  if (o.kind === "label" || o.kind === "labelref") return true;
  if (o.kind === "mem") return typeof o.disp === "object";
  if (o.kind === "far") return typeof o.offset === "object";
  return false;
}

function refersTo(o: Operand, l: Label): boolean {
  if (typeof o !== "object") return false;
  if (o.kind === "label") return o === l;
  if (o.kind === "labelref") return o.label === l;
  if (o.kind === "mem") return typeof o.disp === "object" && refersTo(o.disp, l);
  if (o.kind === "far") return typeof o.offset === "object" && refersTo(o.offset, l);
  return false;
}

const isShortBranch = (f: Form) => f.operands.some((k) => k.loc === LOC_REL && k.immSize === 1);

/** Forms to try: for XCHG also with the operands swapped (it is symmetric; GNU as uses 90+r either way). */
function candidates(
  forms: readonly Form[],
  ops: readonly Operand[],
): { form: Form; ops: readonly Operand[] }[] {
  const list = forms.map((form) => ({ form, ops }));
  if (forms[0]?.mnemonic === "XCHG" && ops.length === 2)
    list.push(...forms.map((form) => ({ form, ops: [ops[1], ops[0]] })));
  return list;
}

/** GNU as tie-break between equally long encodings: the sign-extended imm8 form. */
function prefer(m: Match, current: Form): boolean {
  const sb = (f: Form) => f.operands.some((k) => k.loc === LOC_IMM && k.signed && k.immSize === 1);
  return sb(m.form) && !sb(current);
}

/** GNU as's multi-byte NOP padding for code alignment (0x90 fill), else the fill byte. (In
 * 32-bit code GNU as pads with other NOP patterns; we use these everywhere.) */
function alignFill(n: number, fill: number): number[] {
  if (fill !== 0x90) return new Array(n).fill(fill);
  // GNU as (64-bit tuning): 11-byte NOPs first, then one NOP for the remainder
  const NOPS = [
    [],
    [0x90],
    [0x66, 0x90],
    [0x0f, 0x1f, 0x00],
    [0x0f, 0x1f, 0x40, 0x00],
    [0x0f, 0x1f, 0x44, 0x00, 0x00],
    [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
    [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
    [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  ];
  const out: number[] = [];
  while (n > 0) {
    const k = Math.min(n, 11);
    out.push(...NOPS[k]);
    n -= k;
  }
  return out;
}
