// Encoding one matched form into bytes: prefixes, REX, opcode, ModRM/SIB/displacement,
// immediates. Label values come from a resolver; RIP-relative and branch displacements are
// patched once the length is known.
import {
  FL_A16,
  FL_A32,
  FL_A64,
  FL_D64,
  FL_F64,
  FL_SSE,
  MAP_0F,
  MAP_0F3A,
  MAP_0F38,
  MP_66,
  MP_F2,
  MP_F3,
} from "../isa/forms.js";
import {
  CLS_GPR,
  CLS_GPR8H,
  LOC_FAR,
  LOC_IMM,
  LOC_MOFFS,
  LOC_OPREG,
  LOC_REG,
  LOC_REL,
  LOC_RM,
} from "../isa/operand-kinds.js";
import { formUsesOperandSize, type Match, MatchError, resolveSize } from "./match.js";
import {
  type FarPtr,
  isLabelish,
  isMem,
  isReg,
  type Label,
  type LabelRef,
  type Mem,
  type Operand,
  type Reg,
} from "./operands.js";

/** An absolute-address reference to a label left in the output (for loaders that relocate). */
export interface Relocation {
  /** byte offset in the output */
  offset: number;
  /** 1, 2, 4 or 8 bytes */
  size: number;
  label: string;
  addend: number;
}

export interface EncodeContext {
  mode: number;
  /** address of the instruction's first byte */
  address: bigint;
  /** label address, or undefined if not (yet) known */
  resolve(l: Label): bigint | undefined;
  /** extra prefixes requested by the caller: F0 / F2 / F3, or 0x100 | byte for a raw prefix byte */
  prefixes: number[];
  /** final pass: unknown labels are errors, relocations are recorded */
  final: boolean;
}

export interface Encoded {
  bytes: number[];
  /** absolute label references at byte offsets within `bytes` */
  relocs: Relocation[];
  /** a branch whose rel8 target did not fit */
  relOverflow: boolean;
}

const labelOf = (x: Label | LabelRef): [Label, number] => (x.kind === "label" ? [x, 0] : [x.label, x.addend]);

function value(x: Label | LabelRef, ctx: EncodeContext, what: string): bigint {
  const [l, add] = labelOf(x);
  const a = ctx.resolve(l);
  if (a === undefined) {
    if (ctx.final) throw new MatchError(-2, `undefined label "${l.name}" in ${what}`);
    return ctx.address;
  }
  return a + BigInt(add);
}

