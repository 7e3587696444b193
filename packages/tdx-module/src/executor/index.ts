// The x86 core as the TDX module's TdGuestExecutor.
export { TdCpuExecutor, type TdCpuExecutorOptions, TdVcpuCpu } from "./td-cpu-executor.js";
export { TdGuestPhysicalMap } from "./td-physical-map.js";
