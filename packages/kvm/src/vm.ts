// A VM file (rust-vmm's VmFd / kvm-ioctls vm.rs): the VM-scope state that does not need the CPU
// or the TDX module — capabilities, KVM_ENABLE_CAP settings, the MSR filter, vCPU objects, the
// memory ioctls (in VmMemory) — and the raw dispatch of the VM ioctls implemented so far. The
// TDX sub-commands come with the TDX module (see README coverage table).

import {
  APIC_BUS_CYCLE_NS_DEFAULT,
  type CapVmContext,
  checkExtension,
  KVM_EXIT_HYPERCALL_VALID_MASK,
} from "./capabilities.js";
import { asKvmError, KvmError } from "./errors.js";
import { IoctlFile } from "./file.js";
import type { GuestMemfdFile } from "./guest-memfd.js";
import type { KvmHost } from "./host.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { checkUserSpaceMsrMask } from "./msr-exits.js";
import {
  buildMsrFilter,
  type MsrFilter,
  type MsrFilterRangeInput,
  NO_MSR_FILTER,
  parseMsrFilter,
} from "./msr-filter.js";
import type { KvmProcess } from "./process.js";
import { TdControl } from "./td.js";
import { TdLifecycle } from "./td-lifecycle.js";
import type { TdxCapabilities } from "./tdx-args.js";
import { parseTdxCmd, type TdxCmd, tdxCmdName } from "./tdx-cmd.js";
import { encodeTdxInitVm, scratch, type TdxInitVmArgs } from "./tdx-typed.js";
import { KvmCap, KvmTdx, KvmVmType, uapiName } from "./uapi/constants.js";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  KVM_CREATE_VCPU,
  KVM_ENABLE_CAP,
  KVM_GET_DIRTY_LOG,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_X86_SET_MSR_FILTER,
} from "./uapi/ioctls.js";
import { kvmEnableCap, kvmMsrFilter, kvmTdxCmd } from "./uapi/structs.js";
import { Vcpu } from "./vcpu.js";
import {
  type CreateGuestMemfdArgs,
  type SetMemoryAttributesArgs,
  type UserMemoryRegion,
  VmMemory,
} from "./vm-memory.js";
import { enableX2apicApi } from "./x2apic-api.js";

/** KVM_MAX_VCPU_IDS = KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO (4) on x86. */
export const KVM_VCPU_ID_RATIO = 4;

/** MAX_NR_RESERVED_IOAPIC_PINS = KVM_MAX_IRQ_ROUTES on x86. */
export const MAX_NR_RESERVED_IOAPIC_PINS = 4096;

export type IrqchipMode = "none" | "kernel" | "split";

export interface EnableCap {
  cap: number;
  flags?: number;
  args?: readonly bigint[];
}

export class Vm extends IoctlFile implements CapVmContext {
  readonly kind = "kvm-vm" as const;
  /** kvm_arch_vm_ioctl() answers unknown requests with ENOTTY. */
  protected readonly unknownIoctlErrno = "ENOTTY" as const;
  /** The fd the process installed for this VM. */
  fd = -1;
  /** kvm->max_vcpus: a TD is clamped to the present host CPUs at creation. */
  readonly maxVcpus: number;
  /** kvm->created_vcpus */
  createdVcpus = 0;
  irqchipMode: IrqchipMode = "none";
  nrReservedIoapicPins = 0;
  /** KVM_CAP_X86_USER_SPACE_MSR: which KVM_MSR_EXIT_REASON_* go to userspace. */
  userSpaceMsrMask = 0;
  /** KVM_CAP_EXIT_HYPERCALL: bit n set → hypercall n exits to userspace (only KVM_HC_MAP_GPA_RANGE exists). */
  hypercallExitEnabled = 0;
  /** KVM_X2APIC_API_* flags enabled with KVM_CAP_X2APIC_API (recorded: no KVM_GET/SET_LAPIC or MSI routing yet) */
  x2apicApiFlags = 0;
  apicBusCycleNs = APIC_BUS_CYCLE_NS_DEFAULT;
  msrFilter: MsrFilter = NO_MSR_FILTER;
  /** The TD's KVM-side state (meaningful for KVM_X86_TDX_VM only). */
  readonly td = new TdLifecycle();
  readonly vcpus = new Map<number, Vcpu>();
  /** Memslots, memory attributes, guest_memfd files and the zap hook. */
  readonly memory: VmMemory;

