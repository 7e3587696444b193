export * from "./boot/index.js";
export * from "./elf/index.js";
