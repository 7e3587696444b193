// The guest-state rules of a normal VM's vCPU: what KVM_SET_SREGS refuses with EINVAL
// (kvm_is_valid_sregs, kvm_is_valid_cr0/cr4, kvm_apic_set_base; arch/x86/kvm/x86.c, lapic.c) and
// the VMX checks on guest state at VM entry (SDM Vol. 3C "Checks on the Guest State Area") that
// KVM leaves to the hardware: a state that passes KVM_SET_SREGS but fails them makes KVM_RUN
// report KVM_EXIT_FAIL_ENTRY with hardware_entry_failure_reason = 0x80000021 (VM-entry failure,
// exit reason 33 "invalid guest state"). KVM runs with unrestricted guest, so real mode and
// unpaged protected mode are valid states (the x86 core then refuses 16-bit code itself).
import type { Segment, Sregs } from "@tdxsim/x86";
import { CPUID_1_ECX_X2APIC, type VcpuCpuid } from "./vcpu-cpuid.js";

const CR0_PE = 1n << 0n;
const CR0_NW = 1n << 29n;
const CR0_CD = 1n << 30n;
const CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n;
const CR4_PCIDE = 1n << 17n;
const EFER_LME = 1n << 8n;
const EFER_LMA = 1n << 10n;

/** VMX_EXIT_REASONS_FAILED_VMENTRY | EXIT_REASON_INVALID_STATE: KVM's fail_entry reason. */
export const VMX_ENTRY_FAILURE_INVALID_GUEST_STATE = 0x80000021n;

/** CR4 bits KVM treats as reserved unless the vCPU's CPUID has the feature (__cr4_reserved_bits). */
const CR4_CPUID_GATES: readonly { cr4Bit: number; leaf: number; reg: "ebx" | "ecx" | "edx"; bit: number }[] =
  [
    { cr4Bit: 18, leaf: 1, reg: "ecx", bit: 26 }, // OSXSAVE ← XSAVE
    { cr4Bit: 20, leaf: 7, reg: "ebx", bit: 7 }, // SMEP
    { cr4Bit: 21, leaf: 7, reg: "ebx", bit: 20 }, // SMAP
    { cr4Bit: 16, leaf: 7, reg: "ebx", bit: 0 }, // FSGSBASE
    { cr4Bit: 22, leaf: 7, reg: "ecx", bit: 3 }, // PKE ← PKU
    { cr4Bit: 12, leaf: 7, reg: "ecx", bit: 16 }, // LA57
    { cr4Bit: 11, leaf: 7, reg: "ecx", bit: 2 }, // UMIP
    { cr4Bit: 13, leaf: 1, reg: "ecx", bit: 5 }, // VMXE ← VMX
    { cr4Bit: 17, leaf: 1, reg: "ecx", bit: 17 }, // PCIDE ← PCID
  ];
/** CR4.CET needs SHSTK (7.0:ECX[7]) or IBT (7.0:EDX[20]). */
const CR4_CET_BIT = 23;

function cpuidHas(cpuid: VcpuCpuid, leaf: number, reg: "ebx" | "ecx" | "edx", bit: number): boolean {
  const e = cpuid.find(leaf, 0);
  return e !== undefined && ((e[reg] >>> bit) & 1) === 1;
}

/** cpuid_query_maxphyaddr(): CPUID 0x80000008 EAX[7:0] when the model has it, else 36. */
export function guestMaxPhysAddr(cpuid: VcpuCpuid): number {
  const ext = cpuid.find(0x80000000, 0);
  const e = cpuid.find(0x80000008, 0);
  if (!ext || ext.eax >>> 0 < 0x80000008 || !e) return 36;
  return e.eax & 0xff;
}

/** The CR4 bits the vCPU may not set: what the CPU cannot do, plus what its CPUID does not offer. */
export function cr4ReservedBits(cpuid: VcpuCpuid, cpuSupported: number): bigint {
  let reserved = ~BigInt(cpuSupported >>> 0) & 0xffff_ffff_ffff_ffffn;
  for (const g of CR4_CPUID_GATES)
    if (!cpuidHas(cpuid, g.leaf, g.reg, g.bit)) reserved |= 1n << BigInt(g.cr4Bit);
  if (!cpuidHas(cpuid, 7, "ecx", 7) && !cpuidHas(cpuid, 7, "edx", 20)) reserved |= 1n << BigInt(CR4_CET_BIT);
  return reserved;
}

