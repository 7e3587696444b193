// The x86 4-level / 5-level page walk (SDM Vol. 3A §4.5–4.8) for one linear address: entry
// fetches through PteMemory, reserved-bit checks against MAXPHYADDR, access rights with CR0.WP,
// EFER.NXE, CR4.SMEP and CR4.SMAP, the #PF error code, and accessed/dirty updates. The virtual
// address comes as two int32 halves and nothing on this path allocates or uses BigInt.
import {
  ACCESS_EFLAGS_AC,
  ACCESS_FETCH,
  ACCESS_IMPLICIT,
  ACCESS_USER,
  ACCESS_WRITE,
  PAGE_SIZE_1G,
  PAGE_SIZE_2M,
  PAGE_SIZE_4K,
  type PagingLevels,
  PF_I,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  PTE_A,
  PTE_ADDR_HI,
  PTE_ADDR_LO,
  PTE_D,
  PTE_G,
  PTE_HI_NX,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
} from "./constants.js";
import type { PteMemory } from "./pte-memory.js";

export interface PagingMode {
  /** 4 (CR4.LA57 = 0) or 5 (LA57 = 1) */
  levels: PagingLevels;
  /** Physical address of the top-level table (CR3 bits 51:12; the low 12 bits are ignored). */
  cr3: number;
  /** CR0.WP */
  wp: boolean;
  /** IA32_EFER.NXE */
  nxe: boolean;
  /** CR4.SMEP */
  smep: boolean;
  /** CR4.SMAP */
  smap: boolean;
  /** MAXPHYADDR (CPUID.80000008H:EAX[7:0]), 36..52; entry address bits at or above it are reserved. */
  maxPhysAddr: number;
}

/** translate() returns this instead of a GPA when the walk faults; the error code is in `errorCode`. */
export const WALK_FAULT = -1;

export class PageWalker {
  readonly memory: PteMemory;
  mode: Readonly<PagingMode>;

  // Results of the last successful walk.
  gpa = 0;
  pageSize = 0;
  /** Effective rights over all levels: writable = R/W set everywhere, user = U/S set everywhere. */
  writable = false;
  user = false;
  /** XD set at some level (and EFER.NXE = 1). */
  executeDisable = false;
  global = false;
  /** The leaf's dirty flag after this walk. */
  dirty = false;
  // Result of the last faulting walk: the #PF error code.
  errorCode = 0;

  private readonly entry = new Uint32Array(2);
  private readonly entryAddr = new Float64Array(5);
  private readonly entryLo = new Int32Array(5);
  private readonly entryHi = new Int32Array(5);
  private rsvdHi = 0;
  private root = 0;

  constructor(memory: PteMemory, mode: PagingMode) {
    this.memory = memory;
    this.mode = mode;
    this.setMode(mode);
  }

  /** Installs a new mode (after a write to CR0, CR3, CR4 or EFER). */
  setMode(mode: PagingMode): void {
    if (mode.levels !== 4 && mode.levels !== 5)
      throw new RangeError(`paging levels ${mode.levels} is not 4 or 5`);
    const m = mode.maxPhysAddr;
    if (!Number.isInteger(m) || m < 36 || m > 52) throw new RangeError(`maxPhysAddr ${m} is not in 36..52`);
    if (!Number.isSafeInteger(mode.cr3) || mode.cr3 < 0 || mode.cr3 >= 2 ** 52) {
      throw new RangeError(`cr3 ${mode.cr3} is not a physical address`);
    }
    this.mode = { ...mode };
    // Address bits 51:MAXPHYADDR live in the high word as bits (51-32):(MAXPHYADDR-32).
    this.rsvdHi = (PTE_ADDR_HI & ~((1 << (m - 32)) - 1)) | (mode.nxe ? 0 : PTE_HI_NX);
    this.root = mode.cr3 - (mode.cr3 % PAGE_SIZE_4K);
  }

