import { describe, expect, it } from "vitest";
import {
  decodeTdBootCommonParameters,
  planTdInitialize,
  planTdVcpuStack,
  TD_BOOT_CR0,
  TD_BOOT_CR4,
  TdLayoutError,
  writeTdBootCommonParameters,
} from "../../src/index.js";

const image = [
  { gpa: 0x40_0000, bytes: new Uint8Array(0x2000) }, // code and rodata
  { gpa: 0x40_3000, bytes: new Uint8Array(0x3000) }, // data and bss
];

describe("planTdInitialize", () => {
  const plan = planTdInitialize({ memorySize: 64 << 20, maxVcpus: 1024, bootCodeSize: 70, image });

  it("places memslots 0, 1, 2 as the series does", () => {
    expect(plan.layout.memslots().map((s) => [s.slot, s.gpa, s.size])).toEqual([
      [0, 0, 64 << 20],
      [2, 0xffff_0000, 3 * 4096], // 24 + 10 × 1024 bytes → 3 pages
      [1, 0xffff_f000, 4096], // round_up(70, 4096) ending at 4 GiB
    ]);
    expect(plan.bootCode).toEqual({
      slotGpa: 0xffff_f000,
      slotSize: 4096,
      codeGpa: 0xffff_ffba,
      resetVectorGpa: 0xffff_fff0,
    });
    expect(plan.bootParameters).toEqual({ gpa: 0xffff_0000, size: 0x3000 });
  });

  it("root page table at 0x180000, GDT/IDT/TSS one-to-one from 0x2000", () => {
    expect(plan.pgd).toBe(0x18_0000);
    expect([plan.gdt, plan.idt, plan.tss]).toEqual([0x2000, 0x3000, 0x4000]);
    for (const gva of [plan.gdt, plan.idt, plan.tss]) expect(plan.layout.gvaToGpa(gva)).toBe(gva);
    expect(plan.image).toEqual({ start: 0x40_0000, end: 0x40_6000 });
  });

  it("common boot parameters: CR0/CR3/CR4 and the GDTR/IDTR images", () => {
    expect(plan.bootCommonParameters).toEqual({
      cr0: TD_BOOT_CR0,
      cr3: 0x18_0000,
      cr4: TD_BOOT_CR4,
      gdtr: { limit: 0xfff, base: 0x2000 },
      idtr: { limit: 0xfff, base: 0x3000 },
    });
    const block = new Uint8Array(plan.bootParameters.size);
    writeTdBootCommonParameters(block, plan.bootCommonParameters);
    expect(decodeTdBootCommonParameters(block)).toEqual(plan.bootCommonParameters);
  });

  it("maps everything the boot code touches one-to-one, nothing shared", () => {
    expect(plan.layout.mappings()).toEqual([
      { gva: 0x2000, gpa: 0x2000, pages: 3, shared: false },
      { gva: 0x40_0000, gpa: 0x40_0000, pages: 2, shared: false },
      { gva: 0x40_3000, gpa: 0x40_3000, pages: 3, shared: false },
      { gva: 0xffff_0000, gpa: 0xffff_0000, pages: 3, shared: false },
      { gva: 0xffff_f000, gpa: 0xffff_f000, pages: 1, shared: false },
    ]);
  });

  it("per-vCPU stacks: 5 pages at GVA ≥ 0xab6000, ESP = top − 8, records at 0xFFFF0018 + 10 × index", () => {
    const p = planTdInitialize({ maxVcpus: 4, bootCodeSize: 70, image });
    const first = planTdVcpuStack(p, 0, 4);
    const second = planTdVcpuStack(p, 1, 4);
    expect(first).toEqual({
      vcpuIndex: 0,
      stackGva: 0xab_6000,
      initialStackAddr: 0xab_aff8,
      perVcpuParametersGpa: 0xffff_0018,
    });
    expect(second).toMatchObject({
      stackGva: 0xab_b000,
      initialStackAddr: 0xab_fff8,
      perVcpuParametersGpa: 0xffff_0022,
    });
    // Backing pages come from the physical allocator (lowest free ≥ 0x2000), as vm_vaddr_alloc does.
    expect(p.layout.gvaToGpa(0xab_6000)).toBe(0x5000);
    expect(p.layout.gvaToGpa(0xab_b000)).toBe(0xa000);
    expect((first.initialStackAddr + 8) % 16).toBe(0);
    expect(() => planTdVcpuStack(p, 4, 4)).toThrow(/vcpuIndex: 4 is not in \[0, 4\)/);
  });

  it("lists the protected runs td_finalize adds with KVM_TDX_INIT_MEM_REGION", () => {
    const p = planTdInitialize({ maxVcpus: 1, bootCodeSize: 70, image });
    planTdVcpuStack(p, 0, 1);
    expect(p.layout.protectedRuns()).toEqual([
      { slot: 0, gpa: 0x2000, pages: 8 }, // GDT, IDT, TSS, stack
      { slot: 0, gpa: 0x18_0000, pages: 1 }, // root page table
      { slot: 0, gpa: 0x40_0000, pages: 2 },
      { slot: 0, gpa: 0x40_3000, pages: 3 },
      { slot: 2, gpa: 0xffff_0000, pages: 1 },
      { slot: 1, gpa: 0xffff_f000, pages: 1 },
    ]);
  });

  it("takes a configurable memory size and refuses ones that cannot work", () => {
    expect(planTdInitialize({ memorySize: 1 << 30, maxVcpus: 1, bootCodeSize: 70, image }).memorySize).toBe(
      1 << 30,
    );
    const bad = (memorySize: number) => () =>
      planTdInitialize({ memorySize, maxVcpus: 1, bootCodeSize: 70, image });
    expect(bad(0x1000_0001)).toThrow(/memorySize: 268435457 is not a positive multiple of 4096/);
    expect(bad(0xffff_1000)).toThrow(/memorySize: 0xffff1000 reaches the boot parameters at 0xffff0000/);
    expect(bad(0x40_2000)).toThrow(TdLayoutError);
    expect(bad(0x40_2000)).toThrow(
      /guest image: \[0x403000, 0x406000\) lies outside memslot 0 \[0, 0x402000\)/,
    );
  });

  it("refuses an image that overlaps itself, a boot code too small, too many vCPUs", () => {
    const overlapping = [...image, { gpa: 0x40_1000, bytes: new Uint8Array(0x1000) }];
    expect(() => planTdInitialize({ maxVcpus: 1, bootCodeSize: 70, image: overlapping })).toThrow(
      /guest image: page 0x401000 is already allocated/,
    );
    expect(() => planTdInitialize({ maxVcpus: 1, bootCodeSize: 8, image })).toThrow(
      /bootCodeSize: 8 cannot hold the 16-byte reset vector/,
    );
    expect(() => planTdInitialize({ maxVcpus: 6500, bootCodeSize: 70, image })).toThrow(
      /reaches the boot code/,
    );
  });
});
