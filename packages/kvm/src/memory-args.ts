// The generic KVM argument checks of the memory ioctls, before the memory layer acts (virt/kvm/
// kvm_main.c kvm_vm_ioctl_set_mem_attributes, virt/kvm/guest_memfd.c kvm_gmem_create; spec §2),
// and the KVM_EXIT_MEMORY_FAULT a mismatching access produces (§2.5).
import { KvmError } from "./errors.js";
import { KVM_MEMORY_EXIT_FLAG_PRIVATE } from "./uapi/constants.js";
import { kvmCreateGuestMemfd, kvmMemoryAttributes } from "./uapi/structs.js";
import type { VcpuExit } from "./vcpu-exit.js";

const PAGE = 4096n;
const U64 = 1n << 64n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

export interface MemoryAttributesArgs {
  /** first GPA (no TDX shared bit) */
  address: bigint;
  size: bigint;
  attributes: bigint;
}

/**
 * KVM_SET_MEMORY_ATTRIBUTES: flags ≠ 0, attributes outside the VM's supported mask
 * (KVM_CHECK_EXTENSION(KVM_CAP_MEMORY_ATTRIBUTES): 8 for a TD, 0 for a normal VM), size 0 or
 * wrapping, or an unaligned address/size → EINVAL, in that order.
 */
export function parseMemoryAttributes(bytes: Uint8Array, supportedAttributes: bigint): MemoryAttributesArgs {
  const a = kvmMemoryAttributes.decode(bytes);
  const fail = (field: string, why: string) =>
    new KvmError("EINVAL", `kvm_memory_attributes.${field} ${why}`, {
      field: `kvm_memory_attributes.${field}`,
    });
  if (a.flags !== 0n) throw fail("flags", `${hex(a.flags)} must be 0`);
  if ((a.attributes & ~supportedAttributes) !== 0n) {
    throw fail(
      "attributes",
      `${hex(a.attributes)} has bits outside the supported ${hex(supportedAttributes)}`,
    );
  }
  if (a.size === 0n) throw fail("size", "must not be 0");
  if (a.address + a.size >= U64) throw fail("size", `${hex(a.size)} makes the range wrap around`);
  if (a.address % PAGE !== 0n) throw fail("address", `${hex(a.address)} is not page-aligned`);
  if (a.size % PAGE !== 0n) throw fail("size", `${hex(a.size)} is not a multiple of 4096`);
  return { address: a.address, size: a.size, attributes: a.attributes };
}

/** guest_memfd flags a 6.16 TD may use: none. */
export const GUEST_MEMFD_VALID_FLAGS_6_16 = 0n;

/**
 * KVM_CREATE_GUEST_MEMFD (kvm_gmem_create): unknown flags, or a size that is 0, negative as a
 * loff_t, or not page-aligned → EINVAL. (reserved[] is not checked by 6.16.)
 */
export function parseCreateGuestMemfd(
  bytes: Uint8Array,
  validFlags: bigint = GUEST_MEMFD_VALID_FLAGS_6_16,
): { size: bigint; flags: bigint } {
  const g = kvmCreateGuestMemfd.decode(bytes);
  if ((g.flags & ~validFlags) !== 0n) {
    throw new KvmError("EINVAL", `kvm_create_guest_memfd.flags ${hex(g.flags)} has unsupported bits`, {
      field: "kvm_create_guest_memfd.flags",
    });
  }
  if (g.size === 0n || g.size >= 1n << 63n || g.size % PAGE !== 0n) {
    throw new KvmError(
      "EINVAL",
      `kvm_create_guest_memfd.size ${hex(g.size)} must be a positive multiple of 4096`,
      {
        field: "kvm_create_guest_memfd.size",
      },
    );
  }
  return { size: g.size, flags: g.flags };
}

/**
 * The KVM_EXIT_MEMORY_FAULT for a guest access whose private/shared kind disagrees with the
 * page's PRIVATE attribute: page-aligned canonical GPA, size 4096, flags PRIVATE iff the
 * access was private. KVM_RUN returns -1/EFAULT with it.
 */
export function memoryFaultExit(gpa: bigint, privateAccess: boolean): VcpuExit {
  return {
    kind: "memoryFault",
    flags: privateAccess ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n,
    gpa: gpa - (gpa % PAGE),
    size: PAGE,
  };
}
