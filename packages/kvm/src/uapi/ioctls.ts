// ioctl request numbers (include/uapi/linux/kvm.h), computed from the _IO* encoding and the
// argument struct sizes defined in structs.ts, so a layout and its request number cannot
// drift apart. The scope says on which kind of fd KVM accepts the request.

import { KVMIO } from "./constants.js";
import { io, ior, iow, iowr } from "./ioc.js";
import {
  kvmCpuid2Header,
  kvmCreateGuestMemfd,
  kvmDebugregs,
  kvmDirtyLog,
  kvmEnableCap,
  kvmFpu,
  kvmInterrupt,
  kvmMemoryAttributes,
  kvmMpState,
  kvmMsrFilter,
  kvmMsrListHeader,
  kvmMsrsHeader,
  kvmPreFaultMemory,
  kvmRegs,
  kvmSregs,
  kvmUserspaceMemoryRegion,
  kvmUserspaceMemoryRegion2,
  kvmVcpuEvents,
  kvmXcrs,
  kvmXsave,
} from "./structs.js";

export type IoctlScope = "system" | "vm" | "vcpu";

export interface IoctlInfo {
  readonly name: string;
  readonly request: number;
  /** fds that accept it; KVM_CHECK_EXTENSION and KVM_ENABLE_CAP exist on several. */
  readonly scopes: readonly IoctlScope[];
}

/** sizeof(unsigned long) on x86-64, the declared argument of KVM_MEMORY_ENCRYPT_OP. */
const SIZEOF_UNSIGNED_LONG = 8;

