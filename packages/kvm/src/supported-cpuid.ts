// KVM_GET_SUPPORTED_CPUID and KVM_GET_EMULATED_CPUID for the @tdxsim/x86 CPU (kvm_dev_ioctl_get_cpuid,
// arch/x86/kvm/cpuid.c, 6.16). A feature bit is reported only if the core really executes it: each
// bit has a probe (cpu-probe.ts) run once per process on a fresh CPU. So x87, MMX, AVX and SSE
// floating point — which the core stops on as "unsupported" — are absent, and a bit appears by
// itself the day the core learns the instructions behind it.
//
// Leaves, in KVM's order (basic range, extended range, then KVM's own 0x40000000 range):
//   0, 1, 7.0, 0xd.0/0xd.1 (with XSAVE) · 0x80000000, 0x80000001, 0x80000008 · 0x40000000, 0x40000001.
// Cache/topology leaves (2, 4, 0xb, 0x1f), thermal/PMU leaves (6, 0xa) are not reported: nothing
// in the core models them. No PV feature is offered in 0x40000001 (kvmclock, PV EOI ... are not
// emulated), and there is no local APIC, so neither APIC nor X2APIC nor TSC_DEADLINE is reported.
import { DEFAULT_CONFIG, MSR } from "@tdxsim/x86";
import { acceptsCr4Bit, executes, PROBE_1G_VA } from "./cpu-probe.js";
import { KvmCpuidFlag } from "./uapi/constants.js";
import type { KvmCpuidEntry2 } from "./uapi/structs.js";

type Reg = "eax" | "ebx" | "ecx" | "edx";

/** kvm_mmu_get_max_tdp_level(): tdxsim's EPT (and a TD's Secure EPT) walks up to 5 levels. */
export const KVM_MAX_TDP_LEVEL = 5;

interface FeatureBit {
  /** the kernel's X86_FEATURE_* name */
  readonly name: string;
  readonly leaf: number;
  readonly subleaf: number;
  readonly reg: Reg;
  readonly bit: number;
  readonly probe: () => boolean;
}

const run = (source: string) => () => executes(source);
const cr4 =
  (bit: number, extra = "") =>
  () =>
    acceptsCr4Bit(bit, extra);
const always = () => true;

/** wrmsr of `value` to `index` (the core #GPs on bits it does not implement). */
const wrmsr = (index: number, value: number) =>
  run(`mov ecx, ${index}\nmov eax, ${value}\nxor edx, edx\nwrmsr`);

const f = (name: string, leaf: number, subleaf: number, reg: Reg, bit: number, probe: () => boolean) =>
  ({ name, leaf, subleaf, reg, bit, probe }) satisfies FeatureBit;

