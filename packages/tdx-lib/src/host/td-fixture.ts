// The TD set-up every TDX selftest repeats, as one fixture: a VMM process whose
// KVM_GET_SUPPORTED_CPUID is the TDX-configurable CPU model, a builder guest program assembled
// at GUEST_IMAGE_GVA, and td_create → td_initialize → td_vcpu_add (one vCPU per entry symbol) →
// td_finalize — upstream's td_setup pattern (vm_tdx_create_with_one_vcpu and friends) — plus the
// MMIO request GPA the MMIO tests use and the host's answer to an MMIO read.
import {
  type KvmCpuidEntry2,
  type KvmHostOptions,
  KvmProcess,
  KvmVmType,
  type TdxCapabilities,
} from "@tdxsim/kvm";
import type { GuestProgram } from "../guest/builder/guest-program.js";
import { assembleGuestImage, type GuestImage } from "../guest/guest-image.js";
import { TdxTestAssertionError } from "../report/assertions.js";
import { TDX_MMIO_TEST_ADDR } from "../report/ports.js";
import { describeExit, type MmioExit, type RunExit } from "../report/run-exit.js";
import { tdCreate, tdFinalize, tdInitialize, tdVcpuAdd } from "./td-lifecycle.js";
import type { TdVm } from "./td-vm.js";

/** Where the fixture links the guest image (GVA = GPA; below 4 GiB for td_boot's far jump). */
export const GUEST_IMAGE_GVA = 0x40_0000;

/** The fixture's memslot 0 size: 16 MiB (the library default, DEFAULT_TD_MEMORY_SIZE, is 64 MiB). */
export const TD_TEST_MEMORY_SIZE = 16 << 20;

/**
 * The MMIO GPA a test guest asks for in #VE.RequestMMIO. Mainline 6.16 (tdx_emulate_mmio)
 * refuses a private GPA with INVALID_OPERAND, so the request carries the shared bit (GPAW 48:
 * bit 47); KVM strips it and the exit's phys_addr is TDX_MMIO_TEST_ADDR. (The v5 series passed
 * 0x200000000 as is, which only pre-6.16 KVM accepted.)
 */
export const MMIO_REQUEST_GPA = (1n << 47n) | BigInt(TDX_MMIO_TEST_ADDR);

let capabilities: TdxCapabilities | undefined;

/** KVM_TDX_CAPABILITIES of the simulated host, read once from a throw-away TDX VM. */
export function hostTdxCapabilities(): TdxCapabilities {
  capabilities ??= new KvmProcess().openKvm().createVm(KvmVmType.TDX_VM).tdxCapabilities();
  return structuredClone(capabilities);
}

/**
 * The CPU model the fixture's KVM_GET_SUPPORTED_CPUID reports, as a VMM hands it to
 * KVM_TDX_INIT_VM: the configurable leaves of KVM_TDX_CAPABILITIES with native
 * family/model/stepping (leaf 1 EAX 0) and GPAW 48 (leaf 0x80000008 EAX). A fresh copy each call.
 */
export function tdTestSupportedCpuid(): KvmCpuidEntry2[] {
  return hostTdxCapabilities().cpuid.map((e) => ({
    ...e,
    eax: e.function === 1 ? 0 : e.function === 0x80000008 ? 48 << 16 : e.eax,
  }));
}

/**
 * A VMM process (its /dev/kvm and user memory) whose KVM_GET_SUPPORTED_CPUID is
 * tdTestSupportedCpuid(); `host` adds to or overrides the host's options (e.g. a tdGuestExecutor
 * that counts the guest's instructions).
 */
export function tdTestProcess(host: KvmHostOptions = {}): KvmProcess {
  return new KvmProcess({ supportedCpuid: tdTestSupportedCpuid(), ...host });
}

/** One more IDT gate for the guest image: `vector` enters the guest symbol `handler`. */
export interface TdExceptionHandler {
  readonly vector: number;
  readonly handler: string;
}

