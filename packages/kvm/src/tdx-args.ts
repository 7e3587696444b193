// Argument handling of the TDX sub-commands that needs no TDX module: reading and checking
// struct kvm_tdx_init_vm and struct kvm_tdx_init_mem_region, and writing struct
// kvm_tdx_capabilities back, in the order and with the errno of 6.16's tdx.c (spec §1.4-1.7).
// The module-dependent parts (supported masks, CPUID_CONFIG slots) come in as parameters.
import type { SparseMemory } from "@tdxsim/memory";
import { KvmError } from "./errors.js";
import { KVM_TDX_MEASURE_MEMORY_REGION } from "./uapi/constants.js";
import { TdVmCallInfo1R11 } from "./uapi/ghci.js";
import {
  KVM_MAX_CPUID_ENTRIES,
  type KvmCpuidEntry2,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmTdxCapabilitiesFixed,
  kvmTdxInitMemRegion,
  kvmTdxInitVmFixed,
} from "./uapi/structs.js";
import { copyFromUser, copyToUser } from "./user-memory.js";

const PAGE = 4096n;
const U64_MASK = (1n << 64n) - 1n;

function readEntries(mem: SparseMemory, addr: bigint, nent: number, what: string): KvmCpuidEntry2[] {
  const bytes = copyFromUser(mem, addr, nent * kvmCpuidEntry2.size, what);
  return Array.from({ length: nent }, (_, i) => kvmCpuidEntry2.decode(bytes, i * kvmCpuidEntry2.size));
}

// ---- KVM_TDX_CAPABILITIES ----

export interface TdxCapabilities {
  supportedAttrs: bigint;
  supportedXfam: bigint;
  kernelTdvmcallinfo1R11: bigint;
  userTdvmcallinfo1R11: bigint;
  kernelTdvmcallinfo1R12: bigint;
  userTdvmcallinfo1R12: bigint;
  /** one entry per TDX-module CPUID_CONFIG (directly configurable bits) */
  cpuid: readonly KvmCpuidEntry2[];
}

/** KVM_TDX_CPUID_NO_SUBLEAF: a CPUID_CONFIG leaf without subleaves. */
export const KVM_TDX_CPUID_NO_SUBLEAF = 0xffffffff;
/** KVM_SUPPORTED_TD_ATTRS in 6.16: only SEPT_VE_DISABLE (bit 28). */
export const KVM_SUPPORTED_TD_ATTRS = 1n << 28n;

/** The TDX module's TD configuration as KVM reads it (struct tdx_sys_info_td_conf). */
export interface TdxTdConf {
  attributesFixed0: bigint;
  attributesFixed1: bigint;
  xfamFixed0: bigint;
  xfamFixed1: bigint;
  /** CPUID_CONFIG slots in the module's order; subleaf KVM_TDX_CPUID_NO_SUBLEAF when the leaf has none */
  cpuidConfigs: readonly {
    leaf: number;
    subleaf: number;
    eax: number;
    ebx: number;
    ecx: number;
    edx: number;
  }[];
}

/**
 * init_kvm_tdx_caps(): what KVM_TDX_CAPABILITIES reports for a module configuration.
 * supported_attrs = KVM_SUPPORTED_TD_ATTRS ∩ ATTRIBUTES_FIXED0 (0 if FIXED1 is not covered);
 * supported_xfam = KVM's XCR0|XSS ∩ XFAM_FIXED0 (likewise); either 0 → EIO. One cpuid entry per
 * CPUID_CONFIG: a missing subleaf reads as index 0, 0x80000008 EAX[23:16] is reported as 0xff
 * (GPAW is configured through it), TSX (HLE, RTM) and WAITPKG are cleared in leaf 7.0.
 */