export const KVM_GET_API_VERSION = io(KVMIO, 0x00);
export const KVM_CREATE_VM = io(KVMIO, 0x01);
export const KVM_GET_MSR_INDEX_LIST = iowr(KVMIO, 0x02, kvmMsrListHeader.size);
export const KVM_CHECK_EXTENSION = io(KVMIO, 0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(KVMIO, 0x04);
export const KVM_GET_SUPPORTED_CPUID = iowr(KVMIO, 0x05, kvmCpuid2Header.size);
export const KVM_GET_EMULATED_CPUID = iowr(KVMIO, 0x09, kvmCpuid2Header.size);
export const KVM_GET_MSR_FEATURE_INDEX_LIST = iowr(KVMIO, 0x0a, kvmMsrListHeader.size);

export const KVM_CREATE_VCPU = io(KVMIO, 0x41);
export const KVM_GET_DIRTY_LOG = iow(KVMIO, 0x42, kvmDirtyLog.size);
export const KVM_SET_USER_MEMORY_REGION = iow(KVMIO, 0x46, kvmUserspaceMemoryRegion.size);
export const KVM_SET_TSS_ADDR = io(KVMIO, 0x47);
export const KVM_SET_IDENTITY_MAP_ADDR = iow(KVMIO, 0x48, 8);
export const KVM_SET_USER_MEMORY_REGION2 = iow(KVMIO, 0x49, kvmUserspaceMemoryRegion2.size);
export const KVM_CREATE_IRQCHIP = io(KVMIO, 0x60);
export const KVM_SET_TSC_KHZ = io(KVMIO, 0xa2);
export const KVM_GET_TSC_KHZ = io(KVMIO, 0xa3);
export const KVM_ENABLE_CAP = iow(KVMIO, 0xa3, kvmEnableCap.size);
export const KVM_MEMORY_ENCRYPT_OP = iowr(KVMIO, 0xba, SIZEOF_UNSIGNED_LONG);
export const KVM_X86_SET_MSR_FILTER = iow(KVMIO, 0xc6, kvmMsrFilter.size);
export const KVM_SET_MEMORY_ATTRIBUTES = iow(KVMIO, 0xd2, kvmMemoryAttributes.size);
export const KVM_CREATE_GUEST_MEMFD = iowr(KVMIO, 0xd4, kvmCreateGuestMemfd.size);
export const KVM_PRE_FAULT_MEMORY = iowr(KVMIO, 0xd5, kvmPreFaultMemory.size);

export const KVM_RUN = io(KVMIO, 0x80);
export const KVM_GET_REGS = ior(KVMIO, 0x81, kvmRegs.size);
export const KVM_SET_REGS = iow(KVMIO, 0x82, kvmRegs.size);
export const KVM_GET_SREGS = ior(KVMIO, 0x83, kvmSregs.size);
export const KVM_SET_SREGS = iow(KVMIO, 0x84, kvmSregs.size);
export const KVM_INTERRUPT = iow(KVMIO, 0x86, kvmInterrupt.size);
export const KVM_GET_MSRS = iowr(KVMIO, 0x88, kvmMsrsHeader.size);
export const KVM_SET_MSRS = iow(KVMIO, 0x89, kvmMsrsHeader.size);
export const KVM_GET_FPU = ior(KVMIO, 0x8c, kvmFpu.size);
export const KVM_SET_FPU = iow(KVMIO, 0x8d, kvmFpu.size);
export const KVM_SET_CPUID2 = iow(KVMIO, 0x90, kvmCpuid2Header.size);
export const KVM_GET_CPUID2 = iowr(KVMIO, 0x91, kvmCpuid2Header.size);
export const KVM_GET_MP_STATE = ior(KVMIO, 0x98, kvmMpState.size);
export const KVM_SET_MP_STATE = iow(KVMIO, 0x99, kvmMpState.size);
export const KVM_NMI = io(KVMIO, 0x9a);
export const KVM_GET_VCPU_EVENTS = ior(KVMIO, 0x9f, kvmVcpuEvents.size);
export const KVM_SET_VCPU_EVENTS = iow(KVMIO, 0xa0, kvmVcpuEvents.size);
export const KVM_GET_DEBUGREGS = ior(KVMIO, 0xa1, kvmDebugregs.size);
export const KVM_GET_XSAVE = ior(KVMIO, 0xa4, kvmXsave.size);
export const KVM_SET_XSAVE = iow(KVMIO, 0xa5, kvmXsave.size);
export const KVM_GET_XSAVE2 = ior(KVMIO, 0xcf, kvmXsave.size);
export const KVM_GET_XCRS = ior(KVMIO, 0xa6, kvmXcrs.size);
export const KVM_SET_XCRS = iow(KVMIO, 0xa7, kvmXcrs.size);
export const KVM_SET_DEBUGREGS = iow(KVMIO, 0xa2, kvmDebugregs.size);

/** Every request this package knows, with the fds that accept it. */
export const KVM_IOCTLS: readonly IoctlInfo[] = [
  { name: "KVM_GET_API_VERSION", request: KVM_GET_API_VERSION, scopes: ["system"] },
  { name: "KVM_CREATE_VM", request: KVM_CREATE_VM, scopes: ["system"] },
  { name: "KVM_GET_MSR_INDEX_LIST", request: KVM_GET_MSR_INDEX_LIST, scopes: ["system"] },
  { name: "KVM_CHECK_EXTENSION", request: KVM_CHECK_EXTENSION, scopes: ["system", "vm"] },
  { name: "KVM_GET_VCPU_MMAP_SIZE", request: KVM_GET_VCPU_MMAP_SIZE, scopes: ["system"] },
  { name: "KVM_GET_SUPPORTED_CPUID", request: KVM_GET_SUPPORTED_CPUID, scopes: ["system"] },
  { name: "KVM_GET_EMULATED_CPUID", request: KVM_GET_EMULATED_CPUID, scopes: ["system"] },
  { name: "KVM_GET_MSR_FEATURE_INDEX_LIST", request: KVM_GET_MSR_FEATURE_INDEX_LIST, scopes: ["system"] },
  { name: "KVM_CREATE_VCPU", request: KVM_CREATE_VCPU, scopes: ["vm"] },
  { name: "KVM_GET_DIRTY_LOG", request: KVM_GET_DIRTY_LOG, scopes: ["vm"] },
  { name: "KVM_SET_USER_MEMORY_REGION", request: KVM_SET_USER_MEMORY_REGION, scopes: ["vm"] },
  { name: "KVM_SET_TSS_ADDR", request: KVM_SET_TSS_ADDR, scopes: ["vm"] },
  { name: "KVM_SET_IDENTITY_MAP_ADDR", request: KVM_SET_IDENTITY_MAP_ADDR, scopes: ["vm"] },
  { name: "KVM_SET_USER_MEMORY_REGION2", request: KVM_SET_USER_MEMORY_REGION2, scopes: ["vm"] },
  { name: "KVM_CREATE_IRQCHIP", request: KVM_CREATE_IRQCHIP, scopes: ["vm"] },
  { name: "KVM_SET_TSC_KHZ", request: KVM_SET_TSC_KHZ, scopes: ["vm", "vcpu"] },
  { name: "KVM_GET_TSC_KHZ", request: KVM_GET_TSC_KHZ, scopes: ["vm", "vcpu"] },
  { name: "KVM_ENABLE_CAP", request: KVM_ENABLE_CAP, scopes: ["vm", "vcpu"] },
  { name: "KVM_MEMORY_ENCRYPT_OP", request: KVM_MEMORY_ENCRYPT_OP, scopes: ["vm", "vcpu"] },
  { name: "KVM_X86_SET_MSR_FILTER", request: KVM_X86_SET_MSR_FILTER, scopes: ["vm"] },
  { name: "KVM_SET_MEMORY_ATTRIBUTES", request: KVM_SET_MEMORY_ATTRIBUTES, scopes: ["vm"] },
  { name: "KVM_CREATE_GUEST_MEMFD", request: KVM_CREATE_GUEST_MEMFD, scopes: ["vm"] },
  { name: "KVM_PRE_FAULT_MEMORY", request: KVM_PRE_FAULT_MEMORY, scopes: ["vcpu"] },
  { name: "KVM_RUN", request: KVM_RUN, scopes: ["vcpu"] },
  { name: "KVM_GET_REGS", request: KVM_GET_REGS, scopes: ["vcpu"] },
  { name: "KVM_SET_REGS", request: KVM_SET_REGS, scopes: ["vcpu"] },
  { name: "KVM_GET_SREGS", request: KVM_GET_SREGS, scopes: ["vcpu"] },
  { name: "KVM_SET_SREGS", request: KVM_SET_SREGS, scopes: ["vcpu"] },
  { name: "KVM_INTERRUPT", request: KVM_INTERRUPT, scopes: ["vcpu"] },
  { name: "KVM_GET_MSRS", request: KVM_GET_MSRS, scopes: ["system", "vcpu"] },
  { name: "KVM_SET_MSRS", request: KVM_SET_MSRS, scopes: ["vcpu"] },
  { name: "KVM_GET_FPU", request: KVM_GET_FPU, scopes: ["vcpu"] },
  { name: "KVM_SET_FPU", request: KVM_SET_FPU, scopes: ["vcpu"] },
  { name: "KVM_SET_CPUID2", request: KVM_SET_CPUID2, scopes: ["vcpu"] },
  { name: "KVM_GET_CPUID2", request: KVM_GET_CPUID2, scopes: ["vcpu"] },
  { name: "KVM_GET_MP_STATE", request: KVM_GET_MP_STATE, scopes: ["vcpu"] },
  { name: "KVM_SET_MP_STATE", request: KVM_SET_MP_STATE, scopes: ["vcpu"] },
  { name: "KVM_NMI", request: KVM_NMI, scopes: ["vcpu"] },
  { name: "KVM_GET_VCPU_EVENTS", request: KVM_GET_VCPU_EVENTS, scopes: ["vcpu"] },
  { name: "KVM_SET_VCPU_EVENTS", request: KVM_SET_VCPU_EVENTS, scopes: ["vcpu"] },
  { name: "KVM_GET_DEBUGREGS", request: KVM_GET_DEBUGREGS, scopes: ["vcpu"] },
  { name: "KVM_SET_DEBUGREGS", request: KVM_SET_DEBUGREGS, scopes: ["vcpu"] },
  { name: "KVM_GET_XSAVE", request: KVM_GET_XSAVE, scopes: ["vcpu"] },
  { name: "KVM_SET_XSAVE", request: KVM_SET_XSAVE, scopes: ["vcpu"] },
  { name: "KVM_GET_XSAVE2", request: KVM_GET_XSAVE2, scopes: ["vcpu"] },
  { name: "KVM_GET_XCRS", request: KVM_GET_XCRS, scopes: ["vcpu"] },
  { name: "KVM_SET_XCRS", request: KVM_SET_XCRS, scopes: ["vcpu"] },
];

const BY_REQUEST = new Map(KVM_IOCTLS.map((i) => [i.request, i]));

/** The upstream name of a request number, or a hex string. */
export function ioctlName(request: number): string {
  return BY_REQUEST.get(request >>> 0)?.name ?? `ioctl 0x${(request >>> 0).toString(16)}`;
}
