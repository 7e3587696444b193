import { PAGE_SIZE } from "@tdxsim/memory";
import { TD_BOOT_PARAMETERS_GPA, tdBootCodeSlot } from "./boot-gpas.js";
import { BootLayoutError, checkU16, checkU32 } from "./boot-layout-error.js";

// struct td_boot_parameters and struct td_per_vcpu_parameters of td_boot.h: packed,
// little-endian, read by the 32-bit boot code through these offsets.

export const TD_BOOT_PARAMETERS_CR0 = 0;
export const TD_BOOT_PARAMETERS_CR3 = 4;
export const TD_BOOT_PARAMETERS_CR4 = 8;
export const TD_BOOT_PARAMETERS_GDT = 12;
export const TD_BOOT_PARAMETERS_IDT = 18;
export const TD_BOOT_PARAMETERS_PER_VCPU = 24;
export const SIZEOF_TD_BOOT_PARAMETERS = 24;

export const TD_PER_VCPU_PARAMETERS_ESP_GVA = 0;
export const TD_PER_VCPU_PARAMETERS_LJMP_TARGET = 4;
/** Inside the ljmp target (m16:32): 32-bit EIP, then the 16-bit code selector. */
export const TD_PER_VCPU_PARAMETERS_EIP_GVA = 4;
export const TD_PER_VCPU_PARAMETERS_CODE64_SEL = 8;
export const SIZEOF_TD_PER_VCPU_PARAMETERS = 10;

/** td_boot_parameters_dtr: what LGDT/LIDT read in 32-bit mode (u16 limit, u32 base). */
export interface TdBootDtr {
  readonly limit: number;
  readonly base: number;
}

export interface TdPerVcpuParameters {
  /** Initial stack pointer (the vCPU's initial_stack_addr); below 4 GiB. */
  readonly espGva: number;
  /** Guest entry point the far jump lands on, in 64-bit mode; below 4 GiB. */
  readonly eipGva: number;
  /** 64-bit code selector loaded by the far jump (DEFAULT_CODE_SELECTOR 0x8). */
  readonly code64Sel: number;
}

/** The fields common to all vCPUs (the first 24 bytes). */
export interface TdBootCommonParameters {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: TdBootDtr;
  readonly idtr: TdBootDtr;
}

/** Bytes the block needs for `maxVcpus` records: 24 + 10 × maxVcpus. */
export function tdBootParametersSize(maxVcpus: number): number {
  if (!Number.isInteger(maxVcpus) || maxVcpus < 1) {
    throw new BootLayoutError("maxVcpus", `${maxVcpus} is not a positive integer`);
  }
  return SIZEOF_TD_BOOT_PARAMETERS + SIZEOF_TD_PER_VCPU_PARAMETERS * maxVcpus;
}

/**
 * The boot-parameter memslot: the block rounded up to pages at 0xFFFF0000. It must stay
 * below the boot-code page(s) that end at 4 GiB.
 */
export function tdBootParametersSlot(
  maxVcpus: number,
  bootCodeSize = PAGE_SIZE,
): { gpa: number; size: number } {
  const size = Math.ceil(tdBootParametersSize(maxVcpus) / PAGE_SIZE) * PAGE_SIZE;
  const bootCode = tdBootCodeSlot(bootCodeSize);
  if (TD_BOOT_PARAMETERS_GPA + size > bootCode.gpa) {
    throw new BootLayoutError(
      "maxVcpus",
      `${maxVcpus} vCPUs need 0x${size.toString(16)} bytes of boot parameters at 0xffff0000, which reaches the boot code at 0x${bootCode.gpa.toString(16)}`,
    );
  }
  return { gpa: TD_BOOT_PARAMETERS_GPA, size };
}

/** GPA of vCPU `vcpuIndex`'s record, as the boot code computes it from ESI. */
export function tdPerVcpuParametersGpa(vcpuIndex: number): number {
  return TD_BOOT_PARAMETERS_GPA + TD_BOOT_PARAMETERS_PER_VCPU + SIZEOF_TD_PER_VCPU_PARAMETERS * vcpuIndex;
}

function dtr(view: DataView, offset: number, value: TdBootDtr, field: string): void {
  view.setUint16(offset, checkU16(value.limit, `${field}.limit`), true);
  view.setUint32(offset + 2, checkU32(value.base, `${field}.base`), true);
}

/**
 * Writes the common fields into `block` (a view of the boot-parameter region). As in
 * load_td_boot_parameters(), CR0, CR3, CR4 and the GDT base must be non-zero.
 */
