export {
  AddressError,
  checkGpa,
  GPA_LIMIT,
  hasSharedBit,
  isPageAligned,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageNumber,
  sharedBitValue,
  stripSharedBit,
} from "./address.js";
export { Errno, ErrnoError, type ErrnoName, errnoName } from "./errno.js";
export {
  type CreateGuestMemfd,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  GuestMemfd,
  type GuestMemfdBinding,
  type GuestMemfdInvalidateListener,
} from "./guest-memfd.js";
export {
  HostPhysicalMemory,
  type HostPhysicalView,
  type PrivateKeyAccess,
  PrivatePageAccessError,
  SHARED_KEY_ID,
} from "./host-physical.js";
export {
  type AttributeInterval,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  type KvmMemoryAttributes,
  MemoryAttributes,
  type RangeKind,
} from "./memory-attributes.js";
export {
  dirtyBitmapBytes,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  Memslot,
} from "./memslot.js";
export {
  KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_SLOTS_NUM,
  KVM_USER_MEM_SLOTS,
  MemslotTable,
  type MemslotTableOptions,
  TASK_SIZE_MAX,
  type UserspaceMemoryRegion2,
} from "./memslot-table.js";
export * from "./paging/index.js";
export { SparseMemory } from "./sparse-memory.js";
export { hex, toU64, type U64, U64_LIMIT } from "./u64.js";
