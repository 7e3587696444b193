// The x86 core as the TDX module's TdGuestExecutor.

export {
  IMAGE_BASE as GUEST_IMAGE_BASE,
  IMAGE_PAGES as GUEST_IMAGE_PAGES,
  imageWithResetVector,
  longModeGuest,
  SHARED_WINDOW as GUEST_SHARED_WINDOW,
  tdvmcallOut,
} from "./guest-image.js";
export { TdCpuExecutor, type TdCpuExecutorOptions, TdVcpuCpu } from "./td-cpu-executor.js";
export { TdGuestPhysicalMap } from "./td-physical-map.js";