  /**
   * Translates the linear address vaHi:vaLo (bits 63:32 and 31:0; the caller has already
   * checked canonicality) for `access` (ACCESS_* bits). Returns the GPA, or WALK_FAULT with
   * `errorCode` set. Sets accessed flags on every entry used and the dirty flag of the leaf
   * on a write, only when the access is allowed.
   */
  translate(vaLo: number, vaHi: number, access: number): number {
    const memory = this.memory;
    const entry = this.entry;
    const rsvdHi = this.rsvdHi;
    let table = this.root;
    let rights = PTE_RW | PTE_US;
    let nx = 0;
    let level: number = this.mode.levels;
    let lo = 0;
    let hi = 0;
    for (;;) {
      const addr = table + indexAt(level, vaLo, vaHi) * 8;
      memory.read64(addr, entry);
      lo = entry[0] | 0;
      hi = entry[1] | 0;
      this.entryAddr[level - 1] = addr;
      this.entryLo[level - 1] = lo;
      this.entryHi[level - 1] = hi;
      if ((lo & PTE_P) === 0) return this.fault(0, access);
      if ((hi & rsvdHi) !== 0 || (lo & reservedLo(level, lo)) !== 0)
        return this.fault(PF_P | PF_RSVD, access);
      rights &= lo;
      nx |= hi;
      if (level === 1 || (level <= 3 && (lo & PTE_PS) !== 0)) break;
      table = (hi & PTE_ADDR_HI) * 4294967296 + ((lo & PTE_ADDR_LO) >>> 0);
      level--;
    }
    const executeDisable = this.mode.nxe && (nx & PTE_HI_NX) !== 0;
    if (!this.allowed(rights, executeDisable, access)) return this.fault(PF_P, access);

    const leafLevel = level;
    for (let l = this.mode.levels; l >= leafLevel; l--) {
      const i = l - 1;
      let v = this.entryLo[i];
      if ((v & PTE_A) === 0) v |= PTE_A;
      if (l === leafLevel && (access & ACCESS_WRITE) !== 0) v |= PTE_D;
      if (v !== this.entryLo[i]) {
        memory.write64(this.entryAddr[i], v, this.entryHi[i]);
        this.entryLo[i] = v;
      }
    }
    lo = this.entryLo[leafLevel - 1];
    const base = (hi & PTE_ADDR_HI) * 4294967296;
    let gpa: number;
    if (leafLevel === 1) {
      this.pageSize = PAGE_SIZE_4K;
      gpa = base + ((lo & PTE_ADDR_LO) >>> 0) + (vaLo & 0xfff);
    } else if (leafLevel === 2) {
      this.pageSize = PAGE_SIZE_2M;
      gpa = base + ((lo & 0xffe00000) >>> 0) + (vaLo & 0x1fffff);
    } else {
      this.pageSize = PAGE_SIZE_1G;
      gpa = base + ((lo & 0xc0000000) >>> 0) + (vaLo & 0x3fffffff);
    }
    this.gpa = gpa;
    this.writable = (rights & PTE_RW) !== 0;
    this.user = (rights & PTE_US) !== 0;
    this.executeDisable = executeDisable;
    this.global = (lo & PTE_G) !== 0;
    this.dirty = (lo & PTE_D) !== 0;
    return gpa;
  }

  /** API-edge form: a 64-bit linear address as bigint (or a number below 2^53). */
  translateVa(va: bigint | number, access: number): { gpa: number } | { errorCode: number } {
    const v = BigInt.asUintN(64, BigInt(va));
    const gpa = this.translate(Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0, access);
    return gpa === WALK_FAULT ? { errorCode: this.errorCode } : { gpa };
  }

  // SDM §4.6: access rights from the combined R/W, U/S and XD of all levels.
  private allowed(rights: number, executeDisable: boolean, access: number): boolean {
    const userPage = (rights & PTE_US) !== 0;
    const writablePage = (rights & PTE_RW) !== 0;
    const write = (access & ACCESS_WRITE) !== 0;
    if ((access & ACCESS_FETCH) !== 0) {
      if (executeDisable) return false;
      if ((access & ACCESS_USER) !== 0 && (access & ACCESS_IMPLICIT) === 0) return userPage;
      return !(userPage && this.mode.smep);
    }
    if ((access & ACCESS_USER) !== 0 && (access & ACCESS_IMPLICIT) === 0) {
      return userPage && (!write || writablePage);
    }
    // Supervisor data access.
    if (
      userPage &&
      this.mode.smap &&
      ((access & ACCESS_IMPLICIT) !== 0 || (access & ACCESS_EFLAGS_AC) === 0)
    ) {
      return false;
    }
    return !write || writablePage || !this.mode.wp;
  }

  private fault(bits: number, access: number): number {
    let code = bits | (access & PF_W);
    if ((access & ACCESS_USER) !== 0 && (access & ACCESS_IMPLICIT) === 0) code |= PF_U;
    // I/D is reported only when execute-disable or SMEP is in force (SDM §4.7).
    if ((access & ACCESS_FETCH) !== 0 && (this.mode.nxe || this.mode.smep)) code |= PF_I;
    this.errorCode = code;
    return WALK_FAULT;
  }
}

/** The 9-bit table index of the linear address at `level` (1 = page table ... 5 = PML5). */
function indexAt(level: number, vaLo: number, vaHi: number): number {
  switch (level) {
    case 1:
      return (vaLo >>> 12) & 511;
    case 2:
      return (vaLo >>> 21) & 511;
    case 3:
      return ((vaLo >>> 30) | (vaHi << 2)) & 511;
    case 4:
      return (vaHi >>> 7) & 511;
    default:
      return (vaHi >>> 16) & 511;
  }
}

/** Reserved bits in the low word of a present entry at `level` (address bits above MAXPHYADDR are in the high word). */
function reservedLo(level: number, lo: number): number {
  if (level >= 4) return PTE_PS; // PML4E / PML5E: bit 7 must be 0
  if ((lo & PTE_PS) === 0 || level === 1) return 0;
  return level === 3 ? 0x3fffe000 : 0x1fe000; // 1 GiB: bits 29:13; 2 MiB: bits 20:13
}