  constructor(
    readonly process: KvmProcess,
    readonly host: KvmHost,
    /** KVM_X86_*_VM */
    readonly type: number,
  ) {
    super();
    this.maxVcpus = type === KvmVmType.TDX_VM ? Math.min(host.maxVcpus, host.cpus) : host.maxVcpus;
    this.on(KVM_CHECK_EXTENSION, (arg) => this.checkExtension(arg.value));
    this.on(KVM_ENABLE_CAP, (arg) => this.enableCapRaw(arg));
    this.on(KVM_X86_SET_MSR_FILTER, (arg) => {
      this.msrFilter = parseMsrFilter(arg.read(kvmMsrFilter.size, "kvm_msr_filter"), this.process.userMemory);
      return 0;
    });
    this.on(KVM_MEMORY_ENCRYPT_OP, (arg) => this.memoryEncryptOpRaw(arg));
    this.on(KVM_CREATE_VCPU, (arg) => this.createVcpu(arg.value).fd);
    this.memory = new VmMemory(this);
    if (this.isTd) {
      // where KVM zaps mappings (conversion, punch, close, slot delete): private and/or shared side
      this.memory.onZap((z) => this.tdControl?.zap(z.startGpa, z.endGpa, z.filter));
    }
    this.on(KVM_SET_USER_MEMORY_REGION, (arg) => this.memory.setUserMemoryRegionRaw(arg, false));
    this.on(KVM_SET_USER_MEMORY_REGION2, (arg) => this.memory.setUserMemoryRegionRaw(arg, true));
    this.on(KVM_CREATE_GUEST_MEMFD, (arg) => this.memory.createGuestMemfdRaw(arg));
    this.on(KVM_SET_MEMORY_ATTRIBUTES, (arg) => this.memory.setMemoryAttributesRaw(arg));
    this.on(KVM_GET_DIRTY_LOG, (arg) => this.memory.getDirtyLogRaw(arg));
  }

  /** KVM_SET_USER_MEMORY_REGION2 (typed; v1 is the same without the guest_memfd fields). */
  setUserMemoryRegion(region: UserMemoryRegion): void {
    this.typed("KVM_SET_USER_MEMORY_REGION2", () => this.memory.setUserMemoryRegion(region));
  }

  /** KVM_CREATE_GUEST_MEMFD (typed): the new file, already installed in the process's fd table. */
  createGuestMemfd(args: CreateGuestMemfdArgs): GuestMemfdFile {
    return this.typed("KVM_CREATE_GUEST_MEMFD", () => this.memory.createGuestMemfd(args));
  }

  /** KVM_SET_MEMORY_ATTRIBUTES (typed). */
  setMemoryAttributes(args: SetMemoryAttributesArgs): void {
    this.typed("KVM_SET_MEMORY_ATTRIBUTES", () => this.memory.setMemoryAttributes(args));
  }

  /** KVM_GET_DIRTY_LOG (typed): the slot's dirty bitmap, cleared as it is read. */
  getDirtyLog(slot: number): Uint8Array {
    return this.typed("KVM_GET_DIRTY_LOG", () => this.memory.getDirtyLog(slot));
  }

  /** A typed-face call: EIO on a dead TD first, lower layers' errors as KvmError naming the ioctl. */
  private typed<T>(ioctl: string, body: () => T): T {
    return asKvmError(ioctl, () => {
      this.checkAlive();
      return body();
    });
  }

  /** kvm_vm_ioctl(): every request on a dead VM (terminated or bugged TD) fails with EIO. */
  override ioctl(request: number, arg: IoctlArg): number {
    this.checkAlive();
    return super.ioctl(request, arg);
  }

  checkAlive(): void {
    if (this.isTd) this.td.checkAlive();
  }

  /**
   * KVM_CREATE_VCPU (kvm_vm_ioctl_create_vcpu): id ≥ KVM_MAX_VCPU_IDS or no room under max_vcpus →
   * EINVAL; a TD also needs INIT_VM done and not finalized (EIO) and a split irqchip (EINVAL); a
   * duplicate id → EEXIST. The vCPU gets the lowest free fd.
   */
  createVcpu(id: bigint | number): Vcpu {
    const n = BigInt(id);
    const maxIds = BigInt(this.host.maxVcpus * KVM_VCPU_ID_RATIO);
    if (n < 0n || n >= maxIds) {
      throw new KvmError("EINVAL", `vCPU id ${n} is not below KVM_MAX_VCPU_IDS (${maxIds})`, { field: "id" });
    }
    if (this.createdVcpus >= this.maxVcpus) {
      throw new KvmError("EINVAL", `the VM already has max_vcpus (${this.maxVcpus}) vCPUs`);
    }
    if (this.isTd) this.td.checkCreateVcpu(this.irqchipMode === "split");
    const vcpuId = Number(n);
    if (this.vcpus.has(vcpuId))
      throw new KvmError("EEXIST", `vCPU ${vcpuId} already exists`, { field: "id" });
    const vcpu = new Vcpu(this, vcpuId);
    vcpu.fd = this.process.installFd(vcpu);
    this.vcpus.set(vcpuId, vcpu);
    this.createdVcpus++;
    return vcpu;
  }

