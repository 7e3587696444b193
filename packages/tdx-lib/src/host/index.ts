export * from "./cpuid-filter.js";
export * from "./memory-conversion.js";
export * from "./td-attributes.js";
export * from "./td-globals.js";
export * from "./td-lifecycle.js";
export * from "./td-memory.js";
export * from "./td-page-tables.js";
export * from "./td-vm.js";
