// The host's TDX module as KVM sees it (arch/x86/virt/vmx/tdx + kvm_intel's TDX init): one
// TdxModule per host over the host's HostPhysicalMemory — the module takes the private-KeyID
// capability, so KVM can never read a TD's private pages — plus the HKID allocator
// (tdx_guest_keyid_alloc) and the module's TD configuration read once through TDH.SYS.RD.
import type { HostPhysicalMemory } from "@tdxsim/memory";
import { MIN_NUM_TDCS_PAGES, SysFieldId, type TdGuestExecutor, TdxModule } from "@tdxsim/tdx-module";
import { KvmError } from "./errors.js";
import type { KvmHost } from "./host.js";
import { KVM_TDX_CPUID_NO_SUBLEAF, type TdxTdConf } from "./tdx-args.js";

/** TD HKIDs: 1 is the TDX global KeyID, 2..63 go to TDs (the module's KeyID split). */
export const TDX_FIRST_GUEST_HKID = 2;
export const TDX_LAST_GUEST_HKID = 63;

/**
 * KVM's supported XCR0 | XSS on the simulated host (kvm_caps.supported_xcr0 | supported_xss):
 * x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM), PKRU, AMX (TILECFG, TILEDATA). 6.16 has no
 * supervisor XSS features for guests (CET virtualisation came later), and the host has no MPX.
 */
export const KVM_SUPPORTED_XCR0_XSS =
  0x1n | 0x2n | 0x4n | 0x20n | 0x40n | 0x80n | 0x200n | 0x20000n | 0x40000n;

export class TdxHost {
  readonly module: TdxModule;
  readonly tdConf: TdxTdConf;
  /** TDCS pages a TD needs (TDCS_BASE_SIZE / 4 KiB) and TDVPS pages a vCPU needs. */
  readonly tdcsPages: number;
  readonly tdvpsPages: number;
  private readonly hkidsInUse = new Set<number>();

  constructor(
    readonly memory: HostPhysicalMemory,
    module?: TdxModule,
  ) {
    this.module = module ?? new TdxModule(memory);
    const rd = (id: bigint): bigint => {
      const r = this.module.tdhSysRd(id);
      if (r.status !== 0n) throw new Error(`TDH.SYS.RD 0x${id.toString(16)} failed`);
      return r.r8 ?? 0n;
    };
    const n = Number(rd(SysFieldId.NUM_CPUID_CONFIG));
    const cpuidConfigs = Array.from({ length: n }, (_, i) => {
      const leaves = rd(SysFieldId.CPUID_CONFIG_LEAVES + BigInt(i));
      const ab = rd(SysFieldId.CPUID_CONFIG_VALUES + BigInt(2 * i));
      const cd = rd(SysFieldId.CPUID_CONFIG_VALUES + BigInt(2 * i + 1));
      return {
        leaf: Number(leaves & 0xffffffffn),
        subleaf: Number(leaves >> 32n),
        eax: Number(ab & 0xffffffffn),
        ebx: Number(ab >> 32n),
        ecx: Number(cd & 0xffffffffn),
        edx: Number(cd >> 32n),
      };
    });
    this.tdConf = {
      attributesFixed0: rd(SysFieldId.ATTRIBUTES_FIXED0),
      attributesFixed1: rd(SysFieldId.ATTRIBUTES_FIXED1),
      xfamFixed0: rd(SysFieldId.XFAM_FIXED0),
      xfamFixed1: rd(SysFieldId.XFAM_FIXED1),
      cpuidConfigs,
    };
    this.tdcsPages = Math.max(MIN_NUM_TDCS_PAGES, Number(rd(SysFieldId.TDCS_BASE_SIZE)) / 4096);
    this.tdvpsPages = Number(rd(SysFieldId.TDVPS_BASE_SIZE)) / 4096;
  }

  /** The (leaf, subleaf) slots a KVM_TDX_INIT_VM CPUID entry may configure (subleaf -1 = leaf has none). */
  cpuidSlots(): { leaf: number; subleaf: number }[] {
    return this.tdConf.cpuidConfigs.map((c) => ({
      leaf: c.leaf,
      subleaf: c.subleaf === KVM_TDX_CPUID_NO_SUBLEAF ? 0 : c.subleaf,
    }));
  }

  /** tdx_guest_keyid_alloc: the lowest free TD HKID; ENOSPC when all are in use (ida_alloc_range). */
  allocHkid(): number {
    for (let k = TDX_FIRST_GUEST_HKID; k <= TDX_LAST_GUEST_HKID; k++) {
      if (!this.hkidsInUse.has(k)) {
        this.hkidsInUse.add(k);
        return k;
      }
    }
    throw new KvmError("ENOSPC", "every TDX private KeyID (HKID 2..63) is assigned to a TD");
  }

  freeHkid(hkid: number): void {
    this.hkidsInUse.delete(hkid);
  }

  /** Attach the CPU that TDH.VP.ENTER runs TD vCPUs on. */
  setGuestExecutor(executor: TdGuestExecutor): void {
    this.module.setGuestExecutor(executor);
    this.hasExecutor = true;
  }
  hasExecutor = false;

  get hkidsAssigned(): number {
    return this.hkidsInUse.size;
  }
}

const byMemory = new WeakMap<HostPhysicalMemory, TdxHost>();

/** The host's TDX module, created on first use (kvm_intel loading with tdx=1). */
export function tdxHostOf(host: KvmHost): TdxHost {
  let t = byMemory.get(host.physicalMemory);
  if (!t) {
    try {
      t = new TdxHost(host.physicalMemory, host.tdxModule);
    } catch (e) {
      // e.g. the memory's private-KeyID capability was taken by a module KVM was not given
      throw new KvmError("ENODEV", `the TDX module cannot be loaded: ${(e as Error).message}`);
    }
    if (host.tdGuestExecutor) t.setGuestExecutor(host.tdGuestExecutor);
    byMemory.set(host.physicalMemory, t);
  }
  return t;
}
