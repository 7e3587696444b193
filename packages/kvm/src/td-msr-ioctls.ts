// KVM_GET_MSRS / KVM_SET_MSRS on a TD vCPU (msr_io / __msr_io / do_get_msr / do_set_msr, x86.c 6.16):
// host-initiated accesses to the MSRs KVM emulates for the TD (tdx-msr-emulation.ts). The entries
// are processed in order until the first one that fails; the ioctl returns how many succeeded (GET
// writes all entries back, the failed one with data 0). nmsrs ≥ MAX_IO_MSRS → E2BIG; a changed
// value of an immutable feature MSR (ARCH_CAPABILITIES) after the first KVM_RUN → EINVAL.
import { KvmError } from "./errors.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { KvmMsrRet, TdxMsr } from "./msr-exits.js";
import { MAX_IO_MSRS } from "./msrs.js";
import { tdMsrsOf } from "./tdx-msr-emulation.js";
import { kvmMsrEntry, kvmMsrsHeader } from "./uapi/structs.js";
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

function requireTd(vcpu: Vcpu, ioctl: string): void {
  if (!vcpu.vm.isTd) {
    throw new KvmError("EINVAL", `${ioctl} on a normal (non-TD) VM's vCPU is not implemented in tdxsim yet`);
  }
}

/** do_get_msr for each entry until one fails; the entries get their data. Returns the count read. */
export function getMsrs(vcpu: Vcpu, entries: MsrEntry[]): number {
  requireTd(vcpu, "KVM_GET_MSRS");
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
  requireTd(vcpu, "KVM_SET_MSRS");
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

/** The raw ioctls: struct kvm_msrs { u32 nmsrs; u32 pad; struct kvm_msr_entry entries[]; } at the argument. */
export function msrIoctl(vcpu: Vcpu, arg: IoctlArg, write: boolean): number {
  const name = write ? "KVM_SET_MSRS" : "KVM_GET_MSRS";
  requireTd(vcpu, name);
  const header = kvmMsrsHeader.decode(arg.read(kvmMsrsHeader.size, "kvm_msrs"));
  if (header.nmsrs >= MAX_IO_MSRS) {
    throw new KvmError("E2BIG", `kvm_msrs.nmsrs ${header.nmsrs} ≥ MAX_IO_MSRS (${MAX_IO_MSRS})`, {
      field: "kvm_msrs.nmsrs",
    });
  }
  const size = header.nmsrs * kvmMsrEntry.size;
  const bytes = arg.read(size, "kvm_msrs.entries", kvmMsrsHeader.size);
  const entries: MsrEntry[] = [];
  for (let i = 0; i < header.nmsrs; i++) {
    const e = kvmMsrEntry.decode(bytes.subarray(i * kvmMsrEntry.size, (i + 1) * kvmMsrEntry.size));
    entries.push({ index: e.index, data: e.data });
  }
  if (write) return setMsrs(vcpu, entries);
  const n = getMsrs(vcpu, entries);
  const out = new Uint8Array(size);
  entries.forEach((e, i) => {
    out.set(kvmMsrEntry.encode({ index: e.index, reserved: 0, data: e.data }), i * kvmMsrEntry.size);
  });
  // the reserved words go back as they came (KVM copies the whole entries array back)
  for (let i = 0; i < header.nmsrs; i++) out.set(bytes.subarray(i * 16 + 4, i * 16 + 8), i * 16 + 4);
  arg.write(out, "kvm_msrs.entries", kvmMsrsHeader.size);
  return n;
}
