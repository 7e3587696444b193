// The register-access API for the layers above (KVM_GET/SET_REGS, KVM_GET/SET_SREGS,
// KVM_GET/SET_MSRS-style access). BigInt lives only here; field names follow struct
// kvm_regs / kvm_sregs / kvm_segment / kvm_dtable (arch/x86/include/uapi/asm/kvm.h).

import { X86Exception } from "./exception.js";
import { readRflags, writeRflags } from "./flags.js";
import { isMsrHandled, msrName, readMsr, writeApicBase, writeMsr } from "./msr.js";
import { GPR_NAMES, OUT_HI, RIP_HI, RIP_LO } from "./regs.js";
import {
  AR_AVL,
  AR_DB,
  AR_DPL_SHIFT,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  AR_UNUSABLE,
  S_ATTR,
  S_BASE_HI,
  S_BASE_LO,
  S_LIMIT,
  S_SEL,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_LDTR,
  SEG_SS,
  SEG_STRIDE,
  SEG_TR,
} from "./segment.js";
import type { CpuState } from "./state.js";

const M64 = (1n << 64n) - 1n;

export interface Regs {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}

export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

export interface DescriptorTable {
  base: bigint;
  limit: number;
}

export interface Sregs {
  cs: Segment;
  ds: Segment;
  es: Segment;
  fs: Segment;
  gs: Segment;
  ss: Segment;
  tr: Segment;
  ldt: Segment;
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
}

const join = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

function check64(field: string, v: bigint): void {
  if (typeof v !== "bigint" || v < 0n || v > M64) {
    throw new RangeError(`${field}: expected a bigint in [0, 2^64), got ${String(v)}`);
  }
}
const loOf = (v: bigint): number => Number(v & 0xffffffffn) | 0;
const hiOf = (v: bigint): number => Number(v >> 32n) | 0;

export function getRegs(cpu: CpuState): Regs {
  const r = cpu.r;
  const out = {} as Record<string, bigint>;
  GPR_NAMES.forEach((name, n) => {
    out[name] = join(r[n << 1], r[(n << 1) | 1]);
  });
  out.rip = join(r[RIP_LO], r[RIP_HI]);
  out.rflags = BigInt(readRflags(r));
  return out as unknown as Regs;
}

/** Set every general register, RIP and RFLAGS (reserved RFLAGS bits must be clear, bit 1 is forced). */
export function setRegs(cpu: CpuState, regs: Regs): void {
  for (const name of [...GPR_NAMES, "rip", "rflags"] as const) check64(name, regs[name]);
  if (regs.rflags >> 32n !== 0n)
    throw new RangeError(`rflags: bits 63:32 are reserved (0x${regs.rflags.toString(16)})`);
  const r = cpu.r;
  GPR_NAMES.forEach((name, n) => {
    r[n << 1] = loOf(regs[name]);
    r[(n << 1) | 1] = hiOf(regs[name]);
  });
  r[RIP_LO] = loOf(regs.rip);
  r[RIP_HI] = hiOf(regs.rip);
  writeRflags(r, Number(regs.rflags));
}

const SREG_FIELDS: [keyof Sregs, number][] = [
  ["es", SEG_ES],
  ["cs", SEG_CS],
  ["ss", SEG_SS],
  ["ds", SEG_DS],
  ["fs", SEG_FS],
  ["gs", SEG_GS],
  ["ldt", SEG_LDTR],
  ["tr", SEG_TR],
];

function readSegment(cpu: CpuState, seg: number): Segment {
  const i = seg * SEG_STRIDE;
  const s = cpu.seg;
  const ar = s[i + S_ATTR];
  return {
    base: join(s[i + S_BASE_LO], s[i + S_BASE_HI]),
    limit: s[i + S_LIMIT] >>> 0,
    selector: s[i + S_SEL] & 0xffff,
    type: ar & 0xf,
    present: ar & AR_P ? 1 : 0,
    dpl: (ar >>> AR_DPL_SHIFT) & 3,
    db: ar & AR_DB ? 1 : 0,
    s: ar & AR_S ? 1 : 0,
    l: ar & AR_L ? 1 : 0,
    g: ar & AR_G ? 1 : 0,
    avl: ar & AR_AVL ? 1 : 0,
    unusable: ar & AR_UNUSABLE ? 1 : 0,
  };
}

function writeSegment(cpu: CpuState, name: string, seg: number, v: Segment): void {
  check64(`${name}.base`, v.base);
  const small = (field: keyof Segment, max: number) => {
    const x = v[field] as number;
    if (!Number.isInteger(x) || x < 0 || x > max)
      throw new RangeError(`${name}.${field}: ${x} out of range 0..${max}`);
  };
  small("limit", 0xffffffff);
  small("selector", 0xffff);
  small("type", 15);
  small("dpl", 3);
  for (const f of ["present", "db", "s", "l", "g", "avl", "unusable"] as const) small(f, 1);
  const ar =
    v.type |
    (v.s ? AR_S : 0) |
    (v.dpl << AR_DPL_SHIFT) |
    (v.present ? AR_P : 0) |
    (v.avl ? AR_AVL : 0) |
    (v.l ? AR_L : 0) |
    (v.db ? AR_DB : 0) |
    (v.g ? AR_G : 0) |
    (v.unusable ? AR_UNUSABLE : 0);
  const i = seg * SEG_STRIDE;
  const s = cpu.seg;
  s[i + S_SEL] = v.selector;
  s[i + S_BASE_LO] = loOf(v.base);
  s[i + S_BASE_HI] = hiOf(v.base);
  s[i + S_LIMIT] = v.limit | 0;
  s[i + S_ATTR] = ar;
}

