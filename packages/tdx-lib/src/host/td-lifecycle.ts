// tdx_util.c's TD lifecycle over @tdxsim/kvm's typed face, in upstream order:
// td_create → td_initialize → td_vcpu_add → td_finalize → td_vcpu_run.
import {
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  KvmCap,
  type KvmCpuidEntry2,
  KvmHc,
  KvmMem,
  KvmProcess,
  KvmVmType,
  type TdxCapabilities,
} from "@tdxsim/kvm";
import { placeTdBootCode } from "../boot/boot-code.js";
import { buildGdtPage, buildIdtPage, type IdtEntry } from "../boot/descriptor-tables.js";
import { DEFAULT_CODE_SELECTOR, encodeTdBootParameters, writeTdPerVcpuParameters } from "../boot/index.js";
import { assembleTdBoot } from "../guest/td-boot.js";
import { type ImageChunk, planTdInitialize, planTdVcpuStack, TdLayoutError } from "../layout/index.js";
import { decodeRunExit, type RunExit } from "../report/run-exit.js";
import { tdxApplyCpuidRestrictions, tdxFilterCpuid } from "./cpuid-filter.js";
import { memoryConversionForExit } from "./memory-conversion.js";
import { tdxCheckAttributes } from "./td-attributes.js";
import { tdPageTableBuilder } from "./td-page-tables.js";
import { TdHostError, TdVm } from "./td-vm.js";

const PAGE_SIZE = 4096;
/** Where the VMM keeps each memslot's userspace_addr range (an arbitrary user address, 1 TiB apart). */
const USER_MEMSLOT_BASE = 0x100_0000_0000;
const USER_MEMSLOT_STRIDE = 0x100_0000_0000;
/** Pins for KVM_CAP_SPLIT_IRQCHIP, as tdx_enable_capabilities. */
const TDX_SPLIT_IRQCHIP_PINS = 24n;

export interface TdCreateOptions {
  /** The VMM process (its /dev/kvm and user memory); a new host with TDX by default. */
  process?: KvmProcess;
}

/**
 * td_create(): KVM_CREATE_VM(KVM_X86_TDX_VM), then tdx_enable_capabilities: split irqchip
 * (24 pins) and KVM_CAP_EXIT_HYPERCALL for KVM_HC_MAP_GPA_RANGE so MapGPA reaches user space.
 * KVM_CAP_X2APIC_API is not offered by @tdxsim/kvm yet (its KVM_ENABLE_CAP refuses it).
 */
export function tdCreate(options: TdCreateOptions = {}): TdVm {
  const process = options.process ?? new KvmProcess();
  const kvm = process.openKvm();
  const vm = kvm.createVm(KvmVmType.TDX_VM);
  vm.enableCap({ cap: KvmCap.SPLIT_IRQCHIP, args: [TDX_SPLIT_IRQCHIP_PINS] });
  vm.enableCap({ cap: KvmCap.EXIT_HYPERCALL, args: [1n << BigInt(KvmHc.MAP_GPA_RANGE)] });
  return new TdVm(process, kvm, vm);
}

export interface TdInitializeOptions {
  /**
   * The guest image: page chunks at GVA = GPA (LoadedElf.chunks, GuestImage.chunks). Chunks
   * flagged `shared` (a builder image's shared globals) are mapped with the shared bit, made
   * shared with KVM_SET_MEMORY_ATTRIBUTES and not measured.
   */
  image: readonly (ImageChunk & { readonly bytes: Uint8Array })[];
  /** IDT gates the image needs (GuestImage.idtEntries: #VE → guest_ve_entry). */
  idtEntries?: readonly IdtEntry[];
  /** TD attributes (default 0), checked against KVM_TDX_CAPABILITIES. */
  attributes?: bigint;
  /** XFAM (default x87|SSE = 0x3), checked against KVM_TDX_CAPABILITIES. */
  xfam?: bigint;
  /** The CPUID the test wants; default KVM_GET_SUPPORTED_CPUID. Filtered as the library does. */
  cpuid?: readonly KvmCpuidEntry2[];
  /** Memslot 0 size (default 64 MiB). */
  memorySize?: number;
  maxVcpus?: number;
}

/**
 * td_initialize(): KVM_TDX_CAPABILITIES and tdx_check_attributes, KVM_TDX_INIT_VM with the
 * filtered CPUID, guest_memfd-backed memslots 0/1/2 made PRIVATE, the image, one-to-one page
 * tables, GDT/IDT, td_boot and the common boot parameters — all in the VMM's copy of each
 * memslot, which td_finalize loads with KVM_TDX_INIT_MEM_REGION.
 */
