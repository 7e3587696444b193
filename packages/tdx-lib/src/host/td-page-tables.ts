// virt_pg_map for a TD: writes the 4-level guest page tables for every planned mapping
// (GVA → GPA, the shared bit in the leaves of virt_map_shared mappings), 4 KiB pages as
// kvm_util maps them, table pages taken from the layout's page-table region.
import { PageTableBuilder, type PteMemory } from "@tdxsim/memory";
import type { TdMemoryLayout } from "../layout/index.js";

const PAGE_SIZE = 4096;

/**
 * Maps every run of `layout.mappings()` under the root table `pgd` (CR3) into `memory`.
 * Returns the builder, so later virt_map calls can extend the same tables.
 */
export function writeTdPageTables(layout: TdMemoryLayout, pgd: number, memory: PteMemory): PageTableBuilder {
  const builder = tdPageTableBuilder(layout, pgd, memory);
  for (const m of layout.mappings()) {
    builder.map(m.gva, m.gpa, m.pages * PAGE_SIZE, { shared: m.shared, maxPageSize: PAGE_SIZE });
  }
  return builder;
}

/** A builder over the TD's root table, with the shared bit at GPAW − 1 and MAXPHYADDR = GPAW. */
export function tdPageTableBuilder(layout: TdMemoryLayout, pgd: number, memory: PteMemory): PageTableBuilder {
  return new PageTableBuilder({
    levels: 4,
    memory,
    root: pgd,
    allocTable: () => layout.allocPageTablePage(),
    maxPhysAddr: layout.gpaw,
    sharedBit: layout.gpaw - 1,
  });
}
