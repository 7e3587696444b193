// The vCPU's CPUID model set with KVM_SET_CPUID2 (kvm_vcpu_ioctl_set_cpuid2 / get_cpuid2 and
// kvm_cpuid(), 6.16): what KVM emulates for leaves the TDX module does not virtualise
// (TDVMCALL<Instruction.CPUID>), and what KVM_TDX_INIT_VCPU checks for x2APIC.
import type { SparseMemory } from "@tdxsim/memory";
import { KvmError } from "./errors.js";
import { KvmCpuidFlag } from "./uapi/constants.js";
import {
  KVM_MAX_CPUID_ENTRIES,
  type KvmCpuidEntry2,
  kvmCpuid2Header,
  kvmCpuidEntry2,
} from "./uapi/structs.js";
import { copyFromUser, copyToUser } from "./user-memory.js";

/** CPUID.1:ECX bit 21 */
export const CPUID_1_ECX_X2APIC = 1 << 21;

export class VcpuCpuid {
  entries: KvmCpuidEntry2[] = [];

  /** KVM_SET_CPUID2 from user memory: nent > 256 → E2BIG, copies → EFAULT, then `set`. */
  setRaw(mem: SparseMemory, addr: bigint, hasRun: boolean): void {
    const header = kvmCpuid2Header.decode(copyFromUser(mem, addr, kvmCpuid2Header.size, "kvm_cpuid2"));
    if (header.nent > KVM_MAX_CPUID_ENTRIES) {
      throw new KvmError("E2BIG", `kvm_cpuid2.nent ${header.nent} > KVM_MAX_CPUID_ENTRIES (256)`, {
        field: "kvm_cpuid2.nent",
      });
    }
    const bytes = copyFromUser(
      mem,
      addr + BigInt(kvmCpuid2Header.size),
      header.nent * kvmCpuidEntry2.size,
      "kvm_cpuid2.entries",
    );
    const entries = Array.from({ length: header.nent }, (_, i) =>
      kvmCpuidEntry2.decode(bytes, i * kvmCpuidEntry2.size),
    );
    this.set(entries, hasRun);
  }

  /**
   * kvm_set_cpuid: after the vCPU has run only the identical model is accepted (EINVAL otherwise);
   * 0x80000008 EAX[15:8] (virtual address bits) must be 0, 48 or 57 (kvm_check_cpuid).
   */
  set(entries: readonly KvmCpuidEntry2[], hasRun: boolean): void {
    const ext8 = entries.find((e) => e.function === 0x80000008);
    const vaddrBits = ext8 ? (ext8.eax >>> 8) & 0xff : 0;
    if (vaddrBits !== 0 && vaddrBits !== 48 && vaddrBits !== 57) {
      throw new KvmError(
        "EINVAL",
        `CPUID 0x80000008 EAX[15:8] = ${vaddrBits}: virtual address bits must be 48 or 57`,
        {
          field: "kvm_cpuid2.entries",
        },
      );
    }
    if (hasRun && !sameModel(this.entries, entries)) {
      throw new KvmError("EINVAL", "KVM_SET_CPUID2 after KVM_RUN must not change the CPUID model");
    }
    this.entries = entries.map((e) => ({ ...e, padding: [0, 0, 0] }));
  }

  /** KVM_GET_CPUID2: nent < the model's → E2BIG (nothing written back); else entries and nent. */
  getRaw(mem: SparseMemory, addr: bigint): void {
    const header = kvmCpuid2Header.decode(copyFromUser(mem, addr, kvmCpuid2Header.size, "kvm_cpuid2"));
    if (header.nent < this.entries.length) {
      throw new KvmError("E2BIG", `kvm_cpuid2.nent ${header.nent} < ${this.entries.length} entries`, {
        field: "kvm_cpuid2.nent",
      });
    }
    const out = new Uint8Array(this.entries.length * kvmCpuidEntry2.size);
    this.entries.forEach((e, i) => {
      kvmCpuidEntry2.encode(e, out, i * kvmCpuidEntry2.size);
    });
    copyToUser(mem, addr + BigInt(kvmCpuid2Header.size), out, "kvm_cpuid2.entries");
    copyToUser(
      mem,
      addr,
      kvmCpuid2Header.encode({ nent: this.entries.length, padding: header.padding }),
      "kvm_cpuid2",
    );
  }

  /** kvm_find_cpuid_entry2: the index matters only for entries flagged SIGNIFCANT_INDEX. */
  find(fn: number, index: number): KvmCpuidEntry2 | undefined {
    return this.entries.find(
      (e) => e.function === fn && ((e.flags & KvmCpuidFlag.SIGNIFCANT_INDEX) === 0 || e.index === index),
    );
  }

  /**
   * kvm_cpuid() on Intel: the matching entry, or — for a leaf above the range's maximum (basic:
   * leaf 0 EAX; extended: 0x80000000 EAX) — the entry of the highest basic leaf; else zeros.
   */
  cpuid(fn: number, index: number): [number, number, number, number] {
    let e = this.find(fn, index);
    if (!e) {
      const basicMax = this.find(0, 0)?.eax;
      const extMax = this.find(0x80000000, 0)?.eax;
      const extended = fn >= 0x80000000;
      const max = extended ? extMax : basicMax;
      if (basicMax !== undefined && (max === undefined || fn > max >>> 0))
        e = this.find(basicMax >>> 0, index);
    }
    return e ? [e.eax >>> 0, e.ebx >>> 0, e.ecx >>> 0, e.edx >>> 0] : [0, 0, 0, 0];
  }

  get hasX2apic(): boolean {
    return ((this.find(1, 0)?.ecx ?? 0) & CPUID_1_ECX_X2APIC) !== 0;
  }
}

function sameModel(a: readonly KvmCpuidEntry2[], b: readonly KvmCpuidEntry2[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    return (
      x.function === y.function &&
      x.index === y.index &&
      x.flags === y.flags &&
      x.eax === y.eax &&
      x.ebx === y.ebx &&
      x.ecx === y.ecx &&
      x.edx === y.edx
    );
  });
}