export function computeTdxCapabilities(conf: TdxTdConf, kvmSupportedXcr0Xss: bigint): TdxCapabilities {
  const within = (allowed: bigint, fixed0: bigint, fixed1: bigint) =>
    (allowed & fixed1) !== fixed1 ? 0n : allowed & fixed0;
  const supportedAttrs = within(KVM_SUPPORTED_TD_ATTRS, conf.attributesFixed0, conf.attributesFixed1);
  if (supportedAttrs === 0n)
    throw new KvmError("EIO", "the TDX module allows none of the TD attributes KVM supports");
  const supportedXfam = within(kvmSupportedXcr0Xss, conf.xfamFixed0, conf.xfamFixed1);
  if (supportedXfam === 0n)
    throw new KvmError("EIO", "the TDX module allows none of the XFAM bits KVM supports");
  const cpuid = conf.cpuidConfigs.map((c): KvmCpuidEntry2 => {
    const e: KvmCpuidEntry2 = {
      function: c.leaf,
      index: c.subleaf === KVM_TDX_CPUID_NO_SUBLEAF ? 0 : c.subleaf,
      flags: 0,
      eax: c.eax,
      ebx: c.ebx,
      ecx: c.ecx,
      edx: c.edx,
      padding: [0, 0, 0],
    };
    if (e.function === 0x80000008) e.eax = ((e.eax & ~0xff0000) | 0xff0000) >>> 0;
    if (e.function === 7 && e.index === 0) {
      e.ebx = (e.ebx & ~((1 << 4) | (1 << 11))) >>> 0;
      e.ecx = (e.ecx & ~(1 << 5)) >>> 0;
    }
    return e;
  });
  return {
    supportedAttrs,
    supportedXfam,
    kernelTdvmcallinfo1R11: 0n,
    userTdvmcallinfo1R11: TdVmCallInfo1R11.SETUP_EVENT_NOTIFY_INTERRUPT,
    kernelTdvmcallinfo1R12: 0n,
    userTdvmcallinfo1R12: 0n,
    cpuid,
  };
}

/**
 * tdx_get_capabilities(): flags must be 0; the caller's cpuid.nent must hold every entry (else
 * E2BIG, with nent NOT written back in 6.16); the struct and entries are copied out.
 */
export function writeTdxCapabilities(
  mem: SparseMemory,
  data: bigint,
  flags: number,
  caps: TdxCapabilities,
): void {
  if (flags !== 0)
    throw new KvmError("EINVAL", `kvm_tdx_cmd.flags ${flags} must be 0`, { field: "kvm_tdx_cmd.flags" });
  const nentAt = data + BigInt(kvmTdxCapabilitiesFixed.offsetOf("cpuid"));
  const nent = new DataView(copyFromUser(mem, nentAt, 4, "kvm_tdx_capabilities.cpuid.nent").buffer).getUint32(
    0,
    true,
  );
  if (nent < caps.cpuid.length) {
    throw new KvmError(
      "E2BIG",
      `kvm_tdx_capabilities.cpuid.nent ${nent} is less than the module's ${caps.cpuid.length} CPUID configs`,
      { field: "kvm_tdx_capabilities.cpuid.nent" },
    );
  }
  const fixed = kvmTdxCapabilitiesFixed.encode({
    supported_attrs: caps.supportedAttrs,
    supported_xfam: caps.supportedXfam,
    kernel_tdvmcallinfo_1_r11: caps.kernelTdvmcallinfo1R11,
    user_tdvmcallinfo_1_r11: caps.userTdvmcallinfo1R11,
    kernel_tdvmcallinfo_1_r12: caps.kernelTdvmcallinfo1R12,
    user_tdvmcallinfo_1_r12: caps.userTdvmcallinfo1R12,
    cpuid: { nent: caps.cpuid.length, padding: 0 },
  });
  copyToUser(mem, data, fixed, "kvm_tdx_capabilities");
  const entries = new Uint8Array(caps.cpuid.length * kvmCpuidEntry2.size);
  caps.cpuid.forEach((e, i) => {
    kvmCpuidEntry2.encode(e, entries, i * kvmCpuidEntry2.size);
  });
  copyToUser(mem, data + BigInt(kvmTdxCapabilitiesFixed.size), entries, "kvm_tdx_capabilities.cpuid.entries");
}

// ---- KVM_TDX_INIT_VM ----

export interface TdxInitVm {
  attributes: bigint;
  xfam: bigint;
  /** SHA-384 values, 48 bytes each, copied verbatim into TD_PARAMS */
  mrconfigid: Uint8Array;
  mrowner: Uint8Array;
  mrownerconfig: Uint8Array;
  cpuid: KvmCpuidEntry2[];
  /** guest physical-address width from CPUID 0x80000008 EAX[23:16]: 48 or 52 */
  gpaw: 48 | 52;
}

