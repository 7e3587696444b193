import { PAGE_SIZE } from "@tdxsim/memory";
import {
  RESET_VECTOR_GPA,
  RESET_VECTOR_SIZE,
  TD_BOOT_CODE_MEMSLOT,
  TD_BOOT_PARAMETERS_GPA,
  TD_BOOT_PARAMETERS_MEMSLOT,
  TD_MAIN_MEMSLOT,
  tdBootCodeGpa,
  tdBootCodeSlot,
} from "../boot/boot-gpas.js";
import {
  type TdBootCommonParameters,
  tdBootParametersSlot,
  tdPerVcpuParametersGpa,
} from "../boot/boot-parameters.js";
import { TD_BOOT_CR0, TD_BOOT_CR4 } from "../boot/control-registers.js";
import { GDT_LIMIT, IDT_LIMIT } from "../boot/descriptor-tables.js";
import { hex } from "../util/hex.js";
import {
  DEFAULT_GUEST_STACK_VADDR_MIN,
  DEFAULT_STACK_PGS,
  DEFAULT_TD_MEMORY_SIZE,
  KVM_UTIL_MIN_VADDR,
} from "./constants.js";
import { TdLayoutError } from "./td-layout-error.js";
import { TdMemoryLayout } from "./td-memory-layout.js";

/** A page-aligned piece of the guest image (an ElfLoadChunk fits). */
export interface ImageChunk {
  readonly gpa: number;
  readonly bytes: { readonly length: number };
  /**
   * Shared memory (a builder image's shared section): claimed unprotected and mapped GVA = GPA
   * with the shared bit, so td_finalize does not measure it and the host can reach it later.
   */
  readonly shared?: boolean;
}

export interface PlanTdInitializeOptions {
  /** Size of memslot 0 at GPA 0 (page multiple, below 0xFFFF0000). */
  readonly memorySize?: number;
  /** KVM_CAP_MAX_VCPUS of the VM: sizes the boot-parameter block (24 + 10 per vCPU). */
  readonly maxVcpus: number;
  /** TD_BOOT_CODE_SIZE: bytes of td_boot .. td_boot_code_end, ending with the 16-byte reset vector. */
  readonly bootCodeSize: number;
  /** The guest image at its GPAs (= GVAs), e.g. LoadedElf.chunks. */
  readonly image: readonly ImageChunk[];
  readonly gpaw?: 48 | 52;
}

export interface TdInitialLayout {
  readonly layout: TdMemoryLayout;
  readonly memorySize: number;
  /** Root page table (PML4): CR3. */
  readonly pgd: number;
  readonly gdt: number;
  readonly idt: number;
  readonly tss: number;
  readonly image: { readonly start: number; readonly end: number };
  readonly bootCode: {
    readonly slotGpa: number;
    readonly slotSize: number;
    readonly codeGpa: number;
    readonly resetVectorGpa: number;
  };
  readonly bootParameters: { readonly gpa: number; readonly size: number };
  /** The common boot parameters for this layout, ready for writeTdBootCommonParameters. */
  readonly bootCommonParameters: TdBootCommonParameters;
}

/**
 * Plans td_initialize()'s memory: memslot 0 at GPA 0 with the guest image at its link
 * addresses, the root page table, GDT, IDT and TSS (one-to-one, because the 32-bit boot code
 * loads GDTR/IDTR before paging is on), memslot 1 with the boot code ending at 4 GiB and
 * memslot 2 with the boot parameters at 0xFFFF0000.
 */
