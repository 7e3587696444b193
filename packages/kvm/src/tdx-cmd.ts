// KVM_MEMORY_ENCRYPT_OP for TDX: the struct kvm_tdx_cmd checks both scopes make before any
// sub-command runs (arch/x86/kvm/vmx/tdx.c tdx_vm_ioctl / tdx_vcpu_ioctl, 6.16; spec §1.3).
// VM fd: copy (EFAULT), hw_error ≠ 0 → EINVAL, id ∉ {CAPABILITIES, INIT_VM, FINALIZE_VM,
// TERMINATE_VM} → EINVAL. vCPU fd: id ∉ {INIT_VCPU, INIT_MEM_REGION, GET_CPUID} → EINVAL (the
// "no HKID yet / already RUNNABLE → EINVAL" check comes first there and needs the TD's state).
import { KvmError } from "./errors.js";
import { KvmTdx, uapiName } from "./uapi/constants.js";
import { kvmTdxCmd } from "./uapi/structs.js";

export type TdxCmdScope = "vm" | "vcpu";

export interface TdxCmd {
  readonly id: number;
  readonly flags: number;
  readonly data: bigint;
}

const VM_SCOPE: ReadonlySet<number> = new Set([
  KvmTdx.CAPABILITIES,
  KvmTdx.INIT_VM,
  KvmTdx.FINALIZE_VM,
  KvmTdx.TERMINATE_VM,
]);
const VCPU_SCOPE: ReadonlySet<number> = new Set([KvmTdx.INIT_VCPU, KvmTdx.INIT_MEM_REGION, KvmTdx.GET_CPUID]);

export function tdxCmdName(id: number): string {
  return id < KvmTdx.CMD_NR_MAX ? (uapiName(KvmTdx, id) ?? `KVM_TDX_(${id})`) : `KVM_TDX_(${id})`;
}

/** Decode and check a kvm_tdx_cmd (24 bytes) for `scope`. */
export function parseTdxCmd(bytes: Uint8Array, scope: TdxCmdScope): TdxCmd {
  const cmd = kvmTdxCmd.decode(bytes);
  if (cmd.hw_error !== 0n) {
    throw new KvmError("EINVAL", `kvm_tdx_cmd.hw_error 0x${cmd.hw_error.toString(16)} must be 0 on input`, {
      field: "kvm_tdx_cmd.hw_error",
    });
  }
  const allowed = scope === "vm" ? VM_SCOPE : VCPU_SCOPE;
  if (!allowed.has(cmd.id)) {
    throw new KvmError(
      "EINVAL",
      `kvm_tdx_cmd.id ${cmd.id} (${tdxCmdName(cmd.id)}) is not a ${scope === "vm" ? "VM" : "vCPU"}-fd sub-command`,
      { field: "kvm_tdx_cmd.id" },
    );
  }
  return { id: cmd.id, flags: cmd.flags, data: cmd.data };
}
