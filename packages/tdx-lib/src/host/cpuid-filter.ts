// The CPUID the selftest library hands to KVM_TDX_INIT_VM: KVM's supported CPUID, reduced
// to the leaves and bits KVM_TDX_CAPABILITIES reports as directly configurable
// (tdx_filter_cpuid), then with the series' XSAVE restrictions (tdx_apply_cpuid_restrictions).

/** The fields of struct kvm_cpuid_entry2 this needs (u32 each). */
export interface CpuidEntry {
  readonly function: number;
  readonly index: number;
  readonly flags: number;
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
}

/**
 * tdx_filter_cpuid(): keeps each entry of `supported` whose (function, index) has a
 * configuration entry in `configurable` (KVM_TDX_CAPABILITIES' cpuid), with every register
 * ANDed with that entry's mask; drops the others. Order is kept.
 */
export function tdxFilterCpuid(
  supported: readonly CpuidEntry[],
  configurable: readonly CpuidEntry[],
): CpuidEntry[] {
  const out: CpuidEntry[] = [];
  for (const entry of supported) {
    const config = configurable.find((c) => c.function === entry.function && c.index === entry.index);
    if (!config) continue;
    out.push({
      ...entry,
      eax: (entry.eax & config.eax) >>> 0,
      ebx: (entry.ebx & config.ebx) >>> 0,
      ecx: (entry.ecx & config.ecx) >>> 0,
      edx: (entry.edx & config.edx) >>> 0,
    });
  }
  return out;
}

const XTILE = (1 << 17) | (1 << 18); // XTILE_CFG | XTILE_DATA
const LBR = 1 << 15;
const CET = (1 << 11) | (1 << 12); // CET_USER | CET_KERNEL

/**
 * tdx_apply_cpuid_restrictions() of td_initialize: the TDX module requires AMX tile state
 * to be both-or-neither (leaf 0xD.0 EAX), does not virtualize arch LBR (leaf 0xD.1 ECX)
 * and requires CET user and supervisor state together (leaf 0xD.1 ECX).
 */
export function tdxApplyCpuidRestrictions(entries: readonly CpuidEntry[]): CpuidEntry[] {
  return entries.map((e) => {
    if (e.function !== 0xd) return e;
    if (e.index === 0 && (e.eax & XTILE) !== XTILE) return { ...e, eax: (e.eax & ~XTILE) >>> 0 };
    if (e.index === 1) {
      let ecx = e.ecx & ~LBR;
      if (ecx & CET) ecx |= CET;
      return { ...e, ecx: ecx >>> 0 };
    }
    return e;
  });
}