export interface TdBootOptions {
  /** Symbol each vCPU starts at, one vCPU per entry (vCPU id = position); default ["guest_code"]. */
  readonly entries?: readonly string[];
  /** TD attributes (default 0). */
  readonly attributes?: bigint;
  /** XFAM (default x87|SSE). */
  readonly xfam?: bigint;
  /** CPUID for KVM_TDX_INIT_VM (default: the process's KVM_GET_SUPPORTED_CPUID). */
  readonly cpuid?: readonly KvmCpuidEntry2[];
  /** Memslot 0 size (default TD_TEST_MEMORY_SIZE). */
  readonly memorySize?: number;
  /** max_vcpus for td_initialize (default: the number of entries). */
  readonly maxVcpus?: number;
  /** Where the image is linked (default GUEST_IMAGE_GVA). */
  readonly origin?: number;
  /** More IDT gates (vector → guest symbol), next to the image's own (#VE → guest_ve_entry). */
  readonly exceptionHandlers?: readonly TdExceptionHandler[];
  /** The VMM process (default tdTestProcess()). */
  readonly process?: KvmProcess;
  /** Runs after the vCPUs are added, before td_finalize (vm_vaddr_alloc, virt_map_shared, sync_global_to_guest, ...). */
  readonly beforeFinalize?: (td: TdVm, image: GuestImage) => void;
}

/**
 * Assembles `program` with the guest library and builds a TD around it — td_create,
 * td_initialize, td_vcpu_add of each entry, then `beforeFinalize` — without finalizing it.
 */
export function buildTd(program: GuestProgram, options: TdBootOptions = {}): { td: TdVm; image: GuestImage } {
  const entries = options.entries ?? ["guest_code"];
  const image = assembleGuestImage({ origin: options.origin ?? GUEST_IMAGE_GVA, program });
  const td = tdCreate({ process: options.process ?? tdTestProcess() });
  tdInitialize(td, {
    image: image.chunks,
    idtEntries: [
      ...image.idtEntries,
      ...(options.exceptionHandlers ?? []).map((h) => ({
        vector: h.vector,
        handler: image.symbol(h.handler),
      })),
    ],
    attributes: options.attributes,
    xfam: options.xfam,
    cpuid: options.cpuid,
    memorySize: options.memorySize ?? TD_TEST_MEMORY_SIZE,
    maxVcpus: options.maxVcpus ?? entries.length,
  });
  entries.forEach((entry, id) => {
    tdVcpuAdd(td, id, image.symbol(entry));
  });
  options.beforeFinalize?.(td, image);
  return { td, image };
}

/** buildTd, then td_finalize: the TD is ready for tdxRun. */
export function bootTd(program: GuestProgram, options: TdBootOptions = {}): { td: TdVm; image: GuestImage } {
  const built = buildTd(program, options);
  tdFinalize(built.td);
  return built;
}

/**
 * The host's answer to an MMIO read exit (a guest's #VE.RequestMMIO read or emulated MOV load):
 * `value` little-endian in kvm_run.mmio.data, read by KVM on the next KVM_RUN.
 */
export function setMmioReadData(exit: RunExit, value: bigint, size: number): void {
  if (exit.kind !== "mmio" || exit.isWrite) {
    throw new TdxTestAssertionError("setMmioReadData", "an MMIO read exit to answer", describeExit(exit));
  }
  const mmio: MmioExit = exit;
  if (size !== mmio.len) {
    throw new RangeError(`setMmioReadData: size ${size} is not the exit's mmio.len ${mmio.len}`);
  }
  if (value < 0n || value >= 1n << BigInt(8 * size)) {
    throw new RangeError(`setMmioReadData: ${value} does not fit in ${size} byte(s)`);
  }
  for (let i = 0; i < size; i++) mmio.data[i] = Number((value >> BigInt(8 * i)) & 0xffn);
}
