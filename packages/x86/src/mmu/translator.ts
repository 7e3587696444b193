// The MMU's slow path: paging state (CR0/CR3/CR4/EFER and the access context), canonical
// checks, the first-stage walk (through @tdxsim/memory's PageWalker), the second stage
// (GuestPhysicalMap), TLB fills, flushes, and code-page tracking. Everything here runs on a
// TLB miss or on a rare event; the hot accessors live in mmu.ts.
import {
  ACCESS_EFLAGS_AC,
  ACCESS_FETCH,
  ACCESS_IMPLICIT,
  ACCESS_USER,
  ACCESS_WRITE,
  PageWalker,
  PF_I,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  WALK_FAULT,
} from "@tdxsim/memory";
// Control-register and EFER bits: one definition, in the CPU state.
import { EFER_LMA, EFER_LME, EFER_NXE } from "../exec/msr.js";
import {
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
} from "../exec/state.js";
import { CodePageTracker, type CodeWriteHook, type CodeWriteRevoker } from "./code-pages.js";
import { MemoryFault, VECTOR_AC, VECTOR_GP, VECTOR_PF, VECTOR_SS, VECTOR_VE } from "./fault.js";
import { LegacyPageWalker } from "./legacy-walker.js";
import {
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
import {
  CTX_SUPERVISOR,
  CTX_SUPERVISOR_AC,
  CTX_USER,
  CTX_USER_AC,
  KIND_FETCH,
  KIND_READ,
  KIND_WRITE,
  SoftTlb,
} from "./tlb.js";
import { WalkMemory, type WalkOwner } from "./walk-memory.js";

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
};

/** Access flags for the slow path. */
export const FLAG_STACK = 1;
/** An implicit supervisor access (GDT/LDT/IDT/TSS): supervisor rights, SMAP whatever EFLAGS.AC says. */
export const FLAG_IMPLICIT = 2;
/** With FLAG_IMPLICIT: a user-mode access instead (event-delivery pushes onto a CPL-3 stack). */
export const FLAG_AS_USER = 4;

// CR0/CR4/EFER bits whose change alters translations or cached rights: any change flushes all.
const CR0_PAGING_BITS = CR0_PG | CR0_WP | CR0_PE;
const CR4_PAGING_BITS = CR4_PSE | CR4_PAE | CR4_PGE | CR4_LA57 | CR4_PCIDE | CR4_SMEP | CR4_SMAP;
const EFER_PAGING_BITS = EFER_LMA | EFER_NXE;

export interface MmuOptions {
  /** The second stage (memslots, a flat memory, or the TD's EPT). */
  map: GuestPhysicalMap;
  /** TLB entries: a power of two in 256..4096 (default 1024). */
  tlbSize?: number;
  /** MAXPHYADDR for reserved-bit checks in paging entries (default 52). */
  maxPhysAddr?: number;
  /** The VM's code-page set, shared by all its vCPUs' MMUs (default: one of this MMU's own). */
  codePages?: CodePageTracker;
}

export class LinearTranslator extends SoftTlb implements WalkOwner, CodeWriteRevoker {
  readonly map: GuestPhysicalMap;
  readonly maxPhysAddr: number;
  /** Current access context (CTX_*), part of every tag. */
  ctx = CTX_SUPERVISOR;
  cr0 = CR0_PE;
  cr3 = 0;
  cr4 = 0;
  efer = 0;
  protected paging = false;
  protected longMode = false;
  private cpl = 0;
  private eflagsAc = false;
  private readonly walker: PageWalker;
  private readonly legacyWalker: LegacyPageWalker;
  /** PAE: whether the PDPTEs loaded at the last CR3/CR0/CR4 change were valid. */
  private pdptesValid = true;
  protected readonly gpaResult = new GpaTranslation();
  private seenGeneration: number;
  /** Guest-physical pages holding decoded code (shared by the VM's vCPUs). */
  readonly codePages: CodePageTracker;
  // The (up to two) page parts of the access being resolved: host page and GPA of the first byte.
  protected readonly partBytes: Uint8Array[];
  protected readonly partGpa = new Float64Array(2);
  // The linear address being translated, for fault reports from inside the walk.
  private glaLo = 0;
  private glaHi = 0;
  private glaKind = KIND_READ;
  private glaCtx = CTX_SUPERVISOR;