export function writeTdBootCommonParameters(block: Uint8Array, params: TdBootCommonParameters): void {
  if (block.length < SIZEOF_TD_BOOT_PARAMETERS) {
    throw new BootLayoutError("block", `${block.length} bytes cannot hold td_boot_parameters (24)`);
  }
  for (const name of ["cr0", "cr3", "cr4"] as const) {
    checkU32(params[name], name);
    if (params[name] === 0) throw new BootLayoutError(name, "must not be 0");
  }
  if (params.gdtr.base === 0) throw new BootLayoutError("gdtr.base", "must not be 0");
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  view.setUint32(TD_BOOT_PARAMETERS_CR0, params.cr0, true);
  view.setUint32(TD_BOOT_PARAMETERS_CR3, params.cr3, true);
  view.setUint32(TD_BOOT_PARAMETERS_CR4, params.cr4, true);
  dtr(view, TD_BOOT_PARAMETERS_GDT, params.gdtr, "gdtr");
  dtr(view, TD_BOOT_PARAMETERS_IDT, params.idtr, "idtr");
}

/**
 * Writes vCPU `vcpuIndex`'s record. The index is the TDX module's sequential vCPU index
 * (the order of KVM_TDX_INIT_VCPU), which the boot code finds in ESI — not the vCPU id.
 */
export function writeTdPerVcpuParameters(
  block: Uint8Array,
  vcpuIndex: number,
  params: TdPerVcpuParameters,
): void {
  const field = `per_vcpu[${vcpuIndex}]`;
  const offset = TD_BOOT_PARAMETERS_PER_VCPU + SIZEOF_TD_PER_VCPU_PARAMETERS * vcpuIndex;
  if (
    !Number.isInteger(vcpuIndex) ||
    vcpuIndex < 0 ||
    offset + SIZEOF_TD_PER_VCPU_PARAMETERS > block.length
  ) {
    throw new BootLayoutError(field, `does not fit in a ${block.length}-byte boot-parameter block`);
  }
  checkU32(params.espGva, `${field}.esp_gva`);
  checkU32(params.eipGva, `${field}.ljmp_target.eip_gva`);
  checkU16(params.code64Sel, `${field}.ljmp_target.code64_sel`);
  if (params.espGva === 0)
    throw new BootLayoutError(`${field}.esp_gva`, "the initial stack address must not be 0");
  if (params.code64Sel === 0)
    throw new BootLayoutError(`${field}.ljmp_target.code64_sel`, "must not be the null selector");
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  view.setUint32(offset + TD_PER_VCPU_PARAMETERS_ESP_GVA, params.espGva, true);
  view.setUint32(offset + TD_PER_VCPU_PARAMETERS_EIP_GVA, params.eipGva, true);
  view.setUint16(offset + TD_PER_VCPU_PARAMETERS_CODE64_SEL, params.code64Sel, true);
}

/** Encodes a whole block: common fields plus one record per vCPU, in index order. */
export function encodeTdBootParameters(
  common: TdBootCommonParameters,
  perVcpu: readonly TdPerVcpuParameters[],
  maxVcpus = perVcpu.length,
): Uint8Array {
  if (perVcpu.length > maxVcpus) {
    throw new BootLayoutError("perVcpu", `${perVcpu.length} records exceed maxVcpus ${maxVcpus}`);
  }
  const block = new Uint8Array(tdBootParametersSize(Math.max(1, maxVcpus)));
  writeTdBootCommonParameters(block, common);
  perVcpu.forEach((params, index) => {
    writeTdPerVcpuParameters(block, index, params);
  });
  return block;
}

export function decodeTdBootCommonParameters(block: Uint8Array): TdBootCommonParameters {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  return {
    cr0: view.getUint32(TD_BOOT_PARAMETERS_CR0, true),
    cr3: view.getUint32(TD_BOOT_PARAMETERS_CR3, true),
    cr4: view.getUint32(TD_BOOT_PARAMETERS_CR4, true),
    gdtr: {
      limit: view.getUint16(TD_BOOT_PARAMETERS_GDT, true),
      base: view.getUint32(TD_BOOT_PARAMETERS_GDT + 2, true),
    },
    idtr: {
      limit: view.getUint16(TD_BOOT_PARAMETERS_IDT, true),
      base: view.getUint32(TD_BOOT_PARAMETERS_IDT + 2, true),
    },
  };
}

export function decodeTdPerVcpuParameters(block: Uint8Array, vcpuIndex: number): TdPerVcpuParameters {
  const offset = TD_BOOT_PARAMETERS_PER_VCPU + SIZEOF_TD_PER_VCPU_PARAMETERS * vcpuIndex;
  if (offset + SIZEOF_TD_PER_VCPU_PARAMETERS > block.length) {
    throw new BootLayoutError(`per_vcpu[${vcpuIndex}]`, `lies outside a ${block.length}-byte block`);
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  return {
    espGva: view.getUint32(offset + TD_PER_VCPU_PARAMETERS_ESP_GVA, true),
    eipGva: view.getUint32(offset + TD_PER_VCPU_PARAMETERS_EIP_GVA, true),
    code64Sel: view.getUint16(offset + TD_PER_VCPU_PARAMETERS_CODE64_SEL, true),
  };
}
