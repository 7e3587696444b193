// The /dev/kvm file (rust-vmm's Kvm / kvm-ioctls system.rs): system-scope ioctls, typed and raw.

import { checkExtension } from "./capabilities.js";
import { KvmError } from "./errors.js";
import { IoctlFile } from "./file.js";
import type { KvmHost } from "./host.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { getMsrIndexListRaw, msrIndexList } from "./msrs.js";
import type { KvmProcess } from "./process.js";
import { emulatedCpuid, supportedCpuid } from "./supported-cpuid.js";
import { KVM_API_VERSION } from "./uapi/constants.js";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_GET_API_VERSION,
  KVM_GET_EMULATED_CPUID,
  KVM_GET_MSR_INDEX_LIST,
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
    this.on(KVM_GET_SUPPORTED_CPUID, (arg) => this.getCpuidRaw(arg, false));
    this.on(KVM_GET_EMULATED_CPUID, (arg) => this.getCpuidRaw(arg, true));
    this.on(KVM_GET_MSR_INDEX_LIST, (arg) => getMsrIndexListRaw(arg));
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
   * entries, is E2BIG with nothing written back (kvm_dev_ioctl_get_cpuid fails before nent is
   * copied out; callers retry with a bigger buffer); a capacity above KVM_MAX_CPUID_ENTRIES is
   * clamped. The table is the host's `supportedCpuid` option, else what the @tdxsim/x86 core
   * executes (supported-cpuid.ts).
   */
  getSupportedCpuid(capacity: number): KvmCpuidEntry2[] {
    return this.fitCpuid(this.host.supportedCpuid ?? supportedCpuid(), capacity);
  }

  /** KVM_GET_MSR_INDEX_LIST (typed): the MSRs KVM_GET/SET_MSRS save and restore. */
  getMsrIndexList(): number[] {
    return msrIndexList();
  }

  /**
   * KVM_GET_EMULATED_CPUID: the features KVM emulates (supported-cpuid.ts). __do_cpuid_func_emulated
   * checks for a free slot before every function it is asked about, including the ranges that add
   * nothing (0x80000000, 0x40000000), so it needs one slot more than it fills (UNCONFIRMED reading).
   */
  getEmulatedCpuid(capacity: number): KvmCpuidEntry2[] {
    const table = emulatedCpuid();
    return this.fitCpuid(table, capacity, table.length + 1);
  }

  private fitCpuid(
    table: readonly KvmCpuidEntry2[],
    capacity: number,
    needed = table.length,
  ): KvmCpuidEntry2[] {
    if (capacity < 1)
      throw new KvmError("E2BIG", "kvm_cpuid2.nent must be at least 1", { field: "kvm_cpuid2.nent" });
    const slots = Math.min(capacity, KVM_MAX_CPUID_ENTRIES);
    if (needed > slots) {
      throw new KvmError("E2BIG", `kvm_cpuid2.nent ${capacity} is less than the ${needed} entries needed`, {
        field: "kvm_cpuid2.nent",
      });
    }
    return table.map((e) => ({ ...e, padding: [0, 0, 0] }));
  }

  private getCpuidRaw(arg: IoctlArg, emulated: boolean): number {
    const header = kvmCpuid2Header.decode(arg.read(kvmCpuid2Header.size, "kvm_cpuid2"));
    if (emulated) checkEmulatedPadding(arg, header.nent);
    const entries = emulated ? this.getEmulatedCpuid(header.nent) : this.getSupportedCpuid(header.nent);
    const out = new Uint8Array(entries.length * kvmCpuidEntry2.size);
    entries.forEach((e, i) => {
      kvmCpuidEntry2.encode(e, out, i * kvmCpuidEntry2.size);
    });
    arg.write(out, "kvm_cpuid2.entries", kvmCpuid2Header.size);
    arg.write(kvmCpuid2Header.encode({ nent: entries.length, padding: header.padding }), "kvm_cpuid2");
    return 0;
  }
}

/**
 * sanity_check_entries() (KVM_GET_EMULATED_CPUID only): every entry the caller passes must have
 * zero padding, and be readable — otherwise EINVAL. (nent < 1 is E2BIG before this.)
 */
function checkEmulatedPadding(arg: IoctlArg, nent: number): void {
  if (nent < 1) return;
  const n = Math.min(nent, KVM_MAX_CPUID_ENTRIES);
  const pad = kvmCpuidEntry2.offsetOf("padding");
  for (let i = 0; i < n; i++) {
    let bytes: Uint8Array;
    try {
      bytes = arg.read(
        12,
        "kvm_cpuid2.entries.padding",
        kvmCpuid2Header.size + i * kvmCpuidEntry2.size + pad,
      );
    } catch {
      throw new KvmError("EINVAL", `kvm_cpuid2.entries[${i}].padding cannot be read`, {
        field: "kvm_cpuid2.entries",
      });
    }
    if (bytes.some((b) => b !== 0)) {
      throw new KvmError("EINVAL", `kvm_cpuid2.entries[${i}].padding must be zero`, {
        field: `kvm_cpuid2.entries[${i}].padding`,
      });
    }
  }
}
