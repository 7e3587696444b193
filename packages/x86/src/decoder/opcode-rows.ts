// Compact opcode-row tables for the encodings the executor does not run (VEX maps 0F38/0F3A,
// XOP maps 8/9/0A, EVEX maps 1/2/3/5/6): which opcodes exist and under which constraints, so the
// decoder can tell an unsupported-but-defined instruction (ST_UNSUPPORTED) from #UD.
//
// One row per opcode group, written from the Intel SDM Vol. 2 / AMD APM Vol. 4 opcode columns:
//   "<pp> <opcodes> <W> <L> [flags…]"
//   pp       NP | 66 | F3 | F2
//   opcodes  "0c" | "00-0b" | "0c,0d,20-25"
//   W        W0 | W1 | WIG (either)
//   L        VEX/XOP: L0 | L1 | LIG (either); EVEX: L0 | L1 | L2 | L12 (256/512) | L* (any of
//            128/256/512) | LIG (scalar: length ignored)
//   flags    nv    VEX.vvvv / EVEX.vvvv unused: must be 1111b (and EVEX.V' = 1)
//            m / r memory form only / register form only
//            /n    only ModRM.reg = n (several allowed: /1/2/3)
//            sib   memory form must have a SIB byte (VSIB, AMX tile loads)
//            64    64-bit mode only
//            tmm   AMX: every register operand is tmm0-7 (VEX.R = VEX.B = 1 in ModRM register
//                  fields, vvvv < 8), and the three tiles of a tile multiply all differ
//            kR    ModRM.reg is an opmask register k0-k7: VEX.R (and EVEX.R') = 1
//            dst   EVEX complex FP16: the destination differs from both sources
//            vg    gather: destination, index (and VEX mask) registers all differ
//            rm0   register form with ModRM.rm = 000b only (TILEZERO, TILERELEASE)
//            EVEX: b (embedded broadcast), er (rounding control), sae, nok (no opmask: aaa = 0),
//                  kreq (opmask required: aaa ≠ 0), noz (no zeroing-masking), rR (ModRM.reg is a
//                  GPR or opmask register: EVEX.R' must be 1), vk (vvvv is an opmask/GPR: V' = 1),
//                  nozm (a store: no zeroing-masking on the memory form)

export const F_NV = 1;
export const F_MEM = 2;
export const F_REG = 4;
export const F_SIB = 8;
export const F_64 = 16;
export const F_B = 32;
export const F_ER = 64;
export const F_SAE = 128;
export const F_NOK = 256;
export const F_KREQ = 512;
export const F_NOZ = 1024;
export const F_RR = 2048;
export const F_VK = 4096;
export const F_NOZM = 8192;
export const F_TMM = 16384;
export const F_KR = 32768;
export const F_DST = 65536;
export const F_VG = 131072;
export const F_RM0 = 262144;

/** L masks: bit n set = vector length n (0 = 128, 1 = 256, 2 = 512) allowed; bit 3 = length ignored. */
export const L_IGNORED = 8;

export interface OpcodeRow {
  /** bit 0 = W0 allowed, bit 1 = W1 allowed */
  w: number;
  /** allowed L values (see L_IGNORED) */
  l: number;
  /** F_* flags */
  flags: number;
  /** allowed ModRM.reg values (bit n) */
  regs: number;
}

const PP: Record<string, number> = { NP: 0, "66": 1, F3: 2, F2: 3 };
const W: Record<string, number> = { W0: 1, W1: 2, WIG: 3 };
const L: Record<string, number> = {
  L0: 1,
  L1: 2,
  L2: 4,
  L12: 6,
  "L*": 7,
  LIG: 7 | L_IGNORED,
};
const FLAG: Record<string, number> = {
  nv: F_NV,
  m: F_MEM,
  r: F_REG,
  sib: F_SIB,
  "64": F_64,
  b: F_B,
  er: F_ER,
  sae: F_SAE,
  nok: F_NOK,
  kreq: F_KREQ,
  noz: F_NOZ,
  rR: F_RR,
  vk: F_VK,
  nozm: F_NOZM,
  tmm: F_TMM,
  kR: F_KR,
  dst: F_DST,
  vg: F_VG,
  rm0: F_RM0,
};

/** Rows per (pp << 8 | opcode): an opcode may have several rows (W0/W1 or register/memory variants). */
export type OpcodeTable = (OpcodeRow[] | undefined)[];

