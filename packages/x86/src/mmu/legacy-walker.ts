// The page walks of legacy (non-long) mode: 32-bit paging (2 levels of 4-byte entries, 4 MiB
// pages with CR4.PSE and PSE-36 address bits) and PAE paging (4 PDPTE registers loaded from CR3,
// then 2 levels of 8-byte entries, 2 MiB pages, XD with EFER.NXE), SDM Vol. 3A §4.3–4.4. Same
// result fields and access bits as @tdxsim/memory's PageWalker (4-/5-level), which it
// complements; entries are read through the same PteMemory.
import {
  ACCESS_EFLAGS_AC,
  ACCESS_FETCH,
  ACCESS_IMPLICIT,
  ACCESS_USER,
  ACCESS_WRITE,
  PF_I,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_HI_NX,
  PTE_P,
  PTE_PS,
  PTE_RW,
  PTE_US,
  type PteMemory,
  WALK_FAULT,
} from "@tdxsim/memory";

export interface LegacyPagingMode {
  /** CR4.PAE */
  pae: boolean;
  /** CR4.PSE (4 MiB pages in 32-bit paging) */
  pse: boolean;
  /** CR3 (bits 31:12 the page directory; with PAE bits 31:5 the PDPT) */
  cr3: number;
  wp: boolean;
  nxe: boolean;
  smep: boolean;
  smap: boolean;
  maxPhysAddr: number;
}

export class LegacyPageWalker {
  readonly memory: PteMemory;
  gpa = 0;
  pageSize = 0;
  writable = false;
  user = false;
  executeDisable = false;
  global = false;
  dirty = false;
  errorCode = 0;
  private mode: LegacyPagingMode = {
    pae: false,
    pse: false,
    cr3: 0,
    wp: false,
    nxe: false,
    smep: false,
    smap: false,
    maxPhysAddr: 52,
  };
  private readonly entry = new Uint32Array(2);
  /** PAE: the four PDPTE registers (low and high words). */
  private readonly pdpteLo = new Int32Array(4);
  private readonly pdpteHi = new Int32Array(4);
  private pdptesLoaded = false;
  // Address bits at or above MAXPHYADDR, as a mask of the high word of an 8-byte entry.
  private rsvdHi = 0;

  constructor(memory: PteMemory) {
    this.memory = memory;
  }

  setMode(mode: LegacyPagingMode): void {
    this.mode = { ...mode };
    const m = mode.maxPhysAddr;
    this.rsvdHi = (0x000fffff & ~((1 << (m - 32)) - 1)) | 0x7ff00000 | (mode.nxe ? 0 : PTE_HI_NX);
    this.pdptesLoaded = false;
  }

  /**
   * PAE: loads the four PDPTEs from CR3 (MOV to CR3, or CR0/CR4 changes that enter PAE paging).
   * Returns false when a present PDPTE has reserved bits set: the MOV that caused the load
   * raises #GP(0) (SDM §4.4.1).
   */
  loadPdptes(): boolean {
    const base = this.mode.cr3 - (this.mode.cr3 % 32);
    let valid = true;
    for (let i = 0; i < 4; i++) {
      this.memory.read64(base + i * 8, this.entry);
      const lo = this.entry[0] | 0;
      const hi = this.entry[1] | 0;
      this.pdpteLo[i] = lo;
      this.pdpteHi[i] = hi;
      // Bits 2:1 and 8:5, address bits above MAXPHYADDR and bits 63:52 are reserved (XD too).
      if ((lo & PTE_P) !== 0 && ((lo & 0x1e6) !== 0 || (hi & (this.rsvdHi | PTE_HI_NX)) !== 0)) valid = false;
    }
    this.pdptesLoaded = true;
    return valid;
  }

  /** Translates the 32-bit linear address `lo` for `access` (ACCESS_* bits); GPA or WALK_FAULT. */
  translate(lo: number, _hi: number, access: number): number {
    return this.mode.pae ? this.translatePae(lo, access) : this.translate32(lo, access);
  }

  private translate32(lo: number, access: number): number {
    const write = (access & ACCESS_WRITE) !== 0;
    const pdeAddr = (this.mode.cr3 & 0xfffff000) + ((lo >>> 22) << 2);
    const pde = this.read32(pdeAddr);
    if ((pde & PTE_P) === 0) return this.fault(0, access);
    if (this.mode.pse && (pde & PTE_PS) !== 0) {
      // 4 MiB page: bits 31:22, and PSE-36 bits 20:13 = address bits 39:32; bit 21 reserved.
      const m = Math.min(this.mode.maxPhysAddr, 40);
      const rsvd = (1 << 21) | (0x1fe000 & ~(((1 << (m - 32)) - 1) << 13));
      if ((pde & rsvd) !== 0) return this.fault(PF_P | PF_RSVD, access);
      if (!this.allowed(pde, false, access)) return this.fault(PF_P, access);
      this.setAccessed(pdeAddr, pde, write);
      const high = (pde >>> 13) & 0xff;
      this.finish(pde, pde | (write ? PTE_D : 0), false, 1 << 22);
      return high * 4294967296 + ((pde & 0xffc00000) >>> 0) + (lo & 0x3fffff);
    }
    const pteAddr = ((pde & 0xfffff000) >>> 0) + (((lo >>> 12) & 0x3ff) << 2);
    const pte = this.read32(pteAddr);
    if ((pte & PTE_P) === 0) return this.fault(0, access);
    const rights = pde & pte;
    if (!this.allowed(rights, false, access)) return this.fault(PF_P, access);
    this.setAccessed(pdeAddr, pde, false);
    this.setAccessed(pteAddr, pte, write);
    this.finish(rights, pte | (write ? PTE_D : 0), false, 4096);
    return ((pte & 0xfffff000) >>> 0) + (lo & 0xfff);
  }