export function planTdInitialize(options: PlanTdInitializeOptions): TdInitialLayout {
  const memorySize = options.memorySize ?? DEFAULT_TD_MEMORY_SIZE;
  if (!Number.isInteger(memorySize) || memorySize <= 0 || memorySize % PAGE_SIZE !== 0) {
    throw new TdLayoutError(`memorySize: ${memorySize} is not a positive multiple of 4096`);
  }
  if (memorySize > TD_BOOT_PARAMETERS_GPA) {
    throw new TdLayoutError(
      `memorySize: ${hex(memorySize)} reaches the boot parameters at ${hex(TD_BOOT_PARAMETERS_GPA)}`,
    );
  }
  if (!Number.isInteger(options.bootCodeSize) || options.bootCodeSize < RESET_VECTOR_SIZE) {
    throw new TdLayoutError(
      `bootCodeSize: ${options.bootCodeSize} cannot hold the ${RESET_VECTOR_SIZE}-byte reset vector`,
    );
  }
  const layout = new TdMemoryLayout({ gpaw: options.gpaw });
  layout.addMemslot(TD_MAIN_MEMSLOT, 0, memorySize);

  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const chunk of options.image) {
    const pages = Math.ceil(chunk.bytes.length / PAGE_SIZE);
    if (!layout.memslot(TD_MAIN_MEMSLOT).contains(chunk.gpa, pages * PAGE_SIZE)) {
      throw new TdLayoutError(
        `guest image: [${hex(chunk.gpa)}, ${hex(chunk.gpa + pages * PAGE_SIZE)}) lies outside memslot 0 [0, ${hex(memorySize)})`,
      );
    }
    layout.claimIdentity(chunk.gpa, pages, chunk.shared ? "guest image (shared section)" : "guest image", {
      shared: chunk.shared ?? false,
    });
    start = Math.min(start, chunk.gpa);
    end = Math.max(end, chunk.gpa + pages * PAGE_SIZE);
  }

  // What td_initialize places around the image: a failure here means the image left no room.
  const place = <T>(what: string, allocate: () => T): T => {
    try {
      return allocate();
    } catch (error) {
      if (!(error instanceof TdLayoutError) || options.image.length === 0) throw error;
      throw new TdLayoutError(
        `guest image [${hex(start)}, ${hex(end)}) leaves no room in memslot 0 [0, ${hex(memorySize)}) for the ${what} (${error.message})`,
      );
    }
  };
  const identityPage = () => layout.vaddrIdentityAlloc(PAGE_SIZE, KVM_UTIL_MIN_VADDR, TD_MAIN_MEMSLOT);
  const pgd = place("root page table", () => layout.allocPageTablePage());
  const gdt = place("GDT page", identityPage);
  const idt = place("IDT page", identityPage);
  const tss = place("TSS page", identityPage);

  const codeSlot = tdBootCodeSlot(options.bootCodeSize);
  layout.addMemslot(TD_BOOT_CODE_MEMSLOT, codeSlot.gpa, codeSlot.size);
  layout.vaddrIdentityAlloc(codeSlot.size, codeSlot.gpa, TD_BOOT_CODE_MEMSLOT);

  const paramsSlot = tdBootParametersSlot(options.maxVcpus, options.bootCodeSize);
  layout.addMemslot(TD_BOOT_PARAMETERS_MEMSLOT, paramsSlot.gpa, paramsSlot.size);
  layout.vaddrIdentityAlloc(paramsSlot.size, paramsSlot.gpa, TD_BOOT_PARAMETERS_MEMSLOT);

  return {
    layout,
    memorySize,
    pgd,
    gdt,
    idt,
    tss,
    image: options.image.length > 0 ? { start, end } : { start: 0, end: 0 },
    bootCode: {
      slotGpa: codeSlot.gpa,
      slotSize: codeSlot.size,
      codeGpa: tdBootCodeGpa(options.bootCodeSize),
      resetVectorGpa: RESET_VECTOR_GPA,
    },
    bootParameters: paramsSlot,
    bootCommonParameters: {
      cr0: TD_BOOT_CR0,
      cr3: pgd,
      cr4: TD_BOOT_CR4,
      gdtr: { limit: GDT_LIMIT, base: gdt },
      idtr: { limit: IDT_LIMIT, base: idt },
    },
  };
}

export interface TdVcpuStack {
  readonly vcpuIndex: number;
  /** Lowest GVA of the DEFAULT_STACK_PGS stack pages. */
  readonly stackGva: number;
  /**
   * initial_stack_addr, the boot code's ESP: the stack top minus 8. The boot code jumps
   * (not calls) to the entry point, so this gives the SysV entry condition
   * (RSP + 8) % 16 == 0 that compiled guest code relies on.
   */
  readonly initialStackAddr: number;
  /** Where this vCPU's td_per_vcpu_parameters record lives. */
  readonly perVcpuParametersGpa: number;
}

/** Plans td_vcpu_add()'s stack for the vCPU with TDX vCPU index `vcpuIndex` (order of KVM_TDX_INIT_VCPU). */
export function planTdVcpuStack(initial: TdInitialLayout, vcpuIndex: number, maxVcpus: number): TdVcpuStack {
  if (!Number.isInteger(vcpuIndex) || vcpuIndex < 0 || vcpuIndex >= maxVcpus) {
    throw new TdLayoutError(`vcpuIndex: ${vcpuIndex} is not in [0, ${maxVcpus})`);
  }
  const size = DEFAULT_STACK_PGS * PAGE_SIZE;
  const stackGva = initial.layout.vaddrAlloc(size, DEFAULT_GUEST_STACK_VADDR_MIN);
  const initialStackAddr = stackGva + size - 8;
  if (initialStackAddr >= 2 ** 32) {
    throw new TdLayoutError(
      `vCPU ${vcpuIndex}: initial stack ${hex(initialStackAddr)} is not below 4 GiB (esp_gva is 32-bit)`,
    );
  }
  return { vcpuIndex, stackGva, initialStackAddr, perVcpuParametersGpa: tdPerVcpuParametersGpa(vcpuIndex) };
}
