export {
  AddressError,
  checkGpa,
  GPA_LIMIT,
  isPageAligned,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageNumber,
} from "./address.js";
export { Errno, ErrnoError, type ErrnoName, errnoName } from "./errno.js";
export {
  HostPhysicalMemory,
  type HostPhysicalView,
  type PrivateKeyAccess,
  PrivatePageAccessError,
  SHARED_KEY_ID,
} from "./host-physical.js";
export { SparseMemory } from "./sparse-memory.js";
