export * from "./boot-code.js";
export * from "./boot-gpas.js";
export { BootLayoutError } from "./boot-layout-error.js";
export * from "./boot-parameters.js";
export * from "./control-registers.js";
export * from "./descriptor-tables.js";
export * from "./descriptors.js";
