// KVM_ENABLE_CAP(KVM_CAP_X2APIC_API) (kvm_vm_ioctl_enable_cap, 6.16): args[0] is a set of
// KVM_X2APIC_API_* flags, anything else → EINVAL. KVM needs neither for a TD (QEMU and the TDX
// selftests enable both; 6.16 does not check them for TDX VMs — the spec leaves this open).
import { KvmError } from "./errors.js";

export const KvmX2apicApi = {
  /** kvm->arch.x2apic_format: 32-bit x2APIC IDs in KVM_GET/SET_LAPIC and MSI routing */
  USE_32BIT_IDS: 1 << 0,
  /** kvm->arch.x2apic_broadcast_quirk_disabled: 0xff is not a broadcast in x2APIC mode */
  DISABLE_BROADCAST_QUIRK: 1 << 1,
} as const;

export const KVM_X2APIC_API_FLAGS = KvmX2apicApi.USE_32BIT_IDS | KvmX2apicApi.DISABLE_BROADCAST_QUIRK;

/**
 * The flags now in force: KVM only ever sets them (a later enable with fewer flags keeps the earlier
 * ones), and each must be a KVM_X2APIC_API_* bit.
 */
export function enableX2apicApi(current: number, arg0: bigint): number {
  if ((arg0 & ~BigInt(KVM_X2APIC_API_FLAGS)) !== 0n) {
    throw new KvmError(
      "EINVAL",
      `kvm_enable_cap.args[0] 0x${arg0.toString(16)} has bits outside KVM_X2APIC_API_VALID_FLAGS (0x3)`,
      { field: "kvm_enable_cap.args[0]" },
    );
  }
  return current | Number(arg0);
}
