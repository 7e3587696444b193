export { type MapOptions, PageTableBuilder, type PageTableBuilderOptions } from "./builder.js";
export * from "./constants.js";
export { linearPageAllocator } from "./page-allocator.js";
export { type PteMemory, sparsePteMemory } from "./pte-memory.js";
export { PageWalker, type PagingMode, WALK_FAULT } from "./walker.js";
