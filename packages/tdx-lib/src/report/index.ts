export * from "./assertions.js";
export * from "./fatal-error.js";
export * from "./kvm-run-layout.js";
export * from "./ports.js";
export {
  decodeRunExit,
  describeExit,
  type HypercallExit,
  type IoExit,
  KvmRunLayoutError,
  littleEndian,
  type MemoryFaultExit,
  type MmioExit,
  type MsrExit,
  type OtherExit,
  type RunExit,
  type SystemEventExit,
} from "./run-exit.js";