  constructor(options: MmuOptions) {
    super(options?.tlbSize ?? 1024);
    if (typeof options.map?.translate !== "function") {
      throw new TypeError("MmuOptions.map is not a GuestPhysicalMap (it has no translate method)");
    }
    this.map = options.map;
    this.maxPhysAddr = options.maxPhysAddr ?? 52;
    const noPage = new Uint8Array(0);
    this.partBytes = [noPage, noPage];
    const walkMemory = new WalkMemory(this);
    this.legacyWalker = new LegacyPageWalker(walkMemory);
    this.walker = new PageWalker(walkMemory, {
      levels: 4,
      cr3: 0,
      wp: false,
      nxe: false,
      smep: false,
      smap: false,
      maxPhysAddr: this.maxPhysAddr,
    });
    this.seenGeneration = this.map.generation;
    this.codePages = options.codePages ?? new CodePageTracker();
    this.codePages.attach(this);
  }

  // ---- state from the CPU ----

  /**
   * Installs CR0, CR4 and EFER (low 32 bits; EFER with LMA as the CPU computed it). A change of
   * any bit that affects translation (PG, WP, PE, PSE, PAE, PGE, LA57, PCIDE, SMEP, SMAP, LMA, NXE)
   * flushes the whole TLB, global entries included. Entering PAE paging loads the PDPTEs: returns
   * false if one has reserved bits set (the MOV raises #GP(0); restore the old values).
   */
  setControlRegisters(cr0: number, cr4: number, efer: number): boolean {
    const changed =
      ((cr0 ^ this.cr0) & CR0_PAGING_BITS) |
      ((cr4 ^ this.cr4) & CR4_PAGING_BITS) |
      ((efer ^ this.efer) & EFER_PAGING_BITS);
    this.cr0 = cr0 | 0;
    this.cr4 = cr4 | 0;
    this.efer = efer | 0;
    this.paging = (cr0 & CR0_PG) !== 0;
    this.longMode = (efer & EFER_LMA) !== 0;
    this.updateContext();
    if (changed !== 0) {
      this.updateWalker();
      this.flushAll();
    }
    return this.pdptesValid;
  }

  /**
   * MOV to CR3: a new top-level table; flushes non-global translations (all of them without
   * CR4.PGE). Under PAE paging it loads the PDPTEs: returns false if one has reserved bits set
   * (the MOV raises #GP(0); restore the old CR3).
   */
  writeCr3(cr3: number): boolean {
    if (!Number.isSafeInteger(cr3) || cr3 < 0 || cr3 >= 2 ** this.maxPhysAddr) {
      throw new RangeError(`cr3 0x${cr3.toString(16)} is not a physical address below MAXPHYADDR`);
    }
    this.cr3 = cr3;
    this.updateWalker();
    if ((this.cr4 & CR4_PGE) !== 0) this.flushNonGlobal();
    else this.flushAll();
    return this.pdptesValid;
  }

  /** The CPL and EFLAGS.AC, whenever either changes: they select the access context. */
  setPrivilege(cpl: number, eflagsAc: boolean): void {
    if (cpl !== 0 && cpl !== 1 && cpl !== 2 && cpl !== 3) throw new RangeError(`CPL ${cpl} is not 0..3`);
    this.cpl = cpl;
    this.eflagsAc = eflagsAc;
    this.updateContext();
  }

  /** Flushes the TLB if the second stage changed since the last look; call at every run() entry. */
  syncSecondStage(): void {
    if (this.map.generation !== this.seenGeneration) {
      this.seenGeneration = this.map.generation;
      this.flushAll();
    }
  }

  // ---- code pages ----

  /** Registers the decoded-block cache's invalidation hook (on the shared tracker). */
  setCodeWriteHook(hook: CodeWriteHook | undefined): void {
    this.codePages.hook = hook;
  }

  /**
   * Marks the guest-physical page of `gpa` as holding decoded code: cached write access to it is
   * revoked in every MMU sharing the tracker, so the next store to it takes the slow path,
   * unmarks it and calls the hook.
   */
  markCodePage(gpa: number): void {
    this.codePages.mark(gpa);
  }

  isCodePage(gpa: number): boolean {
    return this.codePages.has(gpa);
  }

  /** A store is about to change guest-physical `gpa`: if its page holds code, unmark it and tell the hook. */
  noteStore(gpa: number): void {
    this.codePages.noteStore(gpa);
  }

  /** CodeWriteRevoker: drops cached write access to guest-physical page `gpaPage`. */
  revokeCodeWrite(gpaPage: number): void {
    this.revokeWrite(gpaPage);
  }

  // ---- translation ----

