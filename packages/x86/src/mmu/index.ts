// @tdxsim/x86 memory subsystem: second-stage interface and implementations, the software TLB,
// linear-memory accessors with fault reporting, and code-page tracking.
export { CodePageTracker, type CodeWriteHook, type CodeWriteRevoker } from "./code-pages.js";
export {
  EXIT_REASON_EPT_VIOLATION,
  MemoryFault,
  type MemoryStop,
  VECTOR_AC,
  VECTOR_GP,
  VECTOR_PF,
  VECTOR_SS,
  VECTOR_VE,
} from "./fault.js";
export { FlatGuestPhysicalMap } from "./flat-map.js";
export { LegacyPageWalker, type LegacyPagingMode } from "./legacy-walker.js";
export { MemslotGuestPhysicalMap } from "./memslot-map.js";
export { Mmu } from "./mmu.js";
export {
  GPA_ACCESS_FETCH,
  GPA_ACCESS_FINAL,
  GPA_ACCESS_GLA_VALID,
  GPA_ACCESS_READ,
  GPA_ACCESS_WRITE,
  GPA_FAULT,
  GPA_NO_BACKING,
  GPA_OK,
  GPA_READONLY,
  GPA_RSVD_PAGE_FAULT,
  GPA_VE,
  type GpaStatus,
  GpaTranslation,
  type GuestPhysicalMap,
} from "./second-stage.js";
export { CTX_SUPERVISOR, CTX_SUPERVISOR_AC, CTX_USER, CTX_USER_AC, SoftTlb } from "./tlb.js";
export {
  CR0_AM,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  CR4_PSE,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  LinearTranslator,
  type MmuOptions,
} from "./translator.js";
