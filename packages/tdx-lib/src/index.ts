export * from "./boot/index.js";
export * from "./elf/index.js";
export * from "./guest/index.js";
export * from "./host/index.js";
export * from "./layout/index.js";
export * from "./report/index.js";
