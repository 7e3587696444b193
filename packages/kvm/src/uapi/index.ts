// The raw KVM ABI: request numbers, constants, struct layouts, kvm_run offsets, GHCI numbers.
export * from "./constants.js";
export * from "./ghci.js";
export * from "./ioc.js";
export * from "./ioctls.js";
export * from "./kvm-run-layout.js";
export * from "./struct.js";
export * from "./structs.js";