export function tdInitialize(td: TdVm, options: TdInitializeOptions): TdxCapabilities {
  if (td.plan) throw new TdHostError("td_initialize", "the TD is already initialized");
  const caps = td.vm.tdxCapabilities();
  const attributes = options.attributes ?? 0n;
  const xfam = options.xfam ?? 0x3n;
  tdxCheckAttributes(caps, attributes, xfam);
  const wanted = options.cpuid ?? td.kvm.getSupportedCpuid(256);
  const cpuid = tdxApplyCpuidRestrictions(tdxFilterCpuid(wanted, caps.cpuid)) as KvmCpuidEntry2[];
  td.vm.tdxInitVm({ attributes, xfam, cpuid });

  const maxVcpus = options.maxVcpus ?? 1;
  const boot = assembleTdBoot();
  const plan = planTdInitialize({
    memorySize: options.memorySize,
    maxVcpus,
    bootCodeSize: boot.bytes.length,
    image: options.image,
    gpaw: td.vm.memory.sharedGpaBit === 51 ? 52 : 48,
  });
  td.plan = plan;
  td.maxVcpus = maxVcpus;
  for (const slot of plan.layout.memslots()) addPrivateMemslot(td, slot.slot, slot.gpa, slot.size);

  for (const chunk of options.image) {
    td.writeStaging(chunk.gpa, chunk.bytes, "kvm_vm_elf_load");
    // A shared section is the memslot's user memory itself once KVM maps it into the shared EPT:
    // shared attributes now, so the guest's first touch is mapped instead of a conversion exit.
    if (chunk.shared) {
      td.vm.setMemoryAttributes({
        address: BigInt(chunk.gpa),
        size: BigInt(Math.ceil(chunk.bytes.length / PAGE_SIZE) * PAGE_SIZE),
        attributes: 0n,
      });
    }
  }
  td.pageTables = tdPageTableBuilder(plan.layout, plan.pgd, td.pteMemory());
  td.syncPageTables();
  td.writeStaging(plan.gdt, buildGdtPage(plan.tss), "kvm_setup_gdt");
  td.writeStaging(plan.idt, buildIdtPage(options.idtEntries ?? []), "kvm_setup_idt");
  const placed = placeTdBootCode(boot.bytes, boot.resetVectorOffset);
  td.writeStaging(placed.slotGpa, placed.bytes, "load_td_boot_code");
  td.writeStaging(
    plan.bootParameters.gpa,
    encodeTdBootParameters(plan.bootCommonParameters, []),
    "load_td_boot_parameters",
  );
  return caps;
}

/**
 * vm_userspace_mem_region_add() of one more guest_memfd-backed memslot after td_initialize (the UPM
 * tests' slot 3): the library records it so vm_vaddr_alloc can place pages there, then KVM gets
 * it as below. Before td_finalize, like every memory the TD is built with.
 */
export function tdAddPrivateMemslot(td: TdVm, slot: number, gpa: number, size: number): void {
  const plan = td.notFinalized("vm_userspace_mem_region_add");
  plan.layout.addMemslot(slot, gpa, size);
  addPrivateMemslot(td, slot, gpa, size);
}

/** vm_userspace_mem_region_add with a guest_memfd, then KVM_SET_MEMORY_ATTRIBUTES(PRIVATE). */
function addPrivateMemslot(td: TdVm, slot: number, gpa: number, size: number): void {
  const guestMemfd = td.vm.createGuestMemfd({ size: BigInt(size) });
  const userspaceAddr = USER_MEMSLOT_BASE + slot * USER_MEMSLOT_STRIDE;
  td.vm.setUserMemoryRegion({
    slot,
    flags: KvmMem.GUEST_MEMFD,
    guestPhysAddr: BigInt(gpa),
    memorySize: BigInt(size),
    userspaceAddr: BigInt(userspaceAddr),
    guestMemfd,
    guestMemfdOffset: 0n,
  });
  td.vm.setMemoryAttributes({
    address: BigInt(gpa),
    size: BigInt(size),
    attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE,
  });
  td.memslots.push({ slot, gpa, size, userspaceAddr, guestMemfd });
}