export interface TdxInitVmLimits {
  supportedAttrs: bigint;
  supportedXfam: bigint;
  /** The host has 5-level EPT (GPAW 52 allowed). */
  fiveLevelEpt: boolean;
  /** (leaf, subleaf) slots the module's CPUID_CONFIG allows; an entry must match one. Subleaf -1 = any. */
  cpuidConfigs?: readonly { leaf: number; subleaf: number }[];
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** tdx_td_init() argument handling (state checks are TdLifecycle's). */
export function readTdxInitVm(
  mem: SparseMemory,
  data: bigint,
  flags: number,
  limits: TdxInitVmLimits,
): TdxInitVm {
  if (flags !== 0)
    throw new KvmError("EINVAL", `kvm_tdx_cmd.flags ${flags} must be 0`, { field: "kvm_tdx_cmd.flags" });
  const fixed = kvmTdxInitVmFixed.decode(copyFromUser(mem, data, kvmTdxInitVmFixed.size, "kvm_tdx_init_vm"));
  if (fixed.cpuid.nent > KVM_MAX_CPUID_ENTRIES) {
    throw new KvmError(
      "E2BIG",
      `kvm_tdx_init_vm.cpuid.nent ${fixed.cpuid.nent} > KVM_MAX_CPUID_ENTRIES (256)`,
      {
        field: "kvm_tdx_init_vm.cpuid.nent",
      },
    );
  }
  const cpuid = readEntries(
    mem,
    data + BigInt(kvmTdxInitVmFixed.size),
    fixed.cpuid.nent,
    "kvm_tdx_init_vm.cpuid.entries",
  );
  const badReserved = fixed.reserved.findIndex((w) => w !== 0n);
  if (badReserved >= 0) {
    throw new KvmError("EINVAL", `kvm_tdx_init_vm.reserved[${badReserved}] must be 0`, {
      field: `kvm_tdx_init_vm.reserved[${badReserved}]`,
    });
  }
  if (fixed.cpuid.padding !== 0) {
    throw new KvmError("EINVAL", "kvm_tdx_init_vm.cpuid.padding must be 0", {
      field: "kvm_tdx_init_vm.cpuid.padding",
    });
  }
  if ((fixed.attributes & ~limits.supportedAttrs) !== 0n) {
    throw new KvmError(
      "EINVAL",
      `kvm_tdx_init_vm.attributes ${hex(fixed.attributes)} has bits outside supported_attrs ${hex(limits.supportedAttrs)}`,
      { field: "kvm_tdx_init_vm.attributes" },
    );
  }
  if ((fixed.xfam & ~limits.supportedXfam) !== 0n) {
    throw new KvmError(
      "EINVAL",
      `kvm_tdx_init_vm.xfam ${hex(fixed.xfam)} has bits outside supported_xfam ${hex(limits.supportedXfam)}`,
      { field: "kvm_tdx_init_vm.xfam" },
    );
  }
  cpuid.forEach((e, i) => {
    checkTdCpuidEntry(e, i, limits);
  });
  const gpaw = gpawOf(cpuid, limits);
  const digest = (words: bigint[]) => {
    const out = new Uint8Array(48);
    const v = new DataView(out.buffer);
    words.forEach((w, i) => {
      v.setBigUint64(8 * i, w, true);
    });
    return out;
  };
  return {
    attributes: fixed.attributes,
    xfam: fixed.xfam,
    mrconfigid: digest(fixed.mrconfigid),
    mrowner: digest(fixed.mrowner),
    mrownerconfig: digest(fixed.mrownerconfig),
    cpuid,
    gpaw,
  };
}

/** CPUID.(7,0): EBX bit 4 HLE, bit 11 RTM (TSX); ECX bit 5 WAITPKG — KVM refuses them for a TD. */
function checkTdCpuidEntry(e: KvmCpuidEntry2, i: number, limits: TdxInitVmLimits): void {
  const field = `kvm_tdx_init_vm.cpuid.entries[${i}]`;
  if (
    limits.cpuidConfigs &&
    !limits.cpuidConfigs.some((c) => c.leaf === e.function && (c.subleaf === -1 || c.subleaf === e.index))
  ) {
    throw new KvmError(
      "EINVAL",
      `${field} (leaf ${hex(e.function)}, subleaf ${e.index}) is not a CPUID_CONFIG the TDX module lets you configure`,
      { field },
    );
  }
  if (
    e.function === 7 &&
    e.index === 0 &&
    ((e.ebx & ((1 << 4) | (1 << 11))) !== 0 || (e.ecx & (1 << 5)) !== 0)
  ) {
    throw new KvmError("EINVAL", `${field}: TSX (HLE/RTM) and WAITPKG cannot be given to a TD`, { field });
  }
}

function gpawOf(cpuid: readonly KvmCpuidEntry2[], limits: TdxInitVmLimits): 48 | 52 {
  const e = cpuid.find((x) => x.function === 0x80000008);
  if (!e) {
    throw new KvmError("EINVAL", "kvm_tdx_init_vm.cpuid has no leaf 0x80000008, which carries the GPAW", {
      field: "kvm_tdx_init_vm.cpuid",
    });
  }
  const gpaw = (e.eax >>> 16) & 0xff;
  if (gpaw !== 48 && gpaw !== 52) {
    throw new KvmError("EINVAL", `CPUID 0x80000008 EAX[23:16] = ${gpaw}: the GPAW must be 48 or 52`, {
      field: "kvm_tdx_init_vm.cpuid",
    });
  }
  if (gpaw === 52 && !limits.fiveLevelEpt) {
    throw new KvmError("EINVAL", "GPAW 52 needs 5-level EPT, which this host does not have", {
      field: "kvm_tdx_init_vm.cpuid",
    });
  }
  return gpaw;
}

// ---- KVM_TDX_INIT_MEM_REGION ----

export interface TdxInitMemRegion {
  sourceAddr: bigint;
  gpa: bigint;
  nrPages: bigint;
  measure: boolean;
}

/**
 * tdx_vcpu_init_mem_region() argument checks: unknown flags, misaligned source/gpa, nr_pages 0,
 * wrap-around, or a GPA range not entirely private (shared bit set) → EINVAL; bad pointer → EFAULT.
 */
export function readTdxInitMemRegion(
  mem: SparseMemory,
  data: bigint,
  flags: number,
  sharedBit: number,
): TdxInitMemRegion {
  if ((flags & ~KVM_TDX_MEASURE_MEMORY_REGION) !== 0) {
    throw new KvmError(
      "EINVAL",
      `kvm_tdx_cmd.flags ${hex(flags)}: only KVM_TDX_MEASURE_MEMORY_REGION (1) is defined`,
      {
        field: "kvm_tdx_cmd.flags",
      },
    );
  }
  const r = kvmTdxInitMemRegion.decode(
    copyFromUser(mem, data, kvmTdxInitMemRegion.size, "kvm_tdx_init_mem_region"),
  );
  const shared = 1n << BigInt(sharedBit);
  const end = (r.gpa + ((r.nr_pages << 12n) & U64_MASK)) & U64_MASK;
  const fail = (field: string, why: string) =>
    new KvmError("EINVAL", `kvm_tdx_init_mem_region.${field} ${why}`, {
      field: `kvm_tdx_init_mem_region.${field}`,
    });
  if (r.source_addr % PAGE !== 0n) throw fail("source_addr", `${hex(r.source_addr)} is not page-aligned`);
  if (r.gpa % PAGE !== 0n) throw fail("gpa", `${hex(r.gpa)} is not page-aligned`);
  if (r.nr_pages === 0n) throw fail("nr_pages", "must be at least 1");
  if (end <= r.gpa) throw fail("nr_pages", `${r.nr_pages} makes the range wrap around`);
  if ((r.gpa & shared) !== 0n || ((end - 1n) & U64_MASK & shared) !== 0n) {
    throw fail("gpa", `range ${hex(r.gpa)}+${r.nr_pages} pages is not private (shared bit ${sharedBit} set)`);
  }
  return {
    sourceAddr: r.source_addr,
    gpa: r.gpa,
    nrPages: r.nr_pages,
    measure: (flags & KVM_TDX_MEASURE_MEMORY_REGION) !== 0,
  };
}

/** After each page KVM advances the struct and writes it back, so a caller can resume after EINTR. */
export function writeBackTdxInitMemRegion(mem: SparseMemory, data: bigint, r: TdxInitMemRegion): void {
  copyToUser(
    mem,
    data,
    kvmTdxInitMemRegion.encode({ source_addr: r.sourceAddr, gpa: r.gpa, nr_pages: r.nrPages }),
    "kvm_tdx_init_mem_region",
  );
}

// ---- KVM_TDX_GET_CPUID ----

/** tdx_vcpu_get_cpuid() output: E2BIG writes the needed nent back (unlike CAPABILITIES). */
export function writeTdxGetCpuid(mem: SparseMemory, data: bigint, entries: readonly KvmCpuidEntry2[]): void {
  const header = kvmCpuid2Header.decode(copyFromUser(mem, data, kvmCpuid2Header.size, "kvm_cpuid2"));
  if (header.nent < entries.length) {
    copyToUser(
      mem,
      data,
      kvmCpuid2Header.encode({ nent: entries.length, padding: header.padding }),
      "kvm_cpuid2",
    );
    throw new KvmError(
      "E2BIG",
      `kvm_cpuid2.nent ${header.nent} < ${entries.length} entries (needed nent written back)`,
      {
        field: "kvm_cpuid2.nent",
      },
    );
  }
  const out = new Uint8Array(entries.length * kvmCpuidEntry2.size);
  entries.forEach((e, i) => {
    kvmCpuidEntry2.encode(e, out, i * kvmCpuidEntry2.size);
  });
  copyToUser(mem, data + BigInt(kvmCpuid2Header.size), out, "kvm_cpuid2.entries");
  copyToUser(
    mem,
    data,
    kvmCpuid2Header.encode({ nent: entries.length, padding: header.padding }),
    "kvm_cpuid2",
  );
}