  get isTd(): boolean {
    return this.type === KvmVmType.TDX_VM;
  }

  /** KVM_CHECK_EXTENSION on the VM fd (answers for this VM's type). */
  checkExtension(cap: bigint | number): number {
    return checkExtension(this.host, cap, this);
  }

  /** KVM_ENABLE_CAP on the VM fd (kvm_vm_ioctl_enable_cap, x86). */
  enableCap(c: EnableCap): void {
    const flags = c.flags ?? 0;
    const args = c.args ?? [];
    const arg0 = args[0] ?? 0n;
    if (flags !== 0) {
      throw new KvmError("EINVAL", `kvm_enable_cap.flags 0x${flags.toString(16)} must be 0`, {
        field: "kvm_enable_cap.flags",
      });
    }
    switch (c.cap) {
      case KvmCap.SPLIT_IRQCHIP:
        if (arg0 > BigInt(MAX_NR_RESERVED_IOAPIC_PINS)) {
          throw new KvmError(
            "EINVAL",
            `kvm_enable_cap.args[0] ${arg0} IOAPIC pins is more than ${MAX_NR_RESERVED_IOAPIC_PINS}`,
            { field: "kvm_enable_cap.args[0]" },
          );
        }
        if (this.irqchipMode !== "none") {
          throw new KvmError("EEXIST", `the VM already has an in-kernel irqchip (${this.irqchipMode})`);
        }
        if (this.createdVcpus > 0) {
          throw new KvmError("EEXIST", "KVM_CAP_SPLIT_IRQCHIP must be enabled before any vCPU is created");
        }
        this.irqchipMode = "split";
        this.nrReservedIoapicPins = Number(arg0);
        return;
      case KvmCap.X86_USER_SPACE_MSR:
        this.userSpaceMsrMask = checkUserSpaceMsrMask(arg0);
        return;
      case KvmCap.X2APIC_API:
        this.x2apicApiFlags = enableX2apicApi(this.x2apicApiFlags, arg0);
        return;
      case KvmCap.EXIT_HYPERCALL:
        if ((arg0 & ~BigInt(KVM_EXIT_HYPERCALL_VALID_MASK)) !== 0n) {
          throw new KvmError(
            "EINVAL",
            `kvm_enable_cap.args[0] 0x${arg0.toString(16)} has bits outside KVM_EXIT_HYPERCALL_VALID_MASK (0x${KVM_EXIT_HYPERCALL_VALID_MASK.toString(16)})`,
            { field: "kvm_enable_cap.args[0]" },
          );
        }
        this.hypercallExitEnabled = Number(arg0);
        return;
      case KvmCap.X86_APIC_BUS_CYCLES_NS:
        // tmict_to_ns() must not overflow: U32_MAX * ns has to fit in a u64
        if (arg0 === 0n || 0xffffffffn * arg0 >= 1n << 64n) {
          throw new KvmError(
            "EINVAL",
            `kvm_enable_cap.args[0] ${arg0} is not a usable APIC bus cycle in ns`,
            {
              field: "kvm_enable_cap.args[0]",
            },
          );
        }
        if (this.irqchipMode === "none") {
          throw new KvmError(
            "EINVAL",
            "KVM_CAP_X86_APIC_BUS_CYCLES_NS needs an in-kernel local APIC (irqchip)",
          );
        }
        if (this.createdVcpus > 0) {
          throw new KvmError(
            "EINVAL",
            "KVM_CAP_X86_APIC_BUS_CYCLES_NS must be set before any vCPU is created",
          );
        }
        this.apicBusCycleNs = Number(arg0);
        return;
      default:
        throw new KvmError(
          "EINVAL",
          `kvm_enable_cap.cap ${c.cap} (${uapiName(KvmCap, c.cap) ?? "unknown"}) cannot be enabled on a VM in tdxsim`,
          { field: "kvm_enable_cap.cap" },
        );
    }
  }