/** Every bit KVM could report, with what must execute for it. */
export const FEATURE_BITS: readonly FeatureBit[] = [
  // CPUID.1:EDX
  f("FPU", 1, 0, "edx", 0, run("fld1\nfstp st0")),
  f("DE", 1, 0, "edx", 2, cr4(3)),
  f("PSE", 1, 0, "edx", 3, cr4(4)),
  f("TSC", 1, 0, "edx", 4, run("rdtsc")),
  f("MSR", 1, 0, "edx", 5, run(`mov ecx, ${MSR.IA32_PAT}\nrdmsr\nwrmsr`)),
  f("PAE", 1, 0, "edx", 6, always), // the probes themselves run with PAE paging
  f("CX8", 1, 0, "edx", 8, run("cmpxchg8b [rbx]")),
  f("SEP", 1, 0, "edx", 11, () =>
    executes("sysenter", (cpu, hlt) => {
      cpu.setMsr(MSR.IA32_SYSENTER_CS, 0x08n);
      cpu.setMsr(MSR.IA32_SYSENTER_EIP, BigInt(hlt));
      cpu.setMsr(MSR.IA32_SYSENTER_ESP, 0x18000n);
    }),
  ),
  f("CMOV", 1, 0, "edx", 15, run("cmove eax, ecx")),
  f("PAT", 1, 0, "edx", 16, run(`mov ecx, ${MSR.IA32_PAT}\nrdmsr\nwrmsr`)),
  f("CLFLUSH", 1, 0, "edx", 19, run("clflush [rbx]")),
  f("MMX", 1, 0, "edx", 23, run("paddb mm0, mm1\nemms")),
  f("FXSR", 1, 0, "edx", 24, run("fxsave [rbx]\nfxrstor [rbx]")),
  f("XMM", 1, 0, "edx", 25, run("movaps xmm0, xmm1\naddps xmm0, xmm1\nmulss xmm0, xmm1\ncvtsi2ss xmm0, eax")),
  f("XMM2", 1, 0, "edx", 26, run("paddq xmm0, xmm1\naddpd xmm0, xmm1\ncvtsi2sd xmm0, eax\nmfence")),
  // CPUID.1:ECX
  f("XMM3", 1, 0, "ecx", 0, run("haddps xmm0, xmm1\nmovddup xmm0, xmm1\nlddqu xmm0, [rbx]")),
  f("PCLMULQDQ", 1, 0, "ecx", 1, run("pclmulqdq xmm0, xmm1, 0")),
  f("SSSE3", 1, 0, "ecx", 9, run("pshufb xmm0, xmm1\npalignr xmm0, xmm1, 3")),
  f("CX16", 1, 0, "ecx", 13, run("cmpxchg16b [rbx]")),
  f("PCID", 1, 0, "ecx", 17, cr4(17)),
  f("XMM4_1", 1, 0, "ecx", 19, run("ptest xmm0, xmm1\npmulld xmm0, xmm1\nroundps xmm0, xmm1, 0")),
  f("XMM4_2", 1, 0, "ecx", 20, run("crc32 eax, ecx\npcmpgtq xmm0, xmm1\npcmpistri xmm0, xmm1, 0")),
  f("MOVBE", 1, 0, "ecx", 22, run("movbe eax, [rbx]")),
  f("POPCNT", 1, 0, "ecx", 23, run("popcnt eax, ecx")),
  f("AES", 1, 0, "ecx", 25, run("aesenc xmm0, xmm1\naeskeygenassist xmm0, xmm1, 1")),
  f("XSAVE", 1, 0, "ecx", 26, run("xor ecx, ecx\nxgetbv\nxsetbv\nmov eax, 3\nxsave [rbx]\nxrstor [rbx]")),
  f("RDRAND", 1, 0, "ecx", 30, run("rdrand eax")),
  // CPUID.(7,0):EBX
  f("FSGSBASE", 7, 0, "ebx", 0, cr4(16, "rdfsbase rax\nwrgsbase rax")),
  f("TSC_ADJUST", 7, 0, "ebx", 1, run(`mov ecx, ${MSR.IA32_TSC_ADJUST}\nrdmsr\nwrmsr`)),
  f("SMEP", 7, 0, "ebx", 7, cr4(20)),
  f("INVPCID", 7, 0, "ebx", 10, run("mov eax, 2\ninvpcid rax, [rbx]")),
  f("RDSEED", 7, 0, "ebx", 18, run("rdseed eax")),
  f("ADX", 7, 0, "ebx", 19, run("adcx eax, ecx\nadox eax, ecx")),
  f("SMAP", 7, 0, "ebx", 20, cr4(21, "stac\nclac")),
  f("CLFLUSHOPT", 7, 0, "ebx", 23, run("clflushopt [rbx]")),
  f("CLWB", 7, 0, "ebx", 24, run("clwb [rbx]")),
  // CPUID.(7,0):ECX
  f("UMIP", 7, 0, "ecx", 2, cr4(11)),
  f("PKU", 7, 0, "ecx", 3, cr4(22, "xor ecx, ecx\nrdpkru\nxor edx, edx\nwrpkru")),
  // LA57 cannot be toggled in long mode, so the core's configuration answers for it
  f("LA57", 7, 0, "ecx", 16, () => DEFAULT_CONFIG.linearAddressBits === 57),
  f("RDPID", 7, 0, "ecx", 22, run("rdpid rax")),
  // CPUID.(7,0):EDX
  f("SERIALIZE", 7, 0, "edx", 14, run("serialize")),
  f("SPEC_CTRL", 7, 0, "edx", 26, () => wrmsr(MSR.IA32_SPEC_CTRL, 1)() && wrmsr(MSR.IA32_PRED_CMD, 1)()),
  f("INTEL_STIBP", 7, 0, "edx", 27, wrmsr(MSR.IA32_SPEC_CTRL, 2)),
  f("SPEC_CTRL_SSBD", 7, 0, "edx", 31, wrmsr(MSR.IA32_SPEC_CTRL, 4)),
  // CPUID.(0xd,1):EAX
  f("XSAVEOPT", 0xd, 1, "eax", 0, run("mov eax, 3\nxor edx, edx\nxsaveopt [rbx]")),
  f("XSAVEC", 0xd, 1, "eax", 1, run("mov eax, 3\nxor edx, edx\nxsavec [rbx]")),
  f("XGETBV1", 0xd, 1, "eax", 2, run("mov ecx, 1\nxgetbv")),
  f("XSAVES", 0xd, 1, "eax", 3, run("mov eax, 3\nxor edx, edx\nxsaves [rbx]")),
  // CPUID.80000001H:ECX / EDX
  f("LAHF_LM", 0x80000001, 0, "ecx", 0, run("lahf\nsahf")),
  f("ABM", 0x80000001, 0, "ecx", 5, run("lzcnt eax, ecx")),
  f("3DNOWPREFETCH", 0x80000001, 0, "ecx", 8, run("prefetchw [rbx]")),
  f("SYSCALL", 0x80000001, 0, "edx", 11, () =>
    executes("syscall", (cpu, hlt) => {
      cpu.setMsr(MSR.IA32_LSTAR, BigInt(hlt));
      cpu.setMsr(MSR.IA32_STAR, 0x0008n << 32n);
    }),
  ),
  f("NX", 0x80000001, 0, "edx", 20, always), // EFER.NXE is set in the probes' state
  f("GBPAGES", 0x80000001, 0, "edx", 26, run(`mov rcx, ${PROBE_1G_VA}\nmov rax, [rcx]`)),
  f("RDTSCP", 0x80000001, 0, "edx", 27, run("rdtscp")),
  f("LM", 0x80000001, 0, "edx", 29, always),
];

