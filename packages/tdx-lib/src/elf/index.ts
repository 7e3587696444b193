export * as elfConstants from "./constants.js";
export { ElfError } from "./elf-error.js";
export {
  DEFAULT_MAX_IMAGE_SIZE,
  DEFAULT_PIE_LOAD_BASE,
  type LoadElfOptions,
  type LoadedElf,
  type LoadedSegment,
  loadElf,
} from "./load-elf.js";
export type { ElfLoadChunk } from "./page-image.js";
export type { ElfSymbol } from "./symbols.js";