  private enableCapRaw(arg: IoctlArg): number {
    const c = kvmEnableCap.decode(arg.read(kvmEnableCap.size, "kvm_enable_cap"));
    this.enableCap({ cap: c.cap, flags: c.flags, args: c.args });
    return 0;
  }

  /** KVM_X86_SET_MSR_FILTER, typed: flags = KVM_MSR_FILTER_DEFAULT_*, up to 16 ranges. */
  setMsrFilter(flags: number, ranges: readonly MsrFilterRangeInput[]): void {
    this.msrFilter = buildMsrFilter(flags, ranges);
  }

  /**
   * KVM_MEMORY_ENCRYPT_OP on the VM fd: ENOTTY unless the VM is a TD (vt_mem_enc_ioctl); for a TD
   * the kvm_tdx_cmd is checked (EFAULT/EINVAL as tdx_vm_ioctl) before the sub-command runs.
   */
  tdxCommand(cmd: TdxCmd): number {
    return this.typed(tdxCmdName(cmd.id), () => {
      const td = this.tdx;
      switch (cmd.id) {
        case KvmTdx.CAPABILITIES:
          td.getCapabilities(cmd);
          return 0;
        case KvmTdx.INIT_VM:
          td.initVm(cmd);
          return 0;
        case KvmTdx.FINALIZE_VM:
          td.finalize(cmd);
          return 0;
        case KvmTdx.TERMINATE_VM:
          td.terminate(cmd);
          return 0;
        default:
          throw new KvmError("EINVAL", `${tdxCmdName(cmd.id)} is not a VM-fd sub-command`, {
            field: "kvm_tdx_cmd.id",
          });
      }
    });
  }

  /** KVM_TDX_CAPABILITIES (typed). */
  tdxCapabilities(): TdxCapabilities {
    return this.typed("KVM_TDX_CAPABILITIES", () => this.tdx.capabilities());
  }

  /** KVM_TDX_INIT_VM (typed): the same checks and SEAMCALLs as the raw ioctl; hw_error in the KvmError. */
  tdxInitVm(args: TdxInitVmArgs): void {
    const { mem, addr } = scratch(encodeTdxInitVm(args));
    this.typed("KVM_TDX_INIT_VM", () => this.tdx.initVm({ id: KvmTdx.INIT_VM, flags: 0, data: addr }, mem));
  }

  /** KVM_TDX_FINALIZE_VM (typed). */
  tdxFinalizeVm(): void {
    this.tdxCommand({ id: KvmTdx.FINALIZE_VM, flags: 0, data: 0n });
  }

  /** KVM_TDX_TERMINATE_VM (typed). */
  tdxTerminateVm(): void {
    this.tdxCommand({ id: KvmTdx.TERMINATE_VM, flags: 0, data: 0n });
  }

  private tdControl: TdControl | undefined;

  /** KVM's TDX state of this TD (struct kvm_tdx); the host's TDX module is loaded on first use. */
  get tdx(): TdControl {
    if (!this.isTd) throw new KvmError("EINVAL", "not a TD (KVM_X86_TDX_VM)");
    this.tdControl ??= new TdControl(this);
    return this.tdControl;
  }

  /** The VM is destroyed when its fd and every vCPU fd are closed: the TD's pages are reclaimed. */
  release(): void {
    this.fdClosed = true;
    this.maybeDestroy();
  }
  private fdClosed = false;

  maybeDestroy(): void {
    if (!this.fdClosed) return;
    for (const v of this.vcpus.values()) if (this.process.file(v.fd) === v) return;
    this.tdControl?.teardown();
  }

  private memoryEncryptOpRaw(arg: IoctlArg): number {
    if (!this.isTd) {
      throw new KvmError(
        "ENOTTY",
        `KVM_MEMORY_ENCRYPT_OP is only for confidential VMs; VM type ${this.type} is not one`,
      );
    }
    const cmd = parseTdxCmd(arg.read(kvmTdxCmd.size, "kvm_tdx_cmd"), "vm");
    // the whole kvm_tdx_cmd goes back to userspace, so hw_error is visible (also on failure)
    const writeBack = (hwError: bigint) =>
      arg.write(
        kvmTdxCmd.encode({ id: cmd.id, flags: cmd.flags, data: cmd.data, hw_error: hwError }),
        "kvm_tdx_cmd",
      );
    try {
      const r = this.tdxCommand(cmd);
      writeBack(0n);
      return r;
    } catch (e) {
      if (e instanceof KvmError) writeBack(e.hwError ?? 0n);
      throw e;
    }
  }
}
