export * from "./cpuid-filter.js";
export * from "./td-attributes.js";
