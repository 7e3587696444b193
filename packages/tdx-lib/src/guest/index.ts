export * from "./builder/function-builder.js";
export { FunctionFrame } from "./builder/function-frame.js";
export * from "./builder/guest-program.js";
export { GuestProgramError } from "./builder/guest-program-error.js";
export {
  type GuestGlobalOptions,
  MAX_GUEST_GLOBAL_SIZE,
  type ProgramGlobal,
} from "./builder/program-globals.js";
export * from "./builder/values.js";
export * from "./guest-image.js";
export { EX_REGS } from "./library/ex-regs.js";
export * from "./library/guest-library.js";
export type { GuestGlobal, GuestRoutine } from "./library/routines.js";
export { SYSV_ARG_REGS } from "./library/routines.js";
export { TDX_VE_UNHANDLED_ERROR, tdxVeUnhandledErrorCode } from "./library/ve-handler.js";
export { INSTRUCTION_NOT_EMULATED } from "./library/ve-instructions.js";
export { MMIO_NOT_EMULATED } from "./library/ve-mmio.js";
export * from "./library-abi.js";
export * from "./td-boot.js";
export * from "./tdcall-leaves.js";