function pushLE(out: number[], v: bigint, n: number): void {
  let x = BigInt.asUintN(n * 8, v);
  for (let i = 0; i < n; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
}

const MP_BYTE = [0, 0, 0x66, 0xf3, 0xf2];
const BASE16: Record<string, number> = {
  "3,6": 0,
  "3,7": 1,
  "5,6": 2,
  "5,7": 3,
  "6,": 4,
  "7,": 5,
  "5,": 6,
  "3,": 7,
};

export function encode(m: Match, ctx: EncodeContext, allowShort: boolean): Encoded {
  const { form, osz } = m;
  const mode = ctx.mode;
  const kinds = form.operands;
  let rex = 0;
  let needRex = false;
  let forbidRex = false;
  let reg = Math.max(form.regDigit, 0);
  let rmReg = -1;
  let mem: Mem | undefined;
  let opcode = form.opcode;
  const regBits = (r: Reg) => {
    if (r.cls === CLS_GPR8H) {
      forbidRex = true;
      return r.num + 4;
    }
    if (r.cls === CLS_GPR && r.size === 1 && r.num >= 4 && r.num < 8) needRex = true;
    return r.num;
  };
  kinds.forEach((k, i) => {
    const op = m.ops[i];
    if (op === undefined) return;
    if (k.loc === LOC_REG && isReg(op)) {
      const n = regBits(op);
      reg = n & 7;
      if (n & 8) rex |= 4;
    } else if (k.loc === LOC_OPREG && isReg(op)) {
      const n = regBits(op);
      opcode += n & 7;
      if (n & 8) rex |= 1;
    } else if (k.loc === LOC_RM) {
      if (isReg(op)) {
        const n = regBits(op);
        rmReg = n & 7;
        if (n & 8) rex |= 1;
      } else if (isMem(op)) mem = op;
    } else if (k.loc === LOC_MOFFS && isMem(op)) mem = op;
  });
  if (
    form.plusR &&
    form.map === 0 &&
    form.opcode === 0x90 &&
    opcode === 0x90 &&
    !(rex & 1) &&
    mode === 64 &&
    osz === 4
  ) {
    throw new MatchError(-1, "90 is NOP, not XCHG"); // xchg eax, eax must be 87 C0 (it zero-extends)
  }
  // operand size prefix / REX.W
  const sse = (form.flags & FL_SSE) !== 0;
  let p66 = false;
  if (sse) {
    if (osz === 8 && form.w < 0 && !(form.flags & FL_F64)) rex |= 8; // CVTSI2SD xmm, r64 …
  } else {
    if (formUsesOperandSize(form)) {
      if (osz === 2 && mode !== 16) p66 = true;
      if (osz === 4 && mode === 16) p66 = true;
      if (osz === 8 && !(form.flags & (FL_D64 | FL_F64))) rex |= 8;
    }
  }
  if (form.w === 1) rex |= 8;
  // memory operand: address size, segment, ModRM/SIB/disp
  const prefixes: number[] = [];
  let addr:
    | {
        modrm: number;
        sib: number;
        disp: number;
        dispSize: number;
        ripLabel?: Label | LabelRef;
        absLabel?: Label | LabelRef;
      }
    | undefined;
  let moffs: bigint | Label | LabelRef | undefined;
  let asz = mode === 64 ? 8 : mode === 32 ? 4 : 2;
  if (mem) {
    let size =
      mem.base?.num === 16 ? (mem.base.size === 4 ? 4 : 8) : (mem.base?.size ?? mem.index?.size ?? asz);
    // an absolute address beyond 16 bits in 16-bit code needs 32-bit addressing (67 prefix)
    if (size === 2 && !mem.base && !mem.index && typeof mem.disp !== "object") {
      const d = BigInt(mem.disp);
      if (d < -0x8000n || d > 0xffffn) size = 4;
    }
    if (size !== asz) prefixes.push(0x67);
    asz = size;
    // GNU as drops an override that names the default segment (SS for rBP/rSP bases, else DS)
    const b = mem.base?.num ?? -1;
    const defSeg = asz === 2 ? (b === 5 ? 2 : 3) : b === 4 || b === 5 ? 2 : 3;
    if (mem.seg && mem.seg.num !== defSeg)
      prefixes.unshift([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65][mem.seg.num]);
    if (kinds.some((k) => k.loc === LOC_MOFFS)) {
      moffs = isLabelish(mem.disp) ? mem.disp : BigInt(mem.disp);
    } else {
      addr = encodeAddress(mem, asz, mode);
      if (mem.index && mem.index.num & 8) rex |= 2;
      if (mem.base && mem.base.num < 16 && mem.base.num & 8) rex |= 1;
    }
  }
  // JCXZ/JECXZ/JRCXZ: the address size selects the counter register
  const wantAsz = form.flags & FL_A16 ? 2 : form.flags & FL_A32 ? 4 : form.flags & FL_A64 ? 8 : 0;
  if (wantAsz && wantAsz !== asz) prefixes.push(0x67);
  if (p66) prefixes.push(0x66);
  // mandatory prefix (66/F2/F3) and caller prefixes (REP F3/F2, LOCK F0), in GNU as order
  for (const x of ctx.prefixes) if (x !== 0xf0 && x < 0x100) prefixes.push(x);
  if (form.mp === MP_66 || form.mp === MP_F2 || form.mp === MP_F3) prefixes.push(MP_BYTE[form.mp]);
  if (ctx.prefixes.includes(0xf0)) prefixes.push(0xf0);
  if (rex !== 0 || needRex) {
    if (forbidRex) throw new MatchError(-1, "AH/BH/CH/DH cannot be used with a REX prefix");
    if (mode !== 64) throw new MatchError(-1, "needs a REX prefix, which exists only in 64-bit mode");
  }
  // raw prefix bytes requested as such (0x100 | byte: "data16", "cs" …) come first, as written
  const out = [...ctx.prefixes.filter((x) => x >= 0x100).map((x) => x & 0xff), ...prefixes];
  if (rex !== 0 || needRex) out.push(0x40 | rex);
  if (form.map === MAP_0F) out.push(0x0f);
  else if (form.map === MAP_0F38) out.push(0x0f, 0x38);
  else if (form.map === MAP_0F3A) out.push(0x0f, 0x3a);
  out.push(opcode);
  const relocs: Relocation[] = [];
  let ripPatch = -1;
  let ripTarget: Label | LabelRef | undefined;
  if (form.hasModrm) {
    if (form.modrmFixed >= 0) out.push(form.modrmFixed);
    else if (addr) {
      out.push(addr.modrm | (reg << 3));
      if (addr.sib >= 0) out.push(addr.sib);
      if (addr.ripLabel) {
        ripPatch = out.length;
        ripTarget = addr.ripLabel;
        pushLE(out, 0n, 4);
      } else if (addr.absLabel) {
        const v = value(addr.absLabel, ctx, "an address");
        if (ctx.final) relocs.push(reloc(out.length, addr.dispSize, addr.absLabel));
        pushLE(out, v, addr.dispSize);
      } else pushLE(out, BigInt(addr.disp), addr.dispSize);
    } else out.push(0xc0 | (reg << 3) | Math.max(rmReg, 0));
  }
  // immediates, relative targets, moffs, far pointers (in operand order)
  let relOverflow = false;
  let relPatch = -1;
  let relSize = 0;
  let relTarget: bigint | undefined;
  let immCount = 0;
  kinds.forEach((k, i) => {
    const op = m.ops[i];
    if (k.loc === LOC_IMM) {
      const n = resolveSize(k.immSize, osz, mode);
      if (isLabelish(op)) {
        const v = value(op, ctx, "an immediate");
        if (ctx.final) {
          relocs.push(reloc(out.length, n, op));
          // Sign extension matters only when the operand is wider than the 4-byte immediate (64-bit).
          if (n === 4 && !fitsImm32(v, k.signed && osz > 4))
            throw new MatchError(i, `address of ${labelOf(op)[0].name} does not fit in 32 bits (use movabs)`);
        }
        pushLE(out, v, n);
      } else pushLE(out, BigInt(op as number | bigint), n);
      immCount++;
    } else if (k.loc === LOC_REL) {
      relSize = resolveSize(k.immSize, osz, mode);
      relTarget = isLabelish(op) ? value(op, ctx, "a branch") : BigInt(op as number | bigint);
      relPatch = out.length;
      pushLE(out, 0n, relSize);
    } else if (k.loc === LOC_MOFFS && moffs !== undefined) {
      if (typeof moffs === "bigint") pushLE(out, moffs, asz);
      else {
        if (ctx.final) relocs.push(reloc(out.length, asz, moffs));
        pushLE(out, value(moffs, ctx, "an address"), asz);
      }
    } else if (k.loc === LOC_FAR) {
      const f = op as FarPtr;
      const n = osz === 2 ? 2 : 4;
      if (isLabelish(f.offset)) {
        if (ctx.final) relocs.push(reloc(out.length, n, f.offset));
        pushLE(out, value(f.offset, ctx, "a far pointer"), n);
      } else pushLE(out, BigInt(f.offset), n);
      pushLE(out, BigInt(f.selector), 2);
    }
  });
  void immCount;
  const end = ctx.address + BigInt(out.length);
  if (ripPatch >= 0 && ripTarget) {
    const d = value(ripTarget, ctx, "a RIP-relative address") - end;
    if (ctx.final && (d < -(1n << 31n) || d >= 1n << 31n))
      throw new MatchError(-1, "RIP-relative target out of range");
    patch(out, ripPatch, d, 4);
  }
  if (relPatch >= 0 && relTarget !== undefined) {
    let d = relTarget - end;
    if (osz === 2) d = BigInt.asIntN(16, d);
    const lim = 1n << BigInt(relSize * 8 - 1);
    if (d < -lim || d >= lim) {
      if (relSize === 1) relOverflow = true;
      else if (ctx.final) throw new MatchError(-1, "branch target out of range");
    }
    patch(out, relPatch, d, relSize);
  }
  void allowShort;
  return { bytes: out, relocs, relOverflow };
}

const fitsImm32 = (v: bigint, signed: boolean) =>
  signed ? v >= -(1n << 31n) && v < 1n << 31n : v >= 0n && v < 1n << 32n;

function reloc(offset: number, size: number, x: Label | LabelRef): Relocation {
  const [l, addend] = labelOf(x);
  return { offset, size, label: l.name, addend };
}

function patch(out: number[], at: number, v: bigint, n: number): void {
  const tmp: number[] = [];
  pushLE(tmp, v, n);
  for (let i = 0; i < n; i++) out[at + i] = tmp[i];
}

function encodeAddress(m: Mem, asz: number, mode: number) {
  const labelDisp = isLabelish(m.disp) ? m.disp : undefined;
  const disp = labelDisp ? 0 : Number(BigInt.asIntN(32, BigInt(m.disp as number | bigint)));
  const base = m.base;
  const index = m.index;
  if (base && base.num === 16) {
    return { modrm: 0x05, sib: -1, disp, dispSize: 4, ripLabel: labelDisp };
  }
  if (asz === 2) {
    if (!base && !index) return { modrm: 0x06, sib: -1, disp, dispSize: 2, absLabel: labelDisp };
    const key = `${base?.num ?? index?.num},${base && index ? index.num : ""}`;
    const rm = BASE16[key];
    if (rm === undefined) throw new MatchError(-1, "this 16-bit base/index combination does not exist");
    if (labelDisp) return { modrm: 0x80 | rm, sib: -1, disp: 0, dispSize: 2, absLabel: labelDisp };
    if (disp === 0 && rm !== 6 && !m.explicitDisp) return { modrm: rm, sib: -1, disp: 0, dispSize: 0 };
    if (disp >= -128 && disp < 128) return { modrm: 0x40 | rm, sib: -1, disp, dispSize: 1 };
    if (disp < -0x8000 || disp > 0xffff)
      throw new MatchError(-1, `displacement ${disp} does not fit in 16 bits`);
    return { modrm: 0x80 | rm, sib: -1, disp, dispSize: 2 };
  }
  const scaleBits = [0, 0, 1, 1, 2, 2, 2, 2, 3][m.scale] << 6;
  if (!base) {
    if (!index) {
      if (mode === 64) return { modrm: 0x04, sib: 0x25, disp, dispSize: 4, absLabel: labelDisp };
      return { modrm: 0x05, sib: -1, disp, dispSize: 4, absLabel: labelDisp };
    }
    return {
      modrm: 0x04,
      sib: scaleBits | ((index.num & 7) << 3) | 5,
      disp,
      dispSize: 4,
      absLabel: labelDisp,
    };
  }
  const b = base.num & 7;
  const needSib = !!index || b === 4;
  let mod: number;
  let dispSize: number;
  if (labelDisp) {
    mod = 0x80;
    dispSize = 4;
  } else if (disp === 0 && b !== 5 && !m.explicitDisp) {
    mod = 0;
    dispSize = 0;
  } else if (disp >= -128 && disp < 128) {
    mod = 0x40;
    dispSize = 1;
  } else {
    mod = 0x80;
    dispSize = 4;
  }
  if (needSib) {
    const idx = index ? index.num & 7 : 4;
    return { modrm: mod | 4, sib: scaleBits | (idx << 3) | b, disp, dispSize, absLabel: labelDisp };
  }
  return { modrm: mod | b, sib: -1, disp, dispSize, absLabel: labelDisp };
}

export type { Operand };
