export * from "./constants.js";
export type { PageRun } from "./memslot-pages.js";
export { MemslotPages } from "./memslot-pages.js";
export * from "./plan-td-initialize.js";
export { TdLayoutError } from "./td-layout-error.js";
export * from "./td-memory-layout.js";
