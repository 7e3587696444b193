// The decoder's view of the instruction table: typed arrays built once from FORMS.
import {
  FL_A16,
  FL_A32,
  FL_A64,
  FL_D64,
  FL_F64,
  FL_I64,
  FL_NREXB,
  FL_O64,
  FL_OS16,
  FL_OS32,
  FL_OS64,
  FORMS,
  MP_66,
  MP_ANY,
  MP_F2,
  MP_F3,
  MP_NP,
} from "../isa/forms.js";
import { OPERAND_KIND_LIST } from "../isa/operand-kinds.js";

const nForms = FORMS.length;
const kindIds = new Map(OPERAND_KIND_LIST.map((k, i) => [k, i]));

export const F_MP = new Uint8Array(nForms);
export const F_W = new Int8Array(nForms);
export const F_REG = new Int8Array(nForms);
export const F_FIXED = new Int16Array(nForms);
export const F_MODREQ = new Uint8Array(nForms);
export const F_FLAGS = new Int32Array(nForms);
export const F_OP = new Int32Array(nForms);
export const F_NOPS = new Uint8Array(nForms);
/** operand kind ids, 4 per form (-1 = none); the kind may be a +r variant (see K_*) */
export const F_KIND = new Int16Array(nForms * 4).fill(-1);
/** allowed operand sizes (bit mask, 0 = any) */
export const F_OSREQ = new Uint8Array(nForms);

/** 1 if a form needs any check beyond its slot (prefix, REX.W, ModRM, mode, size); 0 = take it. */
export const F_CHECK = new Uint8Array(nForms);
/** how the operand size is computed: 0 normal, 1 d64, 2 f64; +4 if a 66 prefix is mandatory (not a size prefix) */
export const F_OSZRULE = new Uint8Array(nForms);

const nKinds = OPERAND_KIND_LIST.length;
// +r forms store a copy of the kind with loc = LOC_OPREG: give those copies their own ids.
const extraKinds: (typeof OPERAND_KIND_LIST)[number][] = [];
function kindId(k: (typeof OPERAND_KIND_LIST)[number]): number {
  const id = kindIds.get(k);
  if (id !== undefined) return id;
  let j = extraKinds.findIndex((e) => e.name === k.name && e.loc === k.loc);
  if (j < 0) {
    extraKinds.push(k);
    j = extraKinds.length - 1;
  }
  return nKinds + j;
}

for (const f of FORMS) {
  F_MP[f.id] = f.mp;
  F_W[f.id] = f.w;
  F_REG[f.id] = f.regDigit;
  F_FIXED[f.id] = f.modrmFixed;
  F_MODREQ[f.id] = f.modReq;
  F_FLAGS[f.id] = f.flags;
  F_OP[f.id] = f.op;
  F_NOPS[f.id] = f.operands.length;
  f.operands.forEach((o, i) => {
    F_KIND[f.id * 4 + i] = kindId(o);
  });
  // bit mask of allowed operand sizes: 2 → 1, 4 → 2, 8 → 4 (o16/o32/o64s; none = any)
  F_OSREQ[f.id] = (f.flags & FL_OS16 ? 1 : 0) | (f.flags & FL_OS32 ? 2 : 0) | (f.flags & FL_OS64 ? 4 : 0);
  const modeFlags = FL_O64 | FL_I64 | FL_NREXB | FL_A16 | FL_A32 | FL_A64;
  F_CHECK[f.id] =
    f.mp !== MP_ANY || f.w >= 0 || f.modrmFixed >= 0 || f.modReq !== 0 || f.flags & modeFlags || F_OSREQ[f.id]
      ? 1
      : 0;
  F_OSZRULE[f.id] = (f.flags & FL_F64 ? 2 : f.flags & FL_D64 ? 1 : 0) + (f.mp === MP_66 ? 4 : 0);
}

const allKinds = [...OPERAND_KIND_LIST, ...extraKinds];
export const K_LOC = Uint8Array.from(allKinds, (k) => k.loc);
export const K_CLS = Uint8Array.from(allKinds, (k) => k.cls);
export const K_SIZE = Int16Array.from(allKinds, (k) => k.size);
export const K_MEMSIZE = Int16Array.from(allKinds, (k) => k.memSize);
export const K_FIXED = Int8Array.from(allKinds, (k) => k.fixedReg);
export const K_SIGNED = Uint8Array.from(allKinds, (k) => (k.signed ? 1 : 0));
export const K_IMMSIZE = Int8Array.from(allKinds, (k) => k.immSize);

/** Slots: map * 256 + opcode → a run of candidate form ids in SLOT_LIST, in match order. */
export const SLOT_START = new Int32Array(1024);
export const SLOT_COUNT = new Int32Array(1024);
/** 1 if the slot's forms have a ModRM byte (all forms of one slot agree; checked below). */
export const SLOT_MODRM = new Uint8Array(1024);

const MP_RANK = [2, 1, 0, 0, 0];
const slots: number[][] = Array.from({ length: 1024 }, () => []);
for (const f of FORMS) {
  const n = f.plusR ? 8 : 1;
  for (let i = 0; i < n; i++) slots[f.map * 256 + f.opcode + i].push(f.id);
}
const list: number[] = [];
slots.forEach((ids, slot) => {
  // mandatory-prefix forms before NP forms before legacy forms, REX.W-specific forms first;
  // table order otherwise
  const wRank = (id: number) => (FORMS[id].w >= 0 ? 0 : 1);
  ids.sort((a, b) => MP_RANK[FORMS[a].mp] - MP_RANK[FORMS[b].mp] || wRank(a) - wRank(b) || a - b);
  SLOT_START[slot] = list.length;
  SLOT_COUNT[slot] = ids.length;
  list.push(...ids);
  const withModrm = ids.filter((id) => FORMS[id].hasModrm).length;
  if (withModrm !== 0 && withModrm !== ids.length) {
    throw new Error(`instruction table: slot ${slot.toString(16)} mixes forms with and without ModRM`);
  }
  SLOT_MODRM[slot] = withModrm ? 1 : 0;
});
export const SLOT_LIST = Int32Array.from(list);

/**
 * ModRM slots, second level: (slot << 3 | ModRM.reg) → the slot's candidates whose reg digit
 * matches (or that have none), in the same order; most lists have one entry.
 */
export const REG_START = new Int32Array(1024 * 8);
export const REG_COUNT = new Int32Array(1024 * 8);
const regList: number[] = [];
slots.forEach((ids, slot) => {
  if (!SLOT_MODRM[slot]) return;
  for (let reg = 0; reg < 8; reg++) {
    const sub = ids.filter((id) => FORMS[id].regDigit < 0 || FORMS[id].regDigit === reg);
    REG_START[(slot << 3) | reg] = regList.length;
    REG_COUNT[(slot << 3) | reg] = sub.length;
    regList.push(...sub);
  }
});
export const REG_LIST = Int32Array.from(regList);

export { MP_66, MP_ANY, MP_F2, MP_F3, MP_NP };
