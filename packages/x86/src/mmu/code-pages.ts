// Guest-physical pages that hold decoded code, shared by the MMUs of all vCPUs of a VM: a store
// by any vCPU to a page another vCPU decoded from must reach the (per-VM) decoded-block cache.
// Marking a page revokes cached write access to it in every attached MMU, so ordinary stores to
// pages without code never get here.

/** Called when a store hits a page marked as holding code (the page is unmarked first). */
export type CodeWriteHook = (gpaPage: number) => void;

/** What the tracker needs from an MMU: drop cached write access to one guest-physical page. */
export interface CodeWriteRevoker {
  revokeCodeWrite(gpaPage: number): void;
}

export class CodePageTracker {
  /** The decoded-block cache's invalidation hook. */
  hook: CodeWriteHook | undefined;
  private readonly pages = new Set<number>();
  private readonly mmus: CodeWriteRevoker[] = [];

  /** Number of pages marked. */
  get size(): number {
    return this.pages.size;
  }

  /** Registers an MMU (done by the Mmu constructor). */
  attach(mmu: CodeWriteRevoker): void {
    this.mmus.push(mmu);
  }

  /** Marks the page of `gpa` as holding code and revokes cached write access to it everywhere. */
  mark(gpa: number): void {
    const page = pageOf(gpa);
    if (this.pages.has(page)) return;
    this.pages.add(page);
    for (const mmu of this.mmus) mmu.revokeCodeWrite(page);
  }

  has(gpa: number): boolean {
    return this.pages.has(pageOf(gpa));
  }

  /** A store is about to change `gpa`: if its page holds code, unmark it and call the hook. */
  noteStore(gpa: number): void {
    if (this.pages.size === 0) return;
    const page = pageOf(gpa);
    if (this.pages.delete(page)) this.hook?.(page);
  }
}

function pageOf(gpa: number): number {
  return Math.floor(gpa / 4096) * 4096;
}
