// CPUID as a TD sees it: the simulated platform's native values, the TD's CPUID_CONFIG (TD_PARAMS) for
// the configurable leaves, and the values the module virtualises (leaf 0 max 0x23, 0x1.EBX APIC id,
// 0xD from XFAM, 0x15 from TSC_FREQUENCY, 0x21 "IntelTDX    "). Leaves outside the module's table
// (or forced by TDG.VP.CPUIDVE.SET) give #VE: the caller gets `false`.
import { CPUID_CONFIG_LEAVES, TSC_FREQUENCY_UNIT_HZ, XFAM_XSS_MASK } from "./abi/td-attributes.js";
import type { TdState } from "./td-state.js";

const NO_SUBLEAF = 0xffffffff;

function bits(...positions: number[]): number {
  let v = 0;
  for (const p of positions) v |= 1 << p;
  return v >>> 0;
}

/** FMS of the simulated CPU (family 6, model 0x8F, stepping 8: a Sapphire Rapids-like part). */
export const NATIVE_CPUID1_EAX = 0x000806f8;
export const CPUID_MAX_BASIC_LEAF = 0x23;
export const TDX_CPUID_LEAF_ID = 0x21;

type Regs4 = readonly [number, number, number, number];

/** Native CPUID of the simulated platform, keyed "leaf:subleaf" (subleaf NO_SUBLEAF when not indexed). */
const NATIVE = new Map<string, Regs4>([
  [`0:${NO_SUBLEAF}`, [CPUID_MAX_BASIC_LEAF, 0x756e6547, 0x6c65746e, 0x49656e69]],
  [
    `1:${NO_SUBLEAF}`,
    [
      NATIVE_CPUID1_EAX,
      0x00010800,
      bits(0, 1, 9, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29, 30, 31),
      bits(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 23, 24, 25, 26, 28),
    ],
  ],
  ["4:0", [0x1c004121, 0x02c0003f, 0x0000003f, 0]],
  ["4:1", [0x1c004122, 0x01c0003f, 0x0000003f, 0]],
  ["4:2", [0x1c004143, 0x03c0003f, 0x000007ff, 0]],
  ["4:3", [0x1c03c163, 0x0380003f, 0x0000ffff, 4]],
  ["7:0", [2, bits(0, 3, 5, 7, 8, 9, 10, 18, 19, 20, 23, 24, 29), bits(2, 3, 7, 8), bits(10, 14, 29, 31)]],
  ["7:1", [0, 0, 0, 0]],
  ["7:2", [0, 0, 0, 0]],
  [`10:${NO_SUBLEAF}`, [0, 0, 0, 0]],
  [`28:${NO_SUBLEAF}`, [0, 0, 0, 0]],
  ["35:0", [0, 0, 0, 0]],
  [`${0x80000000}:${NO_SUBLEAF}`, [0x80000008, 0, 0, 0]],
  [`${0x80000001}:${NO_SUBLEAF}`, [0, 0, bits(0, 5, 8), bits(11, 20, 26, 27, 29)]],
  [`${0x80000007}:${NO_SUBLEAF}`, [0, 0, 0, bits(8)]],
  [`${0x80000008}:${NO_SUBLEAF}`, [0x00003934, 0, 0, 0]],
]);

/** Leaves the module handles (others → #VE); subleaf-indexed ones list their valid subleaves. */
const HANDLED_PLAIN = new Set([
  0x0, 0x1, 0x3, 0x5, 0x8, 0xa, 0xe, 0x11, 0x12, 0x13, 0x15, 0x19, 0x1c, 0x1e, 0x20, 0x22, 0x80000000,
  0x80000001, 0x80000007, 0x80000008,
]);
const HANDLED_SUBLEAVES = new Map<number, number>([
  [0x4, 5],
  [0x7, 3],
  [0xd, 19],
  [0x14, 2],
  [0x1d, 2],
  [0x21, 1],
  [0x23, 4],
]);

function native(leaf: number, subleaf: number): Regs4 {
  return NATIVE.get(`${leaf}:${subleaf}`) ?? [0, 0, 0, 0];
}

/**
 * Bits the VMM may set in each CPUID_CONFIG slot (what TDH.SYS.RD CPUID_CONFIG_VALUES reports).
 * Simplified model of tdx_1.5's CONFIG_DIRECT/ALLOW_DIRECT tables (UNCONFIRMED per bit): a native
 * feature bit may be kept or cleared; CPUID(1).EAX (F/M/S) and 0x80000008.EAX[23:16] are free.
 */
export function configurableMask(slot: number): Regs4 {
  const [leaf, subleaf] = CPUID_CONFIG_LEAVES[slot];
  const n = native(leaf, subleaf);
  if (leaf === 1) return [0xffffffff, 0, n[2], n[3]];
  if (leaf === 0x80000008) return [0x00ff0000 | n[0], 0, 0, 0];
  return n;
}

