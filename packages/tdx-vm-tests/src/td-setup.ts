// The setup every test shares: a TD built the upstream way (td_create, td_initialize,
// td_vcpu_add, td_finalize) around a guest program from tdx-lib's builder.
import {
  assembleGuestImage,
  type GuestImage,
  type GuestProgram,
  type MmioExit,
  type RunExit,
  TDX_MMIO_TEST_ADDR,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
} from "@tdxsim/tdx-lib";
import { newTdProcess } from "./td-host.js";

/** Where the guest image is linked (GVA = GPA). */
export const GUEST_IMAGE_GVA = 0x40_0000;

/** Default TD memory size (memslot 0). */
export const TD_MEMORY_SIZE = 16 << 20;

export interface TdBootOptions {
  /** Symbol each vCPU starts at; one vCPU per entry (index = vCPU id). */
  entries: readonly string[];
  attributes?: bigint;
  memorySize?: number;
  /** max_vcpus for td_initialize (default: the number of entries). */
  maxVcpus?: number;
  /** More IDT gates (vector → guest symbol), next to the library's #VE gate. */
  exceptionHandlers?: readonly { vector: number; handler: string }[];
  /** Runs after the vCPUs are added, before KVM_TDX_FINALIZE_VM (e.g. virt_map_shared). */
  beforeFinalize?: (td: TdVm, image: GuestImage) => void;
}

/** Creates, initializes, adds vCPUs to and finalizes a TD running `program`. */
export function bootTd(program: GuestProgram, options: TdBootOptions): { td: TdVm; image: GuestImage } {
  const image = assembleGuestImage({ origin: GUEST_IMAGE_GVA, program });
  const td = tdCreate({ process: newTdProcess() });
  tdInitialize(td, {
    image: image.chunks,
    idtEntries: [
      ...image.idtEntries,
      ...(options.exceptionHandlers ?? []).map((h) => ({
        vector: h.vector,
        handler: image.symbol(h.handler),
      })),
    ],
    attributes: options.attributes ?? 0n,
    memorySize: options.memorySize ?? TD_MEMORY_SIZE,
    maxVcpus: options.maxVcpus ?? options.entries.length,
  });
  options.entries.forEach((entry, id) => {
    tdVcpuAdd(td, id, image.symbol(entry));
  });
  options.beforeFinalize?.(td, image);
  tdFinalize(td);
  return { td, image };
}

/**
 * The MMIO GPA the guest asks for. Mainline 6.16 (tdx_emulate_mmio) refuses a private GPA in
 * #VE.RequestMMIO with INVALID_OPERAND, so the request carries the shared bit (GPAW 48: bit 47);
 * KVM strips it and the exit's phys_addr is TDX_MMIO_TEST_ADDR. (v5 passed 0x200000000 as is.)
 */
export const MMIO_REQUEST_GPA = (1n << 47n) | BigInt(TDX_MMIO_TEST_ADDR);

/** Answers an MMIO read exit: `value` in kvm_run.mmio.data, little-endian. */
export function setMmioReadData(exit: RunExit, value: bigint, size: number): void {
  const mmio = exit as MmioExit;
  for (let i = 0; i < size; i++) mmio.data[i] = Number((value >> BigInt(8 * i)) & 0xffn);
}
