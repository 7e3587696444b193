// KVM_GET_MSRS / KVM_SET_MSRS on a normal vCPU (msr_io / __msr_io, arch/x86/kvm/x86.c 6.16) and
// KVM_GET_MSR_INDEX_LIST on /dev/kvm. The MSRs are the ones the @tdxsim/x86 core implements; an
// entry KVM cannot process stops the loop, and the ioctl returns how many entries were processed.
import { isMsrHandled, MSR } from "@tdxsim/x86";
import { KvmError } from "./errors.js";
import type { IoctlArg } from "./ioctl-arg.js";
import { KVM_EMULATED_MSR_LIST } from "./kvm-msrs.js";
import type { NormalVcpu } from "./normal-vcpu.js";
import { type KvmMsrEntry, kvmMsrEntry, kvmMsrListHeader, kvmMsrsHeader } from "./uapi/structs.js";

/** MAX_IO_MSRS: at most 255 entries per KVM_GET/SET_MSRS (nmsrs ≥ 256 → E2BIG). */
export const MAX_IO_MSRS = 256;

/**
 * KVM_GET_MSR_INDEX_LIST: msrs_to_save (in KVM's order) then emulated_msrs, kept to those the core
 * implements, then the ones KVM emulates itself (kvm-msrs.ts). EFER, FS/GS base and APIC base travel in kvm_sregs (KVM does not list them either);
 * IA32_PRED_CMD is write-only.
 */
const MSRS_TO_SAVE = [
  MSR.IA32_SYSENTER_CS,
  MSR.IA32_SYSENTER_ESP,
  MSR.IA32_SYSENTER_EIP,
  MSR.IA32_STAR,
  MSR.IA32_CSTAR,
  MSR.IA32_KERNEL_GS_BASE,
  MSR.IA32_FMASK,
  MSR.IA32_LSTAR,
  MSR.IA32_TIME_STAMP_COUNTER,
  MSR.IA32_PAT,
  MSR.IA32_TSC_AUX,
  MSR.IA32_SPEC_CTRL,
];
const EMULATED_MSRS = [MSR.IA32_TSC_ADJUST, MSR.IA32_MISC_ENABLE];

export function msrIndexList(): number[] {
  const core: number[] = [...MSRS_TO_SAVE, ...EMULATED_MSRS].filter(isMsrHandled);
  return [...core, ...KVM_EMULATED_MSR_LIST];
}

/** KVM_GET_MSR_INDEX_LIST (raw): nmsrs is written back before the E2BIG check, as kvm_arch_dev_ioctl does. */
export function getMsrIndexListRaw(arg: IoctlArg): number {
  const { nmsrs } = kvmMsrListHeader.decode(arg.read(kvmMsrListHeader.size, "kvm_msr_list"));
  const list = msrIndexList();
  arg.write(kvmMsrListHeader.encode({ nmsrs: list.length }), "kvm_msr_list");
  if (nmsrs < list.length) {
    throw new KvmError(
      "E2BIG",
      `kvm_msr_list.nmsrs ${nmsrs} < ${list.length} MSRs (the count was written back)`,
      {
        field: "kvm_msr_list.nmsrs",
      },
    );
  }
  const out = new Uint8Array(4 * list.length);
  const view = new DataView(out.buffer);
  list.forEach((index, i) => {
    view.setUint32(4 * i, index, true);
  });
  arg.write(out, "kvm_msr_list.indices", kvmMsrListHeader.size);
  return 0;
}

/** __msr_io: process entries in order until one fails; returns how many were processed. */
export function msrIo(vcpu: NormalVcpu, entries: KvmMsrEntry[], write: boolean): number {
  if (entries.length >= MAX_IO_MSRS) {
    throw new KvmError("E2BIG", `kvm_msrs.nmsrs ${entries.length} ≥ MAX_IO_MSRS (256)`, {
      field: "kvm_msrs.nmsrs",
    });
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const r = vcpu.hostMsr(e.index, write ? e.data : undefined);
    if (r === undefined) return i;
    if (!write) e.data = r;
  }
  return entries.length;
}

/** KVM_GET_MSRS / KVM_SET_MSRS (raw) of a normal vCPU. */
export function msrIoRaw(vcpu: NormalVcpu, arg: IoctlArg, write: boolean): number {
  return kvmMsrsIoctl(arg, write, (entries) => msrIo(vcpu, entries, write));
}

/**
 * The framing both VM types share: struct kvm_msrs { u32 nmsrs; u32 pad; struct kvm_msr_entry
 * entries[]; } at the argument; nmsrs ≥ MAX_IO_MSRS → E2BIG; `process` handles the entries in order
 * and returns how many succeeded; for GET the whole entries array is copied back (reserved words
 * as they came), as msr_io does.
 */
export function kvmMsrsIoctl(
  arg: IoctlArg,
  write: boolean,
  process: (entries: KvmMsrEntry[]) => number,
): number {
  const { nmsrs } = kvmMsrsHeader.decode(arg.read(kvmMsrsHeader.size, "kvm_msrs"));
  if (nmsrs >= MAX_IO_MSRS) {
    throw new KvmError("E2BIG", `kvm_msrs.nmsrs ${nmsrs} ≥ MAX_IO_MSRS (256)`, { field: "kvm_msrs.nmsrs" });
  }
  const bytes = arg.read(nmsrs * kvmMsrEntry.size, "kvm_msrs.entries", kvmMsrsHeader.size);
  const entries = Array.from({ length: nmsrs }, (_, i) => kvmMsrEntry.decode(bytes, i * kvmMsrEntry.size));
  const n = process(entries);
  if (!write) {
    entries.forEach((e, i) => {
      kvmMsrEntry.encode(e, bytes, i * kvmMsrEntry.size);
    });
    arg.write(bytes, "kvm_msrs.entries", kvmMsrsHeader.size);
  }
  return n;
}
