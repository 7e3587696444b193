// The simulated host machine and kernel configuration that KVM's answers depend on.

import { HostPhysicalMemory } from "@tdxsim/memory";
import { TdCpuExecutor, type TdGuestExecutor, type TdxModule } from "@tdxsim/tdx-module";
import { KvmVmType } from "./uapi/constants.js";
import type { KvmCpuidEntry2 } from "./uapi/structs.js";

export interface KvmHostOptions {
  /** A loaded, enabled TDX module (kvm_intel.tdx=1): KVM_X86_TDX_VM is offered. Default true. */
  tdx?: boolean;
  /** Present (= online) host CPUs; TDs get at most this many vCPUs. Default 8. */
  cpus?: number;
  /** KVM_MAX_VCPUS (CONFIG_KVM_MAX_NR_VCPUS; 4096 in MAXSMP distribution kernels). Default 4096. */
  maxVcpus?: number;
  /**
   * What KVM_GET_SUPPORTED_CPUID reports: the CPU model's CPUID as KVM can virtualize it. It comes
   * from the x86 package; without it that ioctl is refused (see README).
   */
  supportedCpuid?: readonly KvmCpuidEntry2[];
  /** RLIMIT_NOFILE: the fd table's size. Default 1024. */
  maxFds?: number;
  /**
   * The machine's RAM, where guest_memfd pages come from (the TDX module shares it). Default: a
   * sparse 64 GiB (only touched pages cost memory).
   */
  physicalMemory?: HostPhysicalMemory;
  /**
   * The CPU that runs TD vCPUs inside TDH.VP.ENTER. Default: the TDX module's TdCpuExecutor (one
   * @tdxsim/x86 core per TD vCPU running the guest's code).
   */
  tdGuestExecutor?: TdGuestExecutor;
  /**
   * The TDX module, when the host was built around one already (it must be over `physicalMemory`);
   * by default KVM creates it on first use, taking the memory's private-KeyID capability.
   */
  tdxModule?: TdxModule;
}

/** Default host RAM size when no HostPhysicalMemory is given. */
export const DEFAULT_HOST_MEMORY_BYTES = 2 ** 36;

export interface KvmHost {
  readonly tdx: boolean;
  readonly cpus: number;
  readonly maxVcpus: number;
  readonly supportedCpuid: readonly KvmCpuidEntry2[] | undefined;
  readonly maxFds: number;
  readonly physicalMemory: HostPhysicalMemory;
  /** kvm_caps.supported_vm_types: bit n set iff VM type n can be created. */
  readonly supportedVmTypes: number;
  readonly tdGuestExecutor: TdGuestExecutor | undefined;
  readonly tdxModule: TdxModule | undefined;
}

export function resolveHost(options: KvmHostOptions = {}): KvmHost {
  const tdx = options.tdx ?? true;
  const cpus = options.cpus ?? 8;
  const maxVcpus = options.maxVcpus ?? 4096;
  const maxFds = options.maxFds ?? 1024;
  for (const [name, v] of [
    ["cpus", cpus],
    ["maxVcpus", maxVcpus],
    ["maxFds", maxFds],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`host option ${name} ${v} is not a positive integer`);
  }
  return {
    tdx,
    cpus,
    maxVcpus,
    maxFds,
    supportedCpuid: options.supportedCpuid,
    tdGuestExecutor: options.tdGuestExecutor ?? new TdCpuExecutor(),
    tdxModule: options.tdxModule,
    physicalMemory: options.physicalMemory ?? new HostPhysicalMemory(DEFAULT_HOST_MEMORY_BYTES),
    // SW_PROTECTED_VM needs CONFIG_KVM_SW_PROTECTED_VM (a debug option) and SEV needs AMD: not offered.
    supportedVmTypes: (1 << KvmVmType.DEFAULT_VM) | (tdx ? 1 << KvmVmType.TDX_VM : 0),
  };
}
