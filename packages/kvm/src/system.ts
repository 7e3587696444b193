// The /dev/kvm file (rust-vmm's Kvm / kvm-ioctls system.rs): system-scope ioctls, typed and raw.

import { checkExtension } from "./capabilities.js";
import { KvmError } from "./errors.js";
import { IoctlFile } from "./file.js";
import type { KvmHost } from "./host.js";
import type { IoctlArg } from "./ioctl-arg.js";
import type { KvmProcess } from "./process.js";
import { KVM_API_VERSION } from "./uapi/constants.js";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_GET_API_VERSION,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
} from "./uapi/ioctls.js";
import { KVM_VCPU_MMAP_SIZE } from "./uapi/kvm-run-layout.js";
import {
  KVM_MAX_CPUID_ENTRIES,
  type KvmCpuidEntry2,
  kvmCpuid2Header,
  kvmCpuidEntry2,
} from "./uapi/structs.js";
import { Vm } from "./vm.js";

/** These ioctls take no argument: the kernel refuses a non-zero one with EINVAL. */
function requireNoArg(arg: IoctlArg, name: string): void {
  if (arg.value !== 0n) {
    throw new KvmError("EINVAL", `arg ${arg.value} must be 0 (${name} takes no argument)`, { field: "arg" });
  }
}

export class Kvm extends IoctlFile {
  readonly kind = "kvm" as const;
  /** kvm_arch_dev_ioctl() answers unknown requests with EINVAL on x86. */
  protected readonly unknownIoctlErrno = "EINVAL" as const;

  constructor(
    readonly process: KvmProcess,
    readonly host: KvmHost,
  ) {
    super();
    this.on(KVM_GET_API_VERSION, (arg) => {
      requireNoArg(arg, "KVM_GET_API_VERSION");
      return this.getApiVersion();
    });
    this.on(KVM_CREATE_VM, (arg) => this.createVm(arg.value).fd);
    this.on(KVM_CHECK_EXTENSION, (arg) => this.checkExtension(arg.value));
    this.on(KVM_GET_VCPU_MMAP_SIZE, (arg) => {
      requireNoArg(arg, "KVM_GET_VCPU_MMAP_SIZE");
      return this.getVcpuMmapSize();
    });
    this.on(KVM_GET_SUPPORTED_CPUID, (arg) => this.getSupportedCpuidRaw(arg));
  }

  getApiVersion(): number {
    return KVM_API_VERSION;
  }

  /** KVM_CREATE_VM: the type must be one the host supports (kvm_is_vm_type_supported), else EINVAL. */
  createVm(type: bigint | number): Vm {
    const t = BigInt(type);
    if (t >= 32n || (this.host.supportedVmTypes & (1 << Number(t))) === 0) {
      throw new KvmError(
        "EINVAL",
        `VM type ${t} is not supported by this host (KVM_CAP_VM_TYPES = 0x${this.host.supportedVmTypes.toString(16)})`,
        { field: "type" },
      );
    }
    const vm = new Vm(this.process, this.host, Number(t));
    vm.fd = this.process.installFd(vm);
    return vm;
  }

  checkExtension(cap: bigint | number): number {
    return checkExtension(this.host, cap);
  }

  getVcpuMmapSize(): number {
    return KVM_VCPU_MMAP_SIZE;
  }

  /**
   * KVM_GET_SUPPORTED_CPUID: `capacity` is the caller's nent. nent < 1, or fewer slots than
   * entries, is E2BIG with nothing written back (callers retry with a bigger buffer); a capacity
   * above KVM_MAX_CPUID_ENTRIES is clamped.
   */
  getSupportedCpuid(capacity: number): KvmCpuidEntry2[] {
    const table = this.host.supportedCpuid;
    if (!table) {
      throw new KvmError(
        "ENOTTY",
        "KVM_GET_SUPPORTED_CPUID: no CPU model is attached to this simulated host (supportedCpuid comes from @tdxsim/x86)",
      );
    }
    if (capacity < 1)
      throw new KvmError("E2BIG", "kvm_cpuid2.nent must be at least 1", { field: "kvm_cpuid2.nent" });
    const slots = Math.min(capacity, KVM_MAX_CPUID_ENTRIES);
    if (table.length > slots) {
      throw new KvmError(
        "E2BIG",
        `kvm_cpuid2.nent ${capacity} is less than the ${table.length} supported leaves`,
        {
          field: "kvm_cpuid2.nent",
        },
      );
    }
    return table.map((e) => ({ ...e, padding: [0, 0, 0] }));
  }

  private getSupportedCpuidRaw(arg: IoctlArg): number {
    const header = kvmCpuid2Header.decode(arg.read(kvmCpuid2Header.size, "kvm_cpuid2"));
    const entries = this.getSupportedCpuid(header.nent);
    const out = new Uint8Array(entries.length * kvmCpuidEntry2.size);
    entries.forEach((e, i) => {
      kvmCpuidEntry2.encode(e, out, i * kvmCpuidEntry2.size);
    });
    arg.write(out, "kvm_cpuid2.entries", kvmCpuid2Header.size);
    arg.write(kvmCpuid2Header.encode({ nent: entries.length, padding: header.padding }), "kvm_cpuid2");
    return 0;
  }
}