/** "GenuineIntel" in EBX, EDX, ECX order. */
const GENUINE_INTEL = { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e };
/** "KVMKVMKVM\0\0\0" (KVM_SIGNATURE) in EBX, ECX, EDX. */
const KVM_SIGNATURE = { ebx: 0x4b4d564b, ecx: 0x564b4d56, edx: 0x0000004d };
/** KVM_CPUID_SIGNATURE / KVM_CPUID_FEATURES */
export const KVM_CPUID_SIGNATURE = 0x40000000;
export const KVM_CPUID_FEATURES = 0x40000001;
/** XSAVE area with x87 + SSE state only: the 512-byte legacy region and the 64-byte header. */
const XSAVE_LEGACY_AND_HEADER = 512 + 64;
/** CPUID.1:EBX[15:8]: CLFLUSH line size in 8-byte units (64 bytes). */
const CLFLUSH_LINE_QWORDS = 8;

let probed: ReadonlySet<string> | undefined;

/** The X86_FEATURE_* names whose probes pass (computed once per process). */
export function executedFeatures(): ReadonlySet<string> {
  probed ??= new Set(FEATURE_BITS.filter((b) => b.probe()).map((b) => b.name));
  return probed;
}

function entry(fn: number, index: number, flags: number, regs: Partial<Record<Reg, number>>): KvmCpuidEntry2 {
  return {
    function: fn,
    index,
    flags,
    eax: (regs.eax ?? 0) >>> 0,
    ebx: (regs.ebx ?? 0) >>> 0,
    ecx: (regs.ecx ?? 0) >>> 0,
    edx: (regs.edx ?? 0) >>> 0,
    padding: [0, 0, 0],
  };
}

