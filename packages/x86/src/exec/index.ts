// @tdxsim/x86 execution core: architectural state, lazy flags and instruction semantics.
export * as alu from "./alu.js";
export * as bitops from "./bitops.js";
export * from "./exception.js";
export * from "./flags.js";
export * as muldiv from "./muldiv.js";
export * from "./regs.js";
export * as shift from "./shift.js";
export * as sse from "./sse-int.js";
