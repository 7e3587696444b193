// KVM_GET_MSRS / KVM_SET_MSRS on a TD vCPU (vcpu.ts sends only TD vCPUs here; msr_io / __msr_io /
// do_get_msr / do_set_msr, x86.c 6.16):
// host-initiated accesses to the MSRs KVM emulates for the TD (tdx-msr-emulation.ts). The entries
// are processed in order until the first one that fails; the ioctl returns how many succeeded (GET
// writes all entries back, the failed one with data 0). nmsrs ≥ MAX_IO_MSRS → E2BIG; a changed
// value of an immutable feature MSR (ARCH_CAPABILITIES) after the first KVM_RUN → EINVAL.
import { KvmError } from "./errors.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { KvmMsrRet, TdxMsr } from "./msr-exits.js";
import { kvmMsrsIoctl } from "./msrs.js";
import { tdMsrsOf } from "./tdx-msr-emulation.js";
import type { Vcpu } from "./vcpu.js";

export interface MsrEntry {
  index: number;
  data: bigint;
}

/** kvm_is_immutable_feature_msr() among the MSRs a TD has (UCODE_REV is exempt upstream). */
const IMMUTABLE_FEATURE_MSRS: ReadonlySet<number> = new Set([TdxMsr.IA32_ARCH_CAPABILITIES]);

/** Typed callers: each index must be a u32 and each value a u64 (the raw face gets them from the struct). */
function checkEntries(entries: readonly MsrEntry[]): void {
  entries.forEach((e, i) => {
    if (!Number.isInteger(e.index) || e.index < 0 || e.index > 0xffffffff)
      throw new KvmError("EINVAL", `kvm_msrs.entries[${i}].index ${e.index} is not a u32`, {
        field: `kvm_msrs.entries[${i}].index`,
      });
    if (typeof e.data !== "bigint" || e.data < 0n || e.data >= 1n << 64n)
      throw new KvmError("EINVAL", `kvm_msrs.entries[${i}].data ${e.data} is not a u64`, {
        field: `kvm_msrs.entries[${i}].data`,
      });
  });
}

/** do_get_msr for each entry until one fails; the entries get their data. Returns the count read. */
export function getMsrs(vcpu: Vcpu, entries: MsrEntry[]): number {
  checkEntries(entries);
  const msrs = tdMsrsOf(vcpu);
  for (let i = 0; i < entries.length; i++) {
    const r = msrs.get(entries[i]!.index >>> 0, true);
    entries[i]!.data = r.data;
    if (r.ret !== KvmMsrRet.OK) return i;
  }
  return entries.length;
}

/** do_set_msr for each entry until one fails. Returns the count written. */
export function setMsrs(vcpu: Vcpu, entries: readonly MsrEntry[]): number {
  checkEntries(entries);
  const msrs = tdMsrsOf(vcpu);
  for (let i = 0; i < entries.length; i++) {
    const { index, data } = entries[i]!;
    const msr = index >>> 0;
    if (vcpu.hasRun && IMMUTABLE_FEATURE_MSRS.has(msr)) {
      const now = msrs.get(msr, true);
      if (now.ret !== KvmMsrRet.OK || now.data !== data) {
        throw new KvmError(
          "EINVAL",
          `kvm_msrs.entries[${i}]: MSR 0x${msr.toString(16)} is an immutable feature MSR and the vCPU has run`,
          { field: `kvm_msrs.entries[${i}].data` },
        );
      }
    }
    if (msrs.set(msr, data, true) !== KvmMsrRet.OK) return i;
  }
  return entries.length;
}

/** The raw ioctls (struct kvm_msrs framing shared with normal vCPUs: msrs.ts kvmMsrsIoctl). */
export function msrIoctl(vcpu: Vcpu, arg: IoctlArg, write: boolean): number {
  return kvmMsrsIoctl(arg, write, (entries) => (write ? setMsrs(vcpu, entries) : getMsrs(vcpu, entries)));
}