function featureRegs(leaf: number, subleaf: number): Record<Reg, number> {
  const have = executedFeatures();
  const out: Record<Reg, number> = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  for (const b of FEATURE_BITS) {
    if (b.leaf === leaf && b.subleaf === subleaf && have.has(b.name))
      out[b.reg] = (out[b.reg] | (1 << b.bit)) >>> 0;
  }
  return out;
}

let table: readonly KvmCpuidEntry2[] | undefined;

/** What KVM_GET_SUPPORTED_CPUID reports on this simulated host (a fresh copy each call). */
export function supportedCpuid(): KvmCpuidEntry2[] {
  table ??= buildSupportedCpuid();
  return table.map((e) => ({ ...e, padding: [0, 0, 0] }));
}

function buildSupportedCpuid(): KvmCpuidEntry2[] {
  const have = executedFeatures();
  const xsave = have.has("XSAVE");
  const cfg = DEFAULT_CONFIG;
  const leaf1 = featureRegs(1, 0);
  if (have.has("CLFLUSH")) leaf1.ebx = CLFLUSH_LINE_QWORDS << 8;
  leaf1.eax = cfg.signature;
  const out = [
    entry(0, 0, 0, { eax: xsave ? 0xd : 7, ...GENUINE_INTEL }),
    entry(1, 0, 0, leaf1),
    // eax = 0: no subleaf of leaf 7 beyond 0 has a bit the core executes
    entry(7, 0, KvmCpuidFlag.SIGNIFCANT_INDEX, featureRegs(7, 0)),
  ];
  if (xsave) {
    const xcr0 = cfg.xcr0Supported;
    out.push(
      entry(0xd, 0, KvmCpuidFlag.SIGNIFCANT_INDEX, {
        eax: xcr0,
        ebx: XSAVE_LEGACY_AND_HEADER,
        ecx: XSAVE_LEGACY_AND_HEADER,
      }),
      entry(0xd, 1, KvmCpuidFlag.SIGNIFCANT_INDEX, featureRegs(0xd, 1)),
    );
  }
  out.push(
    entry(0x80000000, 0, 0, { eax: 0x80000008 }),
    entry(0x80000001, 0, 0, featureRegs(0x80000001, 0)),
    // EAX[7:0] MAXPHYADDR, EAX[15:8] linear address bits (at least 48), EAX[23:16] GuestPhysBits: the
    // max addressable GPA with TDP, capped at 48 without 5-level TDP (cpuid.c, Linux 6.11+)
    entry(0x80000008, 0, 0, {
      eax:
        cfg.maxPhysAddr |
        (Math.max(cfg.linearAddressBits, 48) << 8) |
        ((KVM_MAX_TDP_LEVEL < 5 ? Math.min(cfg.maxPhysAddr, 48) : cfg.maxPhysAddr) << 16),
    }),
    entry(KVM_CPUID_SIGNATURE, 0, 0, { eax: KVM_CPUID_FEATURES, ...KVM_SIGNATURE }),
    entry(KVM_CPUID_FEATURES, 0, 0, {}),
  );
  return out;
}

/**
 * What KVM_GET_EMULATED_CPUID reports (__do_cpuid_func_emulated): leaf 0 with EAX = 7, MOVBE in
 * leaf 1 and RDPID in leaf 7 — each only if the core executes it. MWAIT, which KVM also lists,
 * is not executed by the core and is left out.
 */
export function emulatedCpuid(): KvmCpuidEntry2[] {
  const have = executedFeatures();
  return [
    entry(0, 0, 0, { eax: 7 }),
    entry(1, 0, 0, { ecx: have.has("MOVBE") ? 1 << 22 : 0 }),
    entry(7, 0, KvmCpuidFlag.SIGNIFCANT_INDEX, { ecx: have.has("RDPID") ? 1 << 22 : 0 }),
  ];
}
