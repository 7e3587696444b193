export { KvmError, type KvmErrorDetails } from "./errors.js";
export * from "./kvm-run.js";
export * from "./uapi/index.js";
export {
  copyFromUser,
  copyToUser,
  createUserMemory,
  MMAP_MIN_ADDR,
  USER_ADDRESS_LIMIT,
} from "./user-memory.js";
export { decodeExit, encodeExit, type TdxExit, type VcpuExit, type VcpuExitKind } from "./vcpu-exit.js";