function parseOps(spec: string): number[] {
  const ops: number[] = [];
  for (const part of spec.split(",")) {
    const [a, b] = part.split("-").map((x) => Number.parseInt(x, 16));
    for (let op = a; op <= (b ?? a); op++) ops.push(op);
  }
  return ops;
}

/** Builds a table from rows in the format above; throws (at module load) on a malformed row. */
export function buildTable(rows: readonly string[]): OpcodeTable {
  const table: OpcodeTable = new Array(4 * 256);
  for (const row of rows) {
    const [pp, ops, w, l, ...rest] = row.trim().split(/\s+/);
    if (PP[pp] === undefined || W[w] === undefined || L[l] === undefined) {
      throw new Error(`opcode row "${row}": bad pp, W or L field`);
    }
    let flags = 0;
    let regs = 0;
    for (const f of rest) {
      if (f.startsWith("/")) {
        for (const d of f.slice(1).split("/")) regs |= 1 << Number(d);
      } else if (FLAG[f] !== undefined) flags |= FLAG[f];
      else throw new Error(`opcode row "${row}": unknown flag ${f}`);
    }
    const entry: OpcodeRow = { w: W[w], l: L[l], flags, regs: regs || 0xff };
    for (const op of parseOps(ops)) {
      const key = (PP[pp] << 8) | op;
      const list = table[key] ?? [];
      list.push(entry);
      table[key] = list;
    }
  }
  return table;
}

/**
 * The row of a VEX/XOP-style encoding that matches, or undefined (#UD). `modrm` is the ModRM
 * byte, `sib` the SIB byte of a memory form (-1: none).
 */
export function matchVexRow(
  table: OpcodeTable,
  pp: number,
  op: number,
  w: number,
  l: number,
  modrm: number,
  sib: number,
  vvvvRaw: number,
  mode: number,
  /** VEX.R̄X̄B̄ (stored inverted: 7 = no extension) */
  rxbBar: number,
): OpcodeRow | undefined {
  const rows = table[(pp << 8) | op];
  if (rows === undefined) return undefined;
  const isReg = modrm >>> 6 === 3;
  const reg = (modrm >>> 3) & 7;
  for (const r of rows) {
    if (!(r.w & (1 << w))) continue;
    if (!(r.l & (1 << l))) continue;
    if (!(r.regs & (1 << reg))) continue;
    const f = r.flags;
    if (f & F_MEM && isReg) continue;
    if (f & F_REG && !isReg) continue;
    if (f & F_SIB && sib < 0) continue;
    if (f & F_RM0 && (modrm & 7) !== 0) continue;
    if (f & F_64 && mode !== 64) continue;
    if (f & F_NV && vvvvRaw !== 15) continue;
    if (f & F_KR && !(rxbBar & 4)) continue;
    if (f & F_VG && !vexGatherRegistersDistinct(mode, modrm, sib, vvvvRaw, rxbBar)) continue;
    if (f & F_TMM && !tmmOperandsValid(f, modrm, isReg, vvvvRaw, rxbBar)) continue;
    return r;
  }
  return undefined;
}

/** VEX gathers (SDM VPGATHERDD etc.): #UD unless destination, mask and index registers all differ. */
function vexGatherRegistersDistinct(
  mode: number,
  modrm: number,
  sib: number,
  vvvvRaw: number,
  rxbBar: number,
): boolean {
  const ext = mode === 64 ? 15 : 7;
  const dst = (((modrm >>> 3) & 7) | ((((rxbBar >>> 2) & 1) ^ 1) << 3)) & ext;
  const index = (((sib >>> 3) & 7) | ((((rxbBar >>> 1) & 1) ^ 1) << 3)) & ext;
  const mask = (vvvvRaw ^ 15) & ext;
  return dst !== index && dst !== mask && index !== mask;
}

/** AMX: tile operands are tmm0-7; the tile multiplies (register forms with vvvv) need three distinct tiles. */
function tmmOperandsValid(
  flags: number,
  modrm: number,
  isReg: boolean,
  vvvvRaw: number,
  rxbBar: number,
): boolean {
  if (!(rxbBar & 4) || (isReg && !(rxbBar & 1))) return false;
  if (flags & F_NV) return true;
  if (vvvvRaw < 8) return false;
  const dst = (modrm >>> 3) & 7;
  const src1 = modrm & 7;
  const src2 = (vvvvRaw ^ 15) & 7;
  return dst !== src1 && dst !== src2 && src1 !== src2;
}
