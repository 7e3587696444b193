// Which VEX-encoded instructions exist in opcode map 0F (AVX forms of SSE instructions), derived
// from the table's SSE rows: the executor runs none of them (ST_UNSUPPORTED), but the decoder
// classifies undefined VEX encodings as #UD like the CPU. Maps 0F38/0F3A and EVEX/XOP are not
// modelled (every well-formed encoding there counts as an unsupported instruction).
import { FL_SSE, FL_UNSUP, FORMS, MAP_0F, MP_66, MP_F2, MP_F3, MP_NP } from "../isa/forms.js";
import { CLS_MM } from "../isa/operand-kinds.js";

/** Per (pp << 8 | opcode) << 3 | ModRM.reg: bit 0 = register form exists, bit 1 = memory form exists. */
export const VEX1_FORMS = new Uint8Array(4 * 256 * 8);
/** Per pp << 8 | opcode: bit 0 = VEX.vvvv unused (must be 1111b), bit 1 = VEX.L must be 0, bit 2 = VEX.L must be 1. */
export const VEX1_RULES = new Uint8Array(4 * 256);

const PP_OF_MP: Record<number, number> = { [MP_NP]: 0, [MP_66]: 1, [MP_F3]: 2, [MP_F2]: 3 };

for (const f of FORMS) {
  if (f.map !== MAP_0F || !(f.flags & FL_SSE) || f.flags & FL_UNSUP) continue;
  const pp = PP_OF_MP[f.mp];
  if (pp === undefined || f.operands.some((k) => k.cls === CLS_MM)) continue; // MMX: no VEX form
  for (let reg = 0; reg < 8; reg++) {
    if (f.regDigit >= 0 && f.regDigit !== reg) continue;
    VEX1_FORMS[(((pp << 8) | f.opcode) << 3) | reg] |= f.modReq === 1 ? 2 : f.modReq === 2 ? 1 : 3;
  }
}
// VLDMXCSR / VSTMXCSR (NP 0F AE /2, /3: memory, L0, no vvvv); VZEROUPPER/VZEROALL (NP 0F 77)
VEX1_FORMS[(0xae << 3) | 2] = 2;
VEX1_FORMS[(0xae << 3) | 3] = 2;
for (let reg = 0; reg < 8; reg++) VEX1_FORMS[(0x77 << 3) | reg] = 3;
// SSE forms without a VEX version
for (const [pp, op] of [
  [1, 0x2a],
  [1, 0x2c],
  [1, 0x2d],
  [0, 0x2a],
  [0, 0x2c],
  [0, 0x2d],
]) {
  for (let reg = 0; reg < 8; reg++) VEX1_FORMS[(((pp << 8) | op) << 3) | reg] = 0;
}

// AVX-512 opmask instructions, VEX-encoded in map 0F (KAND…KXOR, KNOT, KUNPCK, KMOV, KORTEST,
// KTEST): register forms only except KMOV 90 (k/m) and 91 (m), per pp
const kmask = (pps: number[], ops: number[], forms: number) => {
  for (const pp of pps)
    for (const op of ops) for (let reg = 0; reg < 8; reg++) VEX1_FORMS[(((pp << 8) | op) << 3) | reg] = forms;
};
kmask([0, 1], [0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x4a, 0x4b, 0x98, 0x99], 1);
kmask([0, 1], [0x90], 3);
kmask([0, 1], [0x91], 2);
kmask([0, 1, 3], [0x92, 0x93], 1);

const rule = (pp: number, ops: number[], bits: number) => {
  for (const op of ops) VEX1_RULES[(pp << 8) | op] |= bits;
};
const NO_VVVV = 1;
const L0 = 2;
// two-operand forms (moves, conversions, unary ops): VEX.vvvv must be 1111b
rule(
  0,
  [0x10, 0x11, 0x13, 0x17, 0x28, 0x29, 0x2b, 0x2e, 0x2f, 0x50, 0x51, 0x52, 0x53, 0x5a, 0x5b, 0x77, 0xae],
  NO_VVVV,
);
rule(1, [0x10, 0x11, 0x13, 0x17, 0x28, 0x29, 0x2b, 0x2e, 0x2f, 0x50, 0x51, 0x5a, 0x5b], NO_VVVV);
rule(1, [0x6e, 0x6f, 0x70, 0x7e, 0x7f, 0xc5, 0xd6, 0xd7, 0xe6, 0xe7, 0xf7], NO_VVVV);
rule(2, [0x12, 0x16, 0x2c, 0x2d, 0x5b, 0x6f, 0x70, 0x7e, 0x7f, 0xe6], NO_VVVV);
rule(3, [0x12, 0x2c, 0x2d, 0x70, 0xe6, 0xf0], NO_VVVV);
const L1 = 4;
const KMASK = 8; // opmask instruction: k registers only (VEX.R = 0, vvvv < 8)
for (const pp of [0, 1, 3])
  rule(pp, [0x41, 0x42, 0x44, 0x45, 0x46, 0x47, 0x4a, 0x4b, 0x90, 0x91, 0x92, 0x93, 0x98, 0x99], KMASK);
rule(0, [0x41, 0x42, 0x45, 0x46, 0x47, 0x4a, 0x4b], L1);
rule(1, [0x41, 0x42, 0x45, 0x46, 0x47, 0x4a, 0x4b], L1);
for (const pp of [0, 1]) rule(pp, [0x44, 0x90, 0x91, 0x92, 0x93, 0x98, 0x99], NO_VVVV | L0);
rule(3, [0x92, 0x93], NO_VVVV | L0);
// 128-bit only
rule(0, [0x12, 0x13, 0x16, 0x17, 0xae], L0);
rule(1, [0x12, 0x13, 0x16, 0x17, 0x6e, 0x7e, 0xc4, 0xc5, 0xd6, 0xf7], L0);
rule(2, [0x7e], L0);

/** MOVSS/MOVSD (F3/F2 0F 10/11): the memory forms take no vvvv, the register forms do. */
export function vex1Valid(
  pp: number,
  op: number,
  modrm: number,
  vvvvRaw: number,
  l: number,
  rBar: number,
): boolean {
  const key = (pp << 8) | op;
  const reg = modrm < 0 ? 0 : (modrm >>> 3) & 7;
  const isReg = modrm < 0 || modrm >>> 6 === 3;
  const forms = VEX1_FORMS[(key << 3) | reg];
  if (!(forms & (isReg ? 1 : 2))) return false;
  const r = VEX1_RULES[key];
  const scalarMove = (pp === 2 || pp === 3) && (op === 0x10 || op === 0x11);
  if ((r & NO_VVVV || (scalarMove && !isReg)) && vvvvRaw !== 15) return false;
  if (r & L0 && l !== 0) return false;
  if (r & L1 && l !== 1) return false;
  // opmask registers are k0-k7: no VEX.R extension of ModRM.reg, no vvvv above 7 (stored inverted)
  // (KMOV r, k — opcode 93 — has a general register in ModRM.reg, which VEX.R may extend)
  if (r & KMASK) {
    if (rBar === 0 && op !== 0x93) return false;
    if (vvvvRaw < 8) return false;
  }
  return true;
}