/**
 * td_vcpu_add(): KVM_CREATE_VCPU, KVM_TDX_GET_CPUID → KVM_SET_CPUID2, KVM_TDX_INIT_VCPU, a
 * stack, and the vCPU's td_per_vcpu_parameters (ESP, entry, code selector).
 */
export function tdVcpuAdd(td: TdVm, vcpuId: number, guestCode: number | bigint) {
  const plan = td.notFinalized("td_vcpu_add");
  const index = td.vcpus.length;
  if (index >= td.maxVcpus) {
    throw new TdHostError(
      "td_vcpu_add",
      `vCPU index ${index} is beyond max_vcpus ${td.maxVcpus} of td_initialize`,
    );
  }
  const entry = Number(guestCode);
  if (!plan.layout.isGvaMapped(entry)) {
    throw new TdHostError("td_vcpu_add", `guest code 0x${entry.toString(16)} is not mapped in the TD`);
  }
  // The stack first: if it does not fit, no KVM vCPU is left behind without a boot record.
  let stack: ReturnType<typeof planTdVcpuStack>;
  try {
    stack = planTdVcpuStack(plan, index, td.maxVcpus);
  } catch (error) {
    if (!(error instanceof TdLayoutError)) throw error;
    throw new TdHostError("td_vcpu_add", `no room for vCPU ${index}'s stack: ${error.message}`);
  }
  td.syncPageTables();
  const vcpu = td.vm.createVcpu(vcpuId);
  vcpu.setCpuid2(vcpu.tdxGetCpuid());
  vcpu.tdxInitVcpu(0n);
  const block = td.readStaging(
    plan.bootParameters.gpa,
    plan.bootParameters.size,
    "load_td_per_vcpu_parameters",
  );
  writeTdPerVcpuParameters(block, index, {
    espGva: stack.initialStackAddr,
    eipGva: entry,
    code64Sel: DEFAULT_CODE_SELECTOR,
  });
  td.writeStaging(plan.bootParameters.gpa, block, "load_td_per_vcpu_parameters");
  const added = { vcpu, id: vcpuId, index, entry, initialStackAddr: stack.initialStackAddr };
  td.vcpus.push(added);
  return added;
}

/**
 * load_td_memory_region for every protected run (KVM_TDX_INIT_MEM_REGION with MEASURE, on
 * the first vCPU), then KVM_TDX_FINALIZE_VM (td_finalize).
 */
export function tdFinalize(td: TdVm): void {
  loadTdMemoryRegions(td);
  td.vm.tdxFinalizeVm();
  td.finalized = true;
}

/** load_td_private_memory: INIT_MEM_REGION (measured) of each planned protected run. */
export function loadTdMemoryRegions(td: TdVm): void {
  const plan = td.notFinalized("load_td_memory_region");
  const first = td.vcpus[0];
  if (!first)
    throw new TdHostError("load_td_memory_region", "needs a vCPU (KVM_TDX_INIT_MEM_REGION is a vCPU ioctl)");
  for (const run of plan.layout.protectedRuns()) {
    const source = td.readStaging(run.gpa, run.pages * PAGE_SIZE, "load_td_memory_region");
    first.vcpu.tdxInitMemRegion({ gpa: run.gpa, source, measure: true });
  }
}

/** td_vcpu_run(): one KVM_RUN, the exit decoded from the kvm_run mapping. */
export function tdVcpuRun(td: TdVm, index = 0): RunExit {
  const v = td.vcpus[index];
  if (!v) throw new TdHostError("td_vcpu_run", `no vCPU with index ${index}`);
  if (!td.finalized) throw new TdHostError("td_vcpu_run", "the TD is not finalized (call tdFinalize first)");
  v.vcpu.kvmRun();
  return decodeRunExit(v.vcpu.run.bytes);
}

/**
 * vcpu_run_and_manage_memory_conversions(): KVM_RUN, answering MapGPA hypercalls and memory
 * faults with KVM_SET_MEMORY_ATTRIBUTES (hypercall.ret = 0) until another exit.
 */
export function vcpuRunAndManageMemoryConversions(td: TdVm, index = 0): RunExit {
  for (;;) {
    const exit = tdVcpuRun(td, index);
    const request = memoryConversionForExit(exit);
    if (!request) return exit;
    td.vm.setMemoryAttributes({
      address: request.address,
      size: request.size,
      attributes: request.attributes,
    });
    if (exit.kind === "hypercall") td.vcpus[index]!.vcpu.run.hypercall.ret = 0n;
  }
}