/** kvm_is_valid_sregs() and kvm_apic_set_base(): the reason KVM_SET_SREGS fails with EINVAL, or undefined. */
export function invalidSregs(
  s: Sregs,
  cpuid: VcpuCpuid,
  cpuCr4Supported: number,
  oldApicBase: bigint,
): string | undefined {
  const maxPhys = BigInt(guestMaxPhysAddr(cpuid));
  if ((s.efer & EFER_LME) !== 0n && (s.cr0 & CR0_PG) !== 0n) {
    if ((s.cr4 & CR4_PAE) === 0n) return "EFER.LME and CR0.PG are set but CR4.PAE is clear";
    if ((s.efer & EFER_LMA) === 0n) return "EFER.LME and CR0.PG are set but EFER.LMA is clear";
    if (s.cr3 >> maxPhys !== 0n) return `cr3 0x${s.cr3.toString(16)} has bits above MAXPHYADDR (${maxPhys})`;
  } else {
    if ((s.efer & EFER_LMA) !== 0n) return "EFER.LMA is set outside long mode (needs EFER.LME and CR0.PG)";
    if (s.cs.l !== 0) return "cs.l is set outside long mode";
  }
  const cr4Reserved = s.cr4 & cr4ReservedBits(cpuid, cpuCr4Supported);
  if (cr4Reserved !== 0n)
    return `cr4 0x${s.cr4.toString(16)} sets reserved or CPUID-absent bits 0x${cr4Reserved.toString(16)}`;
  if (s.cr0 >> 32n !== 0n) return `cr0 0x${s.cr0.toString(16)} has bits 63:32 set`;
  if ((s.cr0 & CR0_NW) !== 0n && (s.cr0 & CR0_CD) === 0n) return "cr0 sets NW without CD";
  if ((s.cr0 & CR0_PG) !== 0n && (s.cr0 & CR0_PE) === 0n) return "cr0 sets PG without PE";
  return invalidApicBase(s.apicBase, cpuid, oldApicBase);
}

const APIC_BASE_EXTD = 1n << 10n;
const APIC_BASE_EN = 1n << 11n;

/** kvm_apic_set_base(host_initiated): reserved bits (above MAXPHYADDR, 0x2ff, EXTD without x2APIC) and EXTD without EN. */
export function invalidApicBase(value: bigint, cpuid: VcpuCpuid, old: bigint): string | undefined {
  if (value === old) return undefined;
  let reserved = (0xffff_ffff_ffff_ffffn << BigInt(guestMaxPhysAddr(cpuid))) & 0xffff_ffff_ffff_ffffn;
  reserved |= 0x2ffn;
  if (((cpuid.find(1, 0)?.ecx ?? 0) & CPUID_1_ECX_X2APIC) === 0) reserved |= APIC_BASE_EXTD;
  if ((value & reserved) !== 0n)
    return `apic_base 0x${value.toString(16)} sets reserved bits 0x${(value & reserved).toString(16)}`;
  if ((value & APIC_BASE_EXTD) !== 0n && (value & APIC_BASE_EN) === 0n)
    return `apic_base 0x${value.toString(16)}: x2APIC mode (EXTD) without EN is invalid`;
  return undefined;
}

/**
 * How KVM loads a kvm_segment into the VMCS (vmx_set_segment): a segment that is not present is
 * unusable with all access rights cleared; with unrestricted guest, usable segments other than
 * LDTR get the accessed bit.
 */
export function normalizeSegment(seg: Segment, isLdt: boolean): Segment {
  if (seg.unusable !== 0 || seg.present === 0) {
    return { ...seg, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 1 };
  }
  return isLdt ? { ...seg } : { ...seg, type: seg.type | 1 };
}

/** vmx_get_segment: "present" is reported as !unusable. */
export function reportSegment(seg: Segment): Segment {
  return { ...seg, present: seg.unusable ? 0 : 1 };
}

function canonical(v: bigint, bits: number): boolean {
  const top = v >> BigInt(bits - 1);
  return top === 0n || top === (1n << BigInt(65 - bits)) - 1n;
}

function limitMatchesG(name: string, s: Segment): string | undefined {
  const low = s.limit & 0xfff;
  if (low !== 0xfff && s.g) return `${name}.g is set but limit[11:0] (0x${low.toString(16)}) is not all ones`;
  if (s.limit >>> 20 !== 0 && !s.g)
    return `${name}.g is clear but limit 0x${s.limit.toString(16)} exceeds 1 MiB`;
  return undefined;
}

/**
 * The VM-entry checks on guest state the simulated CPU can apply (SDM 3C §28.3.1.1-28.3.1.4,
 * unrestricted guest): the reason entry fails, or undefined. `rflags` is the raw kvm_regs value.
 */
