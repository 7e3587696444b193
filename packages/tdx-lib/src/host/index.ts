export * from "./cpuid-filter.js";
export * from "./memory-conversion.js";
export * from "./td-attributes.js";
