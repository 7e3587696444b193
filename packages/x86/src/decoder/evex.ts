// EVEX validity (Intel SDM Vol. 2, 2.7 "EVEX encoding" and its exception tables): the reserved
// payload bits, then the opcode row (evex-maps.ts) with its vector-length, broadcast, rounding/SAE,
// opmask and zeroing constraints. Anything else is #UD.
//   P0: R X B R' 0 m m m      P1: W v v v v 1 p p      P2: z L' L b V' a a a
import { EVEX_MAP1, EVEX_MAP2, EVEX_MAP3, EVEX_MAP5, EVEX_MAP6 } from "./evex-maps.js";
import {
  F_B,
  F_DST,
  F_ER,
  F_KR,
  F_KREQ,
  F_MEM,
  F_NOK,
  F_NOZ,
  F_NOZM,
  F_NV,
  F_REG,
  F_RR,
  F_SAE,
  F_SIB,
  F_VG,
  F_VK,
  L_IGNORED,
  type OpcodeTable,
} from "./opcode-rows.js";

const TABLES: (OpcodeTable | undefined)[] = [
  undefined,
  EVEX_MAP1,
  EVEX_MAP2,
  EVEX_MAP3,
  undefined,
  EVEX_MAP5,
  EVEX_MAP6,
  undefined,
];

/** True if the EVEX encoding (payload bytes, opcode, ModRM, SIB byte or -1) is a defined instruction. */
export function evexValid(
  mode: number,
  p0: number,
  p1: number,
  p2: number,
  op: number,
  modrm: number,
  sib: number,
): boolean {
  if (p0 & 0x08 || !(p1 & 0x04)) return false; // reserved bits
  const table = TABLES[p0 & 7];
  if (table === undefined) return false;
  const rows = table[((p1 & 3) << 8) | op];
  if (rows === undefined) return false;
  const w = p1 >>> 7;
  const vvvv = (p1 >>> 3) & 15; // inverted
  const z = p2 >>> 7;
  const ll = (p2 >>> 5) & 3;
  const b = (p2 >>> 4) & 1;
  const vBar = (p2 >>> 3) & 1; // V', inverted
  const aaa = p2 & 7;
  const rBar = (p0 >>> 4) & 1; // R', inverted
  if (mode !== 64 && vBar === 0) return false; // V' selects registers 16-31: 64-bit mode only
  // zeroing-masking without an opmask (z = 1, aaa = 000) is reserved: iced-x86 and XED decode it
  // as invalid (the SDM lists no instruction form for it)
  if (z && aaa === 0) return false;
  const isReg = modrm >>> 6 === 3;
  const reg = (modrm >>> 3) & 7;
  for (const r of rows) {
    const f = r.flags;
    if (!(r.w & (1 << w))) continue;
    if (!(r.regs & (1 << reg))) continue;
    if (f & F_MEM && isReg) continue;
    if (f & F_REG && !isReg) continue;
    if (f & F_SIB && sib < 0) continue;
    // vector length: with b on a register form, L'L is the rounding mode (ER) or ignored (SAE)
    if (isReg && b) {
      if (!(f & (F_ER | F_SAE))) continue;
    } else {
      if (!isReg && b && !(f & F_B)) continue;
      if (ll === 3) continue;
      if (!(r.l & L_IGNORED) && !(r.l & (1 << ll))) continue;
    }
    // (with VSIB, EVEX.V' extends the index register instead)
    if (f & F_NV && (vvvv !== 15 || (mode === 64 && vBar === 0 && !(f & F_SIB)))) continue;
    if (f & F_VK && mode === 64 && vBar === 0) continue;
    if (f & F_RR && mode === 64 && rBar === 0) continue;
    if (f & F_KR && (!(p0 & 0x80) || (mode === 64 && rBar === 0))) continue;
    if (f & F_VG && gatherDestinationIsIndex(mode, p0, vBar, modrm, sib)) continue;
    if (f & F_DST && sameRegister(mode, p0, vvvv, vBar, modrm, isReg)) continue;
    if (f & F_NOK && aaa !== 0) continue;
    if (f & F_KREQ && aaa === 0) continue;
    if (z && (f & F_NOZ || (f & F_NOZM && !isReg))) continue;
    return true;
  }
  return false;
}

/** Complex FP16 ops: is the destination (ModRM.reg) also a source (vvvv, or ModRM.rm)? */
function sameRegister(
  mode: number,
  p0: number,
  vvvv: number,
  vBar: number,
  modrm: number,
  isReg: boolean,
): boolean {
  const ext = mode === 64 ? 0x1f : 7;
  const dst = (((modrm >>> 3) & 7) | (((p0 >>> 7) ^ 1) << 3) | ((((p0 >>> 4) & 1) ^ 1) << 4)) & ext;
  const src1 = ((vvvv ^ 15) | ((vBar ^ 1) << 4)) & ext;
  const src2 = ((modrm & 7) | ((((p0 >>> 5) & 1) ^ 1) << 3) | ((((p0 >>> 6) & 1) ^ 1) << 4)) & ext;
  return dst === src1 || (isReg && dst === src2);
}

/** EVEX gathers: #UD if the destination is also the VSIB index register. */
function gatherDestinationIsIndex(
  mode: number,
  p0: number,
  vBar: number,
  modrm: number,
  sib: number,
): boolean {
  const ext = mode === 64 ? 0x1f : 7;
  const dst = (((modrm >>> 3) & 7) | (((p0 >>> 7) ^ 1) << 3) | ((((p0 >>> 4) & 1) ^ 1) << 4)) & ext;
  const index = (((sib >>> 3) & 7) | ((((p0 >>> 6) & 1) ^ 1) << 3) | ((vBar ^ 1) << 4)) & ext;
  return dst === index;
}
