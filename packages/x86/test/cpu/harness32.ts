// A 32-bit protected-mode guest (paging off) with segmented descriptors for the limit and
// type checks, a 32-bit TSS with an I/O permission bitmap, and an IDT of 32-bit interrupt gates
// whose 256 vectors point at `hlt` stubs (after an exception: stop "hlt", EIP = STUBS32 +
// vector * 16 + 1, error code at [ESP] when there is one).
import { SparseMemory } from "@tdxsim/memory";
import { assembleText } from "../../src/asm/index.js";
import {
  AR_DB,
  AR_G,
  AR_P,
  AR_S,
  Cpu,
  CR0_ET,
  CR0_PE,
  CR4_OSFXSR,
  FlatGuestPhysicalMap,
  type GuestPhysicalMap,
  SEG_CS,
  SEG_SS,
  SEG_TR,
  setSegment,
  writeGuestPhysical,
  writeRflags,
} from "../../src/index.js";

export const CODE32 = 0x100000;
export const STUBS32 = 0x200000;
export const STACK32 = 0x80000;
export const RING0_STACK32 = 0x90000;
const GDT = 0x5000;
const IDT = 0x6000;
export const TSS32 = 0x8000;
/** I/O map offset inside the TSS; the map covers all 65536 ports plus the 0xff terminator. */
export const IOMAP = 0x68;

/** Selectors of the guest's GDT. */
export const SEL = {
  code: 0x08,
  data: 0x10,
  /** data at base 0x300000, limit 0xfff */
  small: 0x18,
  /** read-only flat data */
  readOnly: 0x20,
  /** expand-down data, limit 0xfff, B=1: offsets 0x1000..0xffffffff */
  down: 0x28,
  /** writable stack data at base 0, limit 0xffff, DPL 3 */
  userStack: 0x33,
  userCode: 0x3b,
  userData: 0x43,
  tss: 0x48,
  /** execute-only flat code */
  execOnly: 0x50,
} as const;

const DESCRIPTORS: bigint[] = [
  0n,
  0x00cf9a000000ffffn, // 0x08 code32 flat
  0x00cf92000000ffffn, // 0x10 data32 flat
  0x0040923000000fffn, // 0x18 data, base 0x300000, limit 0xfff (byte granular)
  0x00cf90000000ffffn, // 0x20 read-only data flat
  0x0040960000000fffn, // 0x28 expand-down data, limit 0xfff, B=1
  0x0040f2000000ffffn, // 0x30 data DPL3, limit 0xffff, B=1
  0x00cffa000000ffffn, // 0x38 code32 DPL3 flat
  0x00cff2000000ffffn, // 0x40 data32 DPL3 flat
  0n, // 0x48 TSS (filled below)
  0x00cf98000000ffffn, // 0x50 execute-only code32 flat
];

export interface Guest32 {
  cpu: Cpu;
  mem: SparseMemory;
  map: GuestPhysicalMap;
  labels: Map<string, bigint>;
}

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export function guest32(source: string, opts: { user?: boolean } = {}): Guest32 {
  const mem = new SparseMemory(16 * 1024 * 1024);
  const map = new FlatGuestPhysicalMap(mem);
  const cpu = new Cpu({ map });
  const w = (gpa: number, b: Uint8Array) => writeGuestPhysical(map, gpa, b);
  const tssLimit = IOMAP + 8192;
  DESCRIPTORS[SEL.tss >> 3] =
    BigInt(tssLimit & 0xffff) | (BigInt(TSS32) << 16n) | (0x89n << 40n) | (BigInt(tssLimit >> 16) << 48n);
  DESCRIPTORS.forEach((d, i) => {
    w(GDT + i * 8, u64(d));
  });
  for (let v = 0; v < 256; v++) {
    const target = STUBS32 + v * 16;
    const gate =
      BigInt(target & 0xffff) | (BigInt(SEL.code) << 16n) | (0x8en << 40n) | (BigInt(target >>> 16) << 48n);
    w(IDT + v * 8, u64(gate));
    w(STUBS32 + v * 16, new Uint8Array([0xf4]));
  }
  const tss = new DataView(new ArrayBuffer(IOMAP + 8193));
  tss.setUint32(4, RING0_STACK32, true); // ESP0
  tss.setUint32(8, SEL.data, true); // SS0
  tss.setUint16(102, IOMAP, true);
  for (let i = 0; i < 8192; i++) tss.setUint8(IOMAP + i, 0xff); // every port denied ...
  tss.setUint8(IOMAP + (0x3f8 >> 3), 0x00); // ... but 0x3f8-0x3ff
  tss.setUint8(IOMAP + 8192, 0xff);
  w(TSS32, new Uint8Array(tss.buffer));
  const { bytes, labels } = assembleText(source, { mode: 32, origin: CODE32 });
  w(CODE32, bytes);

  const st = cpu.st;
  st.cr0 = CR0_PE | CR0_ET;
  st.cr4 = CR4_OSFXSR;
  st.efer = 0;
  st.gdtrBaseLo = GDT;
  st.gdtrLimit = DESCRIPTORS.length * 8 - 1;
  st.idtrBaseLo = IDT;
  st.idtrLimit = 256 * 8 - 1;
  const user = opts.user === true;
  const data = AR_P | AR_S | 0x3 | AR_DB | AR_G | (user ? 3 << 5 : 0);
  for (let s = 0; s < 6; s++) setSegment(st.seg, s, user ? SEL.userData : SEL.data, 0, 0, -1, data);
  setSegment(
    st.seg,
    SEG_CS,
    user ? SEL.userCode : SEL.code,
    0,
    0,
    -1,
    AR_P | AR_S | 0xb | AR_DB | AR_G | (user ? 3 << 5 : 0),
  );
  if (user) setSegment(st.seg, SEG_SS, SEL.userStack, 0, 0, 0xffff, AR_P | AR_S | 0x3 | AR_DB | (3 << 5));
  setSegment(st.seg, SEG_TR, SEL.tss, TSS32, 0, tssLimit, AR_P | 0xb);
  writeRflags(st.r, 0x2);
  st.r[32] = CODE32;
  st.r[8] = user ? 0x8000 : STACK32;
  cpu.syncMode();
  return { cpu, mem, map, labels };
}

export const eip32 = (cpu: Cpu): number => cpu.r[32] >>> 0;
export const stubVector32 = (cpu: Cpu): number => (eip32(cpu) - 1 - STUBS32) / 16;
