import { describe, expect, it } from "vitest";
import { TdLayoutError, TdMemoryLayout, tdxSharedBit } from "../../src/index.js";

function layoutWithSlot(size = 0x10_0000): TdMemoryLayout {
  const layout = new TdMemoryLayout();
  layout.addMemslot(0, 0, size);
  return layout;
}

describe("TdMemoryLayout", () => {
  it("shared bit is GPA bit GPAW − 1", () => {
    expect(tdxSharedBit(48)).toBe(2 ** 47);
    expect(tdxSharedBit(52)).toBe(2 ** 51);
    expect(new TdMemoryLayout({ gpaw: 52 }).sharedBit).toBe(0x8_0000_0000_0000);
    expect(() => tdxSharedBit(57 as 48)).toThrow(/gpaw: 57 is neither 48 nor 52/);
  });

  it("virt_map_shared sets the shared bit in the PTE's GPA; virt_map does not", () => {
    const layout = layoutWithSlot();
    layout.virtMap(0x8000_0000, 0x5000, 1);
    layout.virtMapShared(0xc000_0000, 0x5000, 1);
    const [priv, shared] = layout.mappings();
    expect(priv).toEqual({ gva: 0x8000_0000, gpa: 0x5000, pages: 1, shared: false });
    expect(shared).toEqual({ gva: 0xc000_0000, gpa: 0x5000, pages: 1, shared: true });
    expect(layout.pteGpa(priv)).toBe(0x5000);
    expect(layout.pteGpa(shared)).toBe(0x8000_0000_5000);
    expect(layout.gvaToGpa(0xc000_0123)).toBe(0x5123);
    expect([0xc000_0fff, 0x8000_0000, 0xd000_0000].map((gva) => layout.isGvaShared(gva))).toEqual([
      true,
      false,
      false,
    ]);
  });

  it("refuses a GVA that is already mapped, and leaves no partial mapping", () => {
    const layout = layoutWithSlot();
    layout.virtMap(0x3000, 0x3000, 1);
    expect(() => layout.virtMap(0x2000, 0x7000, 2)).toThrow(
      /^virt_map: gva 0x3000 is already mapped \(to gpa 0x3000\)$/,
    );
    expect(layout.isGvaMapped(0x2000)).toBe(false);
    expect(() => layout.virtMapShared(0x3000, 0x9000, 1)).toThrow(TdLayoutError);
  });

  it("refuses unaligned addresses, GPAs with the shared bit, non-canonical GVAs", () => {
    const layout = layoutWithSlot();
    expect(() => layout.virtMap(0x1001, 0x1000, 1)).toThrow(/must be page-aligned/);
    expect(() => layout.virtMap(0x1000, 2 ** 47 + 0x1000, 1)).toThrow(
      /must be below the shared bit 0x800000000000/,
    );
    expect(() => layout.virtMap(2 ** 47, 0x1000, 1)).toThrow(/is not a lower-half canonical address/);
    expect(() => layout.gvaToGpa(0x9999_0000)).toThrow(/addr_gva2gpa: gva 0x99990000 is not mapped/);
  });

  it("vm_vaddr_alloc: lowest free GPA ≥ 0x2000 and lowest unmapped GVA ≥ vaddr_min", () => {
    const layout = layoutWithSlot();
    layout.virtMap(0x10_0000, 0x8_0000, 2); // occupy GVAs 0x100000, 0x101000
    const gva = layout.vaddrAlloc(0x1800, 0x10_0000); // 2 pages
    expect(gva).toBe(0x10_2000);
    expect(layout.gvaToGpa(gva)).toBe(0x2000);
    expect(layout.gvaToGpa(gva + 0x1000)).toBe(0x3000);
    expect(layout.vaddrAlloc(1, 0)).toBe(0);
  });

  it("vm_vaddr_alloc_shared: not protected, mapped with the shared bit", () => {
    const layout = layoutWithSlot();
    const privateGva = layout.vaddrAlloc(0x1000, 0x2000);
    const sharedGva = layout.vaddrAllocShared(0x2000);
    expect(layout.mappings().find((m) => m.gva === sharedGva)).toEqual({
      gva: sharedGva,
      gpa: 0x3000,
      pages: 2,
      shared: true,
    });
    expect(layout.protectedRuns()).toEqual([{ slot: 0, gpa: layout.gvaToGpa(privateGva), pages: 1 }]);
  });

  it("vm_vaddr_identity_alloc fails loudly when GVA and GPA diverge", () => {
    const layout = layoutWithSlot();
    layout.virtMap(0x2000, 0x9_0000, 1); // GVA 0x2000 taken, GPA 0x2000 still free
    expect(() => layout.vaddrIdentityAlloc(0x1000, 0x2000, 0)).toThrow(
      /vm_vaddr_identity_alloc: gva 0x3000 maps to gpa 0x2000, not one-to-one/,
    );
  });

  it("page-table pages come from 0x180000 upward", () => {
    const layout = layoutWithSlot(0x20_0000);
    expect(layout.allocPageTablePage()).toBe(0x18_0000);
    expect(layout.allocPageTablePage()).toBe(0x18_1000);
  });

  it("reports exhausted memory and bad memslots", () => {
    const layout = layoutWithSlot(0x4000);
    expect(() => layout.allocPhysPages(3, 0x2000, 0)).toThrow(
      /no 3 free contiguous page\(s\) at or above 0x2000 in memslot 0 \[0x0, 0x4000\)/,
    );
    expect(() => layout.allocPhysPages(1, 0, 7)).toThrow(/memslot 7 does not exist/);
    expect(() => layout.addMemslot(0, 0x10_0000, 0x1000)).toThrow(/memslot 0 already exists/);
    expect(() => layout.addMemslot(1, 0x3000, 0x2000)).toThrow(/overlaps memslot 0 \[0x0, 0x4000\)/);
    expect(() => layout.addMemslot(2, 0x10_0800, 0x1000)).toThrow(/must be whole, non-empty pages/);
    expect(() => layout.addMemslot(3, 2 ** 47 - 0x1000, 0x2000)).toThrow(/reaches the shared bit/);
  });

  it("merges consecutive pages into runs and splits where GVA, GPA or sharing breaks", () => {
    const layout = layoutWithSlot();
    layout.virtMap(0x1000, 0x1000, 2);
    layout.virtMap(0x3000, 0x3000, 1); // continues the run
    layout.virtMap(0x4000, 0x9000, 1); // GPA jumps
    layout.virtMapShared(0x5000, 0xa000, 1); // sharing changes
    expect(layout.mappings().map((m) => [m.gva, m.gpa, m.pages, m.shared])).toEqual([
      [0x1000, 0x1000, 3, false],
      [0x4000, 0x9000, 1, false],
      [0x5000, 0xa000, 1, true],
    ]);
  });
});

describe("TdMemoryLayout refusals leave no state behind", () => {
  it("a vm_vaddr_alloc without a free GVA range claims no physical pages", () => {
    const layout = new TdMemoryLayout();
    layout.addMemslot(0, 0, 0x10_0000);
    expect(() => layout.vaddrAlloc(0x1000, 2 ** 47)).toThrow(/vm_vaddr_unused_gap: no 1 unmapped page/);
    expect(layout.allocPhysPages(1, 0x2000, 0)).toBe(0x2000);
  });
});