export function getSregs(cpu: CpuState): Sregs {
  const out = {} as Record<string, unknown>;
  for (const [name, seg] of SREG_FIELDS) out[name] = readSegment(cpu, seg);
  out.gdt = { base: join(cpu.gdtrBaseLo, cpu.gdtrBaseHi), limit: cpu.gdtrLimit };
  out.idt = { base: join(cpu.idtrBaseLo, cpu.idtrBaseHi), limit: cpu.idtrLimit };
  out.cr0 = BigInt(cpu.cr0 >>> 0);
  out.cr2 = join(cpu.cr2Lo, cpu.cr2Hi);
  out.cr3 = join(cpu.cr3Lo, cpu.cr3Hi);
  out.cr4 = BigInt(cpu.cr4 >>> 0);
  out.cr8 = BigInt(cpu.cr8);
  out.efer = BigInt(cpu.efer >>> 0);
  out.apicBase = getMsr(cpu, 0x1b);
  return out as unknown as Sregs;
}

/**
 * Host-side state load (like KVM_SET_SREGS): values are stored as given, without the
 * guest-instruction #GP checks — but values that no CPU can hold are refused.
 */
export function setSregs(cpu: CpuState, sregs: Sregs): void {
  for (const [name, seg] of SREG_FIELDS) writeSegment(cpu, name, seg, sregs[name] as Segment);
  for (const t of ["gdt", "idt"] as const) {
    check64(`${t}.base`, sregs[t].base);
    if (!Number.isInteger(sregs[t].limit) || sregs[t].limit < 0 || sregs[t].limit > 0xffff) {
      throw new RangeError(`${t}.limit: ${sregs[t].limit} out of range 0..0xffff`);
    }
  }
  for (const f of ["cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apicBase"] as const) check64(f, sregs[f]);
  if (sregs.cr0 >> 32n) throw new RangeError("cr0: bits 63:32 are reserved");
  if (sregs.cr4 >> 32n || Number(sregs.cr4) & ~cpu.config.cr4Supported) {
    throw new RangeError(`cr4: unsupported bits in 0x${sregs.cr4.toString(16)}`);
  }
  if (sregs.cr8 > 15n) throw new RangeError("cr8: bits 63:4 are reserved");
  if (sregs.efer >> 32n || Number(sregs.efer) & ~0xd01) {
    throw new RangeError(`efer: reserved bits in 0x${sregs.efer.toString(16)}`);
  }
  cpu.gdtrBaseLo = loOf(sregs.gdt.base);
  cpu.gdtrBaseHi = hiOf(sregs.gdt.base);
  cpu.gdtrLimit = sregs.gdt.limit;
  cpu.idtrBaseLo = loOf(sregs.idt.base);
  cpu.idtrBaseHi = hiOf(sregs.idt.base);
  cpu.idtrLimit = sregs.idt.limit;
  cpu.cr0 = Number(sregs.cr0) | 0;
  cpu.cr2Lo = loOf(sregs.cr2);
  cpu.cr2Hi = hiOf(sregs.cr2);
  cpu.cr3Lo = loOf(sregs.cr3);
  cpu.cr3Hi = hiOf(sregs.cr3);
  cpu.cr4 = Number(sregs.cr4) | 0;
  cpu.cr8 = Number(sregs.cr8);
  cpu.efer = Number(sregs.efer);
  try {
    writeApicBase(cpu, loOf(sregs.apicBase), hiOf(sregs.apicBase), true);
  } catch (e) {
    if (e instanceof X86Exception)
      throw new RangeError(`apicBase = 0x${sregs.apicBase.toString(16)}: ${e.message}`);
    throw e;
  }
}

/** Read an MSR the core implements; throws RangeError naming the MSR otherwise. */
export function getMsr(cpu: CpuState, index: number): bigint {
  if (!isMsrHandled(index)) throw new RangeError(`${msrName(index)} is not implemented by the CPU core`);
  try {
    const lo = readMsr(cpu, index);
    return join(lo, cpu.r[OUT_HI]);
  } catch (e) {
    if (e instanceof X86Exception) throw new RangeError(`${msrName(index)} cannot be read: ${e.message}`);
    throw e;
  }
}

/** Write an MSR with the same validity checks as a guest WRMSR; a #GP becomes a RangeError. */
export function setMsr(cpu: CpuState, index: number, value: bigint): void {
  if (!isMsrHandled(index)) throw new RangeError(`${msrName(index)} is not implemented by the CPU core`);
  check64(msrName(index), value);
  try {
    writeMsr(cpu, index, loOf(value), hiOf(value));
  } catch (e) {
    if (e instanceof X86Exception)
      throw new RangeError(`${msrName(index)} = 0x${value.toString(16)}: ${e.message}`);
    throw e;
  }
}
