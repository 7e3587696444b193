// The set-up every end-to-end test shares: a TD built the upstream way (td_create,
// td_initialize, td_vcpu_add, td_finalize) around a builder program, run through @tdxsim/kvm's
// KVM_RUN on its x86 executor with the real TDX module.
import { KvmProcess } from "@tdxsim/kvm";
import {
  assembleGuestImage,
  type GuestFunctionBody,
  type GuestImage,
  GuestProgram,
  type MmioExit,
  type RunExit,
  TDX_MMIO_TEST_ADDR,
  type TdInitializeOptions,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
  tdxRun,
  tdxTestRead64bitReportFromGuest,
} from "../../src/index.js";
import { supportedCpuid } from "../host/td-fixture.js";

/** Where the guest image is linked (GVA = GPA). */
export const IMAGE_GVA = 0x40_0000;
export const TD_MEMORY_SIZE = 16 << 20;

/**
 * The MMIO GPA the guest asks for. Mainline 6.16 (tdx_emulate_mmio) refuses a private GPA in
 * #VE.RequestMMIO with INVALID_OPERAND, so the request carries the shared bit (GPAW 48: bit 47);
 * KVM strips it, and the exit's phys_addr is TDX_MMIO_TEST_ADDR. (v5 passed 0x200000000 as is.)
 */
export const MMIO_REQUEST_GPA = (1n << 47n) | BigInt(TDX_MMIO_TEST_ADDR);

/** A VMM process whose KVM_GET_SUPPORTED_CPUID is the fixture's CPU model. */
export function tdProcess(): KvmProcess {
  return new KvmProcess({ supportedCpuid: supportedCpuid() });
}

export interface BootOptions {
  /** The symbol vCPU 0 starts at (default "guest_code"). */
  entry?: string;
  /** Runs after td_vcpu_add, before td_finalize (virt_map_shared, installing a #VE hook, ...). */
  beforeFinalize?: (td: TdVm, image: GuestImage) => void;
}

/**
 * td_create, td_initialize with `image` (builder image, ELF chunks, or both) and td_vcpu_add of
 * vCPU 0 at `entry`; not finalized.
 */
export function initializeTd(
  image: Pick<TdInitializeOptions, "image" | "idtEntries">,
  entry: number | bigint,
  memorySize = TD_MEMORY_SIZE,
): TdVm {
  const td = tdCreate({ process: tdProcess() });
  tdInitialize(td, { ...image, memorySize });
  tdVcpuAdd(td, 0, entry);
  return td;
}

/** Creates, initializes, adds vCPU 0 to and finalizes a TD running `program`. */
export function bootTd(program: GuestProgram, options: BootOptions = {}): { td: TdVm; image: GuestImage } {
  const image = assembleGuestImage({ origin: IMAGE_GVA, program });
  const td = initializeTd(
    { image: image.chunks, idtEntries: image.idtEntries },
    image.symbol(options.entry ?? "guest_code"),
  );
  options.beforeFinalize?.(td, image);
  tdFinalize(td);
  return { td, image };
}

/** A TD whose only test function is `guest_code` with this body. */
export function bootGuest(body: GuestFunctionBody, options: Omit<BootOptions, "entry"> = {}): TdVm {
  return bootTd(new GuestProgram().fn("guest_code", body), options).td;
}

/** tdx_test_read_64bit_report_from_guest through tdx_run. */
export function read64(td: TdVm): bigint {
  return tdxTestRead64bitReportFromGuest(tdxRun(td), () => tdxRun(td));
}

/** Answers an MMIO read exit: `value` in kvm_run.mmio.data, little-endian. */
export function setMmioReadData(exit: RunExit, value: bigint, size: number): void {
  const mmio = exit as MmioExit;
  for (let i = 0; i < size; i++) mmio.data[i] = Number((value >> BigInt(8 * i)) & 0xffn);
}