  /**
   * Translates the page holding lo/hi for `kind`, filling the TLB, and records the host page and
   * GPA in part `part`. Returns true for memory, false for MMIO (partGpa set). Throws a
   * MemoryFault for #PF, #VE, a second-stage refusal or an unsupported mode.
   */
  protected resolve(lo: number, hi: number, kind: number, flags: number, part: number): boolean {
    if (this.map.generation !== this.seenGeneration) this.syncSecondStage();
    const ctx =
      (flags & FLAG_IMPLICIT) === 0 ? this.ctx : (flags & FLAG_AS_USER) !== 0 ? CTX_USER : CTX_SUPERVISOR;
    const tagLo = (lo & -4096) | ctx;
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    const tags = kind === KIND_READ ? this.readLo : kind === KIND_WRITE ? this.writeLo : this.fetchLo;
    const tagsHi = kind === KIND_READ ? this.readHi : kind === KIND_WRITE ? this.writeHi : this.fetchHi;
    if (tags[i] === tagLo && tagsHi[i] === hi) {
      this.partBytes[part] = this.pageBytes[i];
      this.partGpa[part] = this.entryGpa[i] + (lo & 4095);
      return true;
    }
    let gpa: number;
    let shift = 12;
    let global = false;
    if (!this.paging) {
      gpa = lo >>> 0;
    } else {
      this.glaLo = lo;
      this.glaHi = hi;
      this.glaKind = kind;
      this.glaCtx = ctx;
      const walker = this.longMode ? this.walker : this.legacyWalker;
      gpa = walker.translate(lo, hi, this.walkerAccess(kind, ctx, flags));
      if (gpa === WALK_FAULT) throw new MemoryFault(VECTOR_PF, walker.errorCode, lo, hi);
      shift = 31 - Math.clz32(walker.pageSize);
      global = walker.global && (this.cr4 & CR4_PGE) !== 0;
    }
    const access =
      (kind === KIND_READ ? GPA_ACCESS_READ : kind === KIND_WRITE ? GPA_ACCESS_WRITE : GPA_ACCESS_FETCH) |
      GPA_ACCESS_GLA_VALID |
      GPA_ACCESS_FINAL;
    const result = this.gpaResult;
    const status = this.map.translate(gpa, access, result);
    if (status === GPA_NO_BACKING || status === GPA_READONLY) {
      if (kind === KIND_FETCH) {
        throw MemoryFault.stop({
          reason: "unsupported",
          message: `instruction fetch from GPA 0x${gpa.toString(16)}, which has no memory (MMIO)`,
        });
      }
      this.partGpa[part] = gpa;
      return false;
    }
    if (status !== GPA_OK) this.refuse(status, gpa, access, result, lo, hi, kind, ctx);
    const gpaPage = gpa - (gpa % 4096);
    const cacheable = kind !== KIND_WRITE || (result.writable && !this.codePages.has(gpaPage));
    if (cacheable) {
      this.fillEntry(i, tagLo, hi, kind, gpaPage, result.bytes, result.words, shift, global);
    }
    this.partBytes[part] = result.bytes;
    this.partGpa[part] = gpa;
    return true;
  }

  /**
   * #AC(0) for a misaligned 2/4/8-byte data access at CPL 3 with CR0.AM and EFLAGS.AC (checked
   * before translation, so it wins over #PF). Implicit supervisor accesses are never checked;
   * 16-byte operands follow per-instruction rules the interpreter applies.
   */
  protected checkAlignment(lo: number, size: number, flags: number): void {
    if (this.ctx !== CTX_USER_AC || (flags & FLAG_IMPLICIT) !== 0 || size > 8) return;
    if ((lo & (size - 1)) !== 0) throw new MemoryFault(VECTOR_AC, 0);
  }

  /** #GP(0), or #SS(0) for a stack access, unless both ends of the access are canonical (long mode only). */
  protected checkCanonical(lo: number, hi: number, size: number, flags: number): void {
    if (!this.longMode) return;
    const lastLo = (lo + size - 1) | 0;
    const lastHi = (lastLo >>> 0 < lo >>> 0 ? hi + 1 : hi) | 0;
    const shift = (this.cr4 & CR4_LA57) !== 0 ? 24 : 15;
    const top = hi >> shift;
    const lastTop = lastHi >> shift;
    if ((top === 0 || top === -1) && (lastTop === 0 || lastTop === -1)) return;
    throw new MemoryFault((flags & FLAG_STACK) !== 0 ? VECTOR_SS : VECTOR_GP, 0);
  }

  /** Whether an address with bits 63:32 = hi is canonical in the current mode (e.g. for branch targets). */
  isCanonicalHigh(hi: number): boolean {
    if (!this.longMode) return true;
    const top = hi >> ((this.cr4 & CR4_LA57) !== 0 ? 24 : 15);
    return top === 0 || top === -1;
  }

  /** Bits 31:0 and 63:32 of the page after the one holding lo/hi (32-bit linear addresses wrap outside long mode). */
  protected nextPageLo(lo: number): number {
    return ((lo & -4096) + 4096) | 0;
  }

