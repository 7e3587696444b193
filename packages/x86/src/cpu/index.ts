// @tdxsim/x86 interpreter: run decoded blocks over exec's state and the MMU until a stop.
export { Block, type Handler, X_NEXT, X_START, X_STRIDE } from "./block.js";
export { Cpu, type CpuOptions } from "./cpu.js";
export { loadMultiboot, MULTIBOOT_BOOTLOADER_MAGIC, parseElf, writeGuestPhysical } from "./multiboot.js";
export { type CpuStop, DEFAULT_EXITS, type ExitControls, type StopReason, StopSignal } from "./stops.js";