export function invalidGuestState(
  s: Sregs,
  rip: bigint,
  rflags: bigint,
  linearBits: number,
): string | undefined {
  const longMode = (s.efer & EFER_LMA) !== 0n;
  if (longMode && ((s.cr0 & CR0_PG) === 0n || (s.cr4 & CR4_PAE) === 0n))
    return "IA-32e mode guest needs CR0.PG and CR4.PAE";
  if (!longMode && (s.cr4 & CR4_PCIDE) !== 0n) return "CR4.PCIDE outside IA-32e mode";
  // RFLAGS: bits 63:22, 15, 5, 3 reserved (0), bit 1 reserved (1 — KVM forces it); VM = 0 in IA-32e mode
  if ((rflags & ~0x3f7fd7n) !== 0n) return `rflags 0x${rflags.toString(16)} sets reserved bits`;
  if (longMode && (rflags & (1n << 17n)) !== 0n) return "rflags.VM is set in IA-32e mode";
  const cs = s.cs;
  const code64 = longMode && cs.l !== 0;
  if (!code64 && rip >> 32n !== 0n) return `rip 0x${rip.toString(16)} has bits 63:32 set outside 64-bit code`;
  if (code64 && !canonical(rip, linearBits)) return `rip 0x${rip.toString(16)} is not canonical`;
  // CS: usable, a code segment (or type 3 with unrestricted guest), S = 1, P = 1
  if (cs.unusable) return "cs is unusable";
  if (![3, 9, 11, 13, 15].includes(cs.type)) return `cs.type ${cs.type} is not an accessed code segment`;
  if (!cs.s) return "cs.s is clear (system segment)";
  if (longMode && cs.l && cs.db) return "cs.l and cs.db are both set in IA-32e mode";
  if (cs.base >> 32n !== 0n) return "cs.base has bits 63:32 set";
  const csLimit = limitMatchesG("cs", cs);
  if (csLimit) return csLimit;
  // SS
  const ss = s.ss;
  if (!ss.unusable) {
    if (ss.type !== 3 && ss.type !== 7) return `ss.type ${ss.type} is not a writable accessed data segment`;
    if (!ss.s) return "ss.s is clear";
    if ((s.cr0 & CR0_PE) === 0n && ss.dpl !== 0) return "ss.dpl must be 0 with CR0.PE clear";
    if (cs.type === 3 && ss.dpl !== 0) return "ss.dpl must be 0 with a type-3 cs";
    if ((cs.type === 9 || cs.type === 11) && ss.dpl !== cs.dpl)
      return `ss.dpl ${ss.dpl} differs from cs.dpl ${cs.dpl}`;
    if (ss.base >> 32n !== 0n) return "ss.base has bits 63:32 set";
    const l = limitMatchesG("ss", ss);
    if (l) return l;
  }
  // DS, ES, FS, GS
  for (const name of ["ds", "es", "fs", "gs"] as const) {
    const d = s[name];
    if (d.unusable) continue;
    if ((d.type & 1) === 0) return `${name}.type ${d.type} is not accessed`;
    if ((d.type & 8) !== 0 && (d.type & 2) === 0)
      return `${name}.type ${d.type} is an unreadable code segment`;
    if (!d.s) return `${name}.s is clear`;
    if ((name === "ds" || name === "es") && d.base >> 32n !== 0n) return `${name}.base has bits 63:32 set`;
    if ((name === "fs" || name === "gs") && !canonical(d.base, linearBits))
      return `${name}.base is not canonical`;
    const l = limitMatchesG(name, d);
    if (l) return l;
  }
  // TR: usable, busy TSS (64-bit in IA-32e mode), TI = 0, S = 0
  const tr = s.tr;
  if (tr.unusable) return "tr is unusable";
  if ((tr.selector & 4) !== 0) return "tr.selector has TI set";
  if (longMode ? tr.type !== 11 : tr.type !== 3 && tr.type !== 11)
    return `tr.type ${tr.type} is not a busy ${longMode ? "64-bit " : ""}TSS`;
  if (tr.s) return "tr.s is set (must be a system segment)";
  if (!canonical(tr.base, linearBits)) return "tr.base is not canonical";
  const trLimit = limitMatchesG("tr", tr);
  if (trLimit) return trLimit;
  // LDTR
  const ldt = s.ldt;
  if (!ldt.unusable) {
    if ((ldt.selector & 4) !== 0) return "ldt.selector has TI set";
    if (ldt.type !== 2) return `ldt.type ${ldt.type} is not an LDT`;
    if (ldt.s) return "ldt.s is set";
    if (!canonical(ldt.base, linearBits)) return "ldt.base is not canonical";
    const l = limitMatchesG("ldt", ldt);
    if (l) return l;
  }
  for (const t of ["gdt", "idt"] as const)
    if (!canonical(s[t].base, linearBits)) return `${t}.base is not canonical`;
  return undefined;
}