  private translatePae(lo: number, access: number): number {
    if (!this.pdptesLoaded) this.loadPdptes();
    const n = lo >>> 30;
    if ((this.pdpteLo[n] & PTE_P) === 0) return this.fault(0, access);
    const pdBase = (this.pdpteHi[n] & 0xfffff) * 4294967296 + ((this.pdpteLo[n] & 0xfffff000) >>> 0);
    const pdeAddr = pdBase + ((lo >>> 21) & 511) * 8;
    this.memory.read64(pdeAddr, this.entry);
    const pdeLo = this.entry[0] | 0;
    const pdeHi = this.entry[1] | 0;
    if ((pdeLo & PTE_P) === 0) return this.fault(0, access);
    if ((pdeHi & this.rsvdHi) !== 0) return this.fault(PF_P | PF_RSVD, access);
    const write = (access & ACCESS_WRITE) !== 0;
    if ((pdeLo & PTE_PS) !== 0) {
      if ((pdeLo & 0x1fe000) !== 0) return this.fault(PF_P | PF_RSVD, access);
      const xd = this.mode.nxe && (pdeHi & PTE_HI_NX) !== 0;
      if (!this.allowed(pdeLo, xd, access)) return this.fault(PF_P, access);
      this.setAccessed64(pdeAddr, pdeLo, pdeHi, write);
      this.finish(pdeLo, pdeLo | (write ? PTE_D : 0), xd, 1 << 21);
      return (pdeHi & 0xfffff) * 4294967296 + ((pdeLo & 0xffe00000) >>> 0) + (lo & 0x1fffff);
    }
    const pteAddr = (pdeHi & 0xfffff) * 4294967296 + ((pdeLo & 0xfffff000) >>> 0) + ((lo >>> 12) & 511) * 8;
    this.memory.read64(pteAddr, this.entry);
    const pteLo = this.entry[0] | 0;
    const pteHi = this.entry[1] | 0;
    if ((pteLo & PTE_P) === 0) return this.fault(0, access);
    if ((pteHi & this.rsvdHi) !== 0) return this.fault(PF_P | PF_RSVD, access);
    const rights = pdeLo & pteLo;
    const xd = this.mode.nxe && ((pdeHi | pteHi) & PTE_HI_NX) !== 0;
    if (!this.allowed(rights, xd, access)) return this.fault(PF_P, access);
    this.setAccessed64(pdeAddr, pdeLo, pdeHi, false);
    this.setAccessed64(pteAddr, pteLo, pteHi, write);
    this.finish(rights, pteLo | (write ? PTE_D : 0), xd, 4096);
    return (pteHi & 0xfffff) * 4294967296 + ((pteLo & 0xfffff000) >>> 0) + (lo & 0xfff);
  }

  private finish(rights: number, leaf: number, xd: boolean, pageSize: number): void {
    this.writable = (rights & PTE_RW) !== 0;
    this.user = (rights & PTE_US) !== 0;
    this.executeDisable = xd;
    this.global = (leaf & PTE_G) !== 0;
    this.dirty = (leaf & PTE_D) !== 0;
    this.pageSize = pageSize;
  }

  // Same rules as 4-level paging (SDM §4.6); XD only exists with PAE.
  private allowed(rights: number, executeDisable: boolean, access: number): boolean {
    const userPage = (rights & PTE_US) !== 0;
    const write = (access & ACCESS_WRITE) !== 0;
    const userAccess = (access & ACCESS_USER) !== 0 && (access & ACCESS_IMPLICIT) === 0;
    if ((access & ACCESS_FETCH) !== 0) {
      if (executeDisable) return false;
      return userAccess ? userPage : !(userPage && this.mode.smep);
    }
    if (userAccess) return userPage && (!write || (rights & PTE_RW) !== 0);
    if (
      userPage &&
      this.mode.smap &&
      ((access & ACCESS_IMPLICIT) !== 0 || (access & ACCESS_EFLAGS_AC) === 0)
    ) {
      return false;
    }
    return !write || (rights & PTE_RW) !== 0 || !this.mode.wp;
  }

  private fault(bits: number, access: number): number {
    let code = bits | (access & PF_W);
    if ((access & ACCESS_USER) !== 0 && (access & ACCESS_IMPLICIT) === 0) code |= PF_U;
    // I/D is reported with SMEP, or with PAE paging and NXE (SDM §4.7).
    if ((access & ACCESS_FETCH) !== 0 && (this.mode.smep || (this.mode.pae && this.mode.nxe))) code |= PF_I;
    this.errorCode = code;
    return WALK_FAULT;
  }

  private read32(addr: number): number {
    this.memory.read64(addr - (addr % 8), this.entry);
    return this.entry[(addr % 8) >> 2] | 0;
  }

  private setAccessed(addr: number, value: number, dirty: boolean): void {
    const next = value | PTE_A | (dirty ? PTE_D : 0);
    if (next === value) return;
    const aligned = addr - (addr % 8);
    this.memory.read64(aligned, this.entry);
    this.entry[(addr % 8) >> 2] = next;
    this.memory.write64(aligned, this.entry[0], this.entry[1]);
  }

  private setAccessed64(addr: number, lo: number, hi: number, dirty: boolean): void {
    const next = lo | PTE_A | (dirty ? PTE_D : 0);
    if (next !== lo) this.memory.write64(addr, next, hi);
  }
}
