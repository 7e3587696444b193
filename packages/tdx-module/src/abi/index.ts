export * from "./ghci.js";
export * from "./leaves.js";
export * from "./metadata.js";
export * from "./pages.js";
export * from "./status.js";
export * from "./td-attributes.js";
export * from "./vmx.js";