  protected nextPageHi(lo: number, hi: number): number {
    return this.longMode && (lo & -4096) === -4096 ? (hi + 1) | 0 : hi;
  }

  refuseWalkAccess(status: GpaStatus, gpa: number, access: number, result: GpaTranslation): never {
    if (status === GPA_NO_BACKING || status === GPA_READONLY) {
      throw MemoryFault.stop({
        reason: "unsupported",
        message: `paging-structure entry at GPA 0x${gpa.toString(16)} is not in memory (${status === GPA_READONLY ? "read-only slot" : "MMIO"})`,
      });
    }
    this.refuse(status, gpa, access, result, this.glaLo, this.glaHi, this.glaKind, this.glaCtx);
  }

  private refuse(
    status: GpaStatus,
    gpa: number,
    access: number,
    result: GpaTranslation,
    lo: number,
    hi: number,
    kind: number,
    ctx: number,
  ): never {
    const qualification = access | ((result.entryRwx & 7) << 3);
    if (status === GPA_FAULT) {
      throw MemoryFault.stop({
        reason: "gpa-fault",
        gpa,
        qualification,
        gla: (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0),
      });
    }
    if (status === GPA_VE) {
      throw new MemoryFault(VECTOR_VE, -1, 0, 0, { qualification, gpa, glaLo: lo, glaHi: hi });
    }
    if (status === GPA_RSVD_PAGE_FAULT) {
      throw new MemoryFault(VECTOR_PF, this.pageFaultCode(PF_P | PF_RSVD, kind, ctx), lo, hi);
    }
    throw new Error(
      `second-stage translate() returned unknown status ${status} for GPA 0x${gpa.toString(16)}`,
    );
  }

  /** A #PF error code with the W/U/I bits of the access (I only with NXE or SMEP, SDM §4.7). */
  private pageFaultCode(bits: number, kind: number, ctx: number): number {
    let code = bits;
    if (kind === KIND_WRITE) code |= PF_W;
    if ((ctx & CTX_USER) !== 0) code |= PF_U;
    if (kind === KIND_FETCH && (this.efer & EFER_NXE) !== 0) code |= PF_I;
    if (kind === KIND_FETCH && (this.cr4 & CR4_SMEP) !== 0) code |= PF_I;
    return code;
  }

  private walkerAccess(kind: number, ctx: number, flags: number): number {
    let access = kind === KIND_WRITE ? ACCESS_WRITE : kind === KIND_FETCH ? ACCESS_FETCH : 0;
    if ((ctx & CTX_USER) !== 0) access |= ACCESS_USER;
    else if (ctx === CTX_SUPERVISOR_AC) access |= ACCESS_EFLAGS_AC;
    if ((flags & FLAG_IMPLICIT) !== 0 && (ctx & CTX_USER) === 0) access |= ACCESS_IMPLICIT;
    return access;
  }

  private updateContext(): void {
    const smap = (this.cr4 & CR4_SMAP) !== 0;
    if (this.cpl === 3) {
      this.ctx = this.eflagsAc && (this.cr0 & CR0_AM) !== 0 ? CTX_USER_AC : CTX_USER;
    } else {
      this.ctx = smap && this.eflagsAc ? CTX_SUPERVISOR_AC : CTX_SUPERVISOR;
    }
  }

  private updateWalker(): void {
    this.pdptesValid = true;
    if (!this.paging) return;
    if (!this.longMode) {
      this.legacyWalker.setMode({
        pae: (this.cr4 & CR4_PAE) !== 0,
        pse: (this.cr4 & CR4_PSE) !== 0,
        cr3: this.cr3,
        wp: (this.cr0 & CR0_WP) !== 0,
        nxe: (this.efer & EFER_NXE) !== 0,
        smep: (this.cr4 & CR4_SMEP) !== 0,
        smap: (this.cr4 & CR4_SMAP) !== 0,
        maxPhysAddr: this.maxPhysAddr,
      });
      if ((this.cr4 & CR4_PAE) !== 0) this.pdptesValid = this.legacyWalker.loadPdptes();
      return;
    }
    this.walker.setMode({
      levels: (this.cr4 & CR4_LA57) !== 0 ? 5 : 4,
      cr3: this.cr3,
      wp: (this.cr0 & CR0_WP) !== 0,
      nxe: (this.efer & EFER_NXE) !== 0,
      smep: (this.cr4 & CR4_SMEP) !== 0,
      smap: (this.cr4 & CR4_SMAP) !== 0,
      maxPhysAddr: this.maxPhysAddr,
    });
  }
}
