// The TD's private-memory bookkeeping on the KVM side (the "mirror EPT" of tdx.c / tdp_mmu): which
// Secure-EPT pages KVM gave the module and which private pages are mapped at which GPA, and the
// SEAMCALL sequences that change them — SEPT.ADD of missing levels, PAGE.ADD (build time), PAGE.AUG
// (run time, the guest ACCEPTs), and the zap: RANGE.BLOCK → TRACK → PAGE.REMOVE for a live TD, or
// PHYMEM.PAGE.RECLAIM once the HKID is released. KVM never touches page contents.
import type { HostPhysicalMemory } from "@tdxsim/memory";
import type { TdxModule } from "@tdxsim/tdx-module";
import { KEYID_SHIFT } from "@tdxsim/tdx-module";
import { check } from "./td-seamcall.js";

const PAGE = 4096;

export interface TdMmuOwner {
  readonly module: TdxModule;
  readonly memory: HostPhysicalMemory;
  readonly tdr: number;
  readonly hkid: number;
  /** 4 or 5 */
  readonly septLevels: number;
  /** true once TDH.MNG.KEY.FREEID ran (pages come back through PHYMEM.PAGE.RECLAIM) */
  readonly hkidReleased: boolean;
  /** KVM_BUG_ON: mark the VM dead */
  bug(): void;
}

export class TdMmu {
  /** Secure-EPT pages: key level * 2^52 + base GPA → HPA. */
  private readonly septPages = new Map<number, number>();
  /** Private 4 KiB leaves: canonical GPA → HPA (a guest_memfd page). */
  readonly privatePages = new Map<number, number>();

  constructor(private readonly td: TdMmuOwner) {}

  get septPageCount(): number {
    return this.septPages.size;
  }

  /** TDH.MEM.SEPT.ADD for every missing non-leaf level above the 4 KiB leaf at `gpa`. */
  ensureSept(gpa: number): void {
    const { module, memory, tdr } = this.td;
    for (let level = this.td.septLevels - 1; level >= 1; level--) {
      const size = PAGE * 512 ** level;
      const base = gpa - (gpa % size);
      const key = level * 2 ** 52 + base;
      if (this.septPages.has(key)) continue;
      const page = memory.allocPage();
      const out = module.tdhMemSeptAdd(base, level, tdr, page);
      if (out.status !== 0n) memory.freePage(page);
      check("TDH.MEM.SEPT.ADD", out, () => this.td.bug());
      this.septPages.set(key, page);
    }
  }

  /** Build time: TDH.MEM.PAGE.ADD of `hpa` at `gpa` from the KeyID-0 page `source`. */
  addPage(gpa: number, hpa: number, source: number): void {
    this.ensureSept(gpa);
    check("TDH.MEM.PAGE.ADD", this.td.module.tdhMemPageAdd(gpa, 0, this.td.tdr, hpa, source), () =>
      this.td.bug(),
    );
    this.privatePages.set(gpa, hpa);
  }

  /** Run time: TDH.MEM.PAGE.AUG (the leaf becomes PENDING until the guest accepts it). */
  augPage(gpa: number, hpa: number): void {
    this.ensureSept(gpa);
    check("TDH.MEM.PAGE.AUG", this.td.module.tdhMemPageAug(gpa, 0, this.td.tdr, hpa), () => this.td.bug());
    this.privatePages.set(gpa, hpa);
  }

  /** The mapped private pages in [start, end), ascending. */
  mappedIn(start: number, end: number): number[] {
    const out: number[] = [];
    if ((end - start) / PAGE < this.privatePages.size) {
      for (let g = start; g < end; g += PAGE) if (this.privatePages.has(g)) out.push(g);
    } else {
      for (const g of this.privatePages.keys()) if (g >= start && g < end) out.push(g);
      out.sort((a, b) => a - b);
    }
    return out;
  }

  /**
   * Unmap the private pages in [start, end) so guest_memfd can free them: for a live TD
   * RANGE.BLOCK each, one TRACK (TLB epoch), then PAGE.REMOVE and PHYMEM.PAGE.WBINVD with the HKID
   * (tdx_sept_zap_private_spte / tdx_track / tdx_sept_remove_private_spte); after the HKID is
   * released, PHYMEM.PAGE.RECLAIM. A failure is a KVM_BUG_ON.
   */
  zap(start: number, end: number): number {
    const gpas = this.mappedIn(start, end);
    if (gpas.length === 0) return 0;
    const { module, tdr } = this.td;
    const bug = () => this.td.bug();
    if (this.td.hkidReleased) {
      for (const gpa of gpas) {
        check("TDH.PHYMEM.PAGE.RECLAIM", module.tdhPhymemPageReclaim(this.privatePages.get(gpa)!), bug);
        this.privatePages.delete(gpa);
      }
      return gpas.length;
    }
    for (const gpa of gpas) check("TDH.MEM.RANGE.BLOCK", module.tdhMemRangeBlock(gpa, 0, tdr), bug);
    check("TDH.MEM.TRACK", module.tdhMemTrack(tdr), bug);
    const tag = BigInt(this.td.hkid) << BigInt(KEYID_SHIFT);
    for (const gpa of gpas) {
      const hpa = this.privatePages.get(gpa)!;
      check("TDH.MEM.PAGE.REMOVE", module.tdhMemPageRemove(gpa, 0, tdr), bug);
      check("TDH.PHYMEM.PAGE.WBINVD", module.tdhPhymemPageWbinvd(BigInt(hpa) | tag), bug);
      this.privatePages.delete(gpa);
    }
    return gpas.length;
  }

  /** Teardown after KEY.FREEID: reclaim what is still mapped, then the Secure-EPT pages (freed). */
  reclaimAll(): void {
    this.zap(0, 2 ** 53);
    for (const [key, page] of this.septPages) {
      check("TDH.PHYMEM.PAGE.RECLAIM", this.td.module.tdhPhymemPageReclaim(page));
      this.td.memory.freePage(page);
      this.septPages.delete(key);
    }
  }
}
