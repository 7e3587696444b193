// @tdxsim/x86 execution core: architectural state, lazy flags, instruction semantics,
// control-register and MSR rules, and the BigInt register-access API.
export * as alu from "./alu.js";
export * from "./api.js";
export * as bitops from "./bitops.js";
export * from "./control.js";
export * from "./deliver.js";
export * from "./descriptor.js";
export * from "./events.js";
export * from "./exception.js";
export * from "./far.js";
export * from "./fast-syscall.js";
export * from "./flag-insns.js";
export * from "./flags.js";
export * from "./fpu-debug.js";
export * from "./fxsave.js";
export * from "./iret.js";
export * from "./msr.js";
export * as muldiv from "./muldiv.js";
export * from "./privileged.js";
export * from "./regs.js";
export * from "./segcheck.js";
export * from "./segment.js";
export * as shift from "./shift.js";
export * as sse from "./sse-int.js";
export * from "./state.js";
export * from "./string.js";
export * from "./system-memory.js";
export * from "./xsave.js";