/** Validates one CPUID_CONFIG slot; returns the value the TD will see, or undefined when a bit is not allowed. */
export function applyCpuidConfig(slot: number, input: Regs4): Regs4 | undefined {
  const mask = configurableMask(slot);
  for (let r = 0; r < 4; r++) if ((input[r] & ~mask[r]) !== 0) return undefined;
  const [leaf, subleaf] = CPUID_CONFIG_LEAVES[slot];
  const n = native(leaf, subleaf);
  if (leaf === 1) return [input[0] === 0 ? n[0] : input[0], n[1], input[2], input[3]];
  if (leaf === 0x80000008) return [(n[0] & 0xffff) | (input[0] & 0x00ff0000), 0, 0, 0];
  return [input[0] >>> 0, input[1] >>> 0, input[2] >>> 0, input[3] >>> 0];
}

const XSAVE_COMPONENTS: ReadonlyArray<readonly [bit: number, offset: number, size: number]> = [
  [2, 576, 256],
  [5, 1088, 64],
  [6, 1152, 512],
  [7, 1664, 1024],
  [9, 2688, 8],
];

function configured(td: TdState, leaf: number, subleaf: number): Regs4 | undefined {
  for (let i = 0; i < CPUID_CONFIG_LEAVES.length; i++) {
    const [l, s] = CPUID_CONFIG_LEAVES[i];
    if (l === leaf && (s === subleaf || s === NO_SUBLEAF)) {
      const c = td.cpuidConfig;
      return [c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]];
    }
  }
  return undefined;
}

/**
 * CPUID for a TD vCPU. Writes EAX, EBX, ECX, EDX into `out` and returns true, or returns false when
 * the module injects #VE instead. `cr4OsXsave` mirrors CR4.OSXSAVE into CPUID.1.ECX[27].
 */
export function tdCpuid(
  td: TdState,
  vcpuIndex: number,
  cpuidVe: number,
  cpl: number,
  leaf: number,
  subleaf: number,
  cr4OsXsave: boolean,
  out: Uint32Array | Int32Array,
): boolean {
  leaf >>>= 0;
  subleaf >>>= 0;
  if ((cpl === 0 && cpuidVe & 1) || (cpl > 0 && cpuidVe & 2)) return false;
  if (leaf >= 0x40000000 && leaf <= 0x4fffffff) return false;
  // Above the maximum of its range → the maximum basic leaf (SDM rule the module follows).
  if ((leaf > CPUID_MAX_BASIC_LEAF && leaf < 0x40000000) || leaf > 0x80000008) leaf = CPUID_MAX_BASIC_LEAF;
  const subleafCount = HANDLED_SUBLEAVES.get(leaf);
  if (subleafCount === undefined && !HANDLED_PLAIN.has(leaf)) return false;
  if (subleafCount !== undefined && subleaf >= subleafCount) {
    out[0] = out[1] = out[2] = out[3] = 0;
    return true;
  }
  const key = subleafCount === undefined ? NO_SUBLEAF : subleaf;
  const v = configured(td, leaf, key) ?? native(leaf, key);
  let eax = v[0];
  let ebx = v[1];
  let ecx = v[2];
  let edx = v[3];
  switch (leaf) {
    case 0x1:
      ebx = ((ebx & 0x00ffffff) | ((vcpuIndex & 0xff) << 24)) >>> 0;
      ecx = cr4OsXsave ? (ecx | (1 << 27)) >>> 0 : (ecx & ~(1 << 27)) >>> 0;
      ecx = (ecx | (1 << 31)) >>> 0; // HYPERVISOR
      break;
    case 0xd:
      [eax, ebx, ecx, edx] = xsaveLeaf(td.xfam, subleaf);
      break;
    case 0x15:
      eax = 1;
      ebx = td.tscFrequency;
      ecx = TSC_FREQUENCY_UNIT_HZ;
      edx = 0;
      break;
    case TDX_CPUID_LEAF_ID:
      eax = 0;
      ebx = 0x65746e49; // "Inte"
      edx = 0x5844546c; // "lTDX"
      ecx = 0x20202020; // "    "
      break;
  }
  out[0] = eax;
  out[1] = ebx;
  out[2] = ecx;
  out[3] = edx;
  return true;
}

function xsaveLeaf(xfam: bigint, subleaf: number): Regs4 {
  const user = Number(xfam & ~XFAM_XSS_MASK & 0xffffffffn);
  const sup = Number(xfam & XFAM_XSS_MASK);
  const size = (mask: number) => {
    let s = 576;
    for (const [bit, off, sz] of XSAVE_COMPONENTS) if (mask & (1 << bit)) s = Math.max(s, off + sz);
    return s;
  };
  if (subleaf === 0) return [user >>> 0, size(user), size(user), 0];
  if (subleaf === 1) return [0xf, size(user | sup), sup >>> 0, 0];
  for (const [bit, off, sz] of XSAVE_COMPONENTS)
    if (bit === subleaf && user & (1 << bit)) return [sz, off, 0, 0];
  return [0, 0, 0, 0];
}
