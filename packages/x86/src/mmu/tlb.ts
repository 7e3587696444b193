// The software TLB: direct-mapped, indexed by (linear page number bits 31:12 XOR bits 63:32) &
// (size - 1), so kernel and user pages with equal low bits (0xffffffff81000000 and 0x400000)
// do not evict each other on every system call. A tag is the
// page-aligned linear address bits 31:12 with the access context in bits 1:0 (tagLo) plus
// bits 63:32 (tagHi); read, write and fetch permission each have their own tag pair, so one
// compare checks address, context and right. An entry caches the host page (bytes and words)
// and its GPA. Flushes touch only the entries filled since the last full flush.

/** Access contexts (tag bits 1:0): who accesses, as far as U/S, SMEP, SMAP and alignment checks care. Bit 0 = user. */
export const CTX_SUPERVISOR = 0;
export const CTX_USER = 1;
/** Supervisor with EFLAGS.AC = 1 while CR4.SMAP = 1 (SMAP lets explicit accesses reach user pages). */
export const CTX_SUPERVISOR_AC = 2;
/** User with alignment checking (CR0.AM = 1, EFLAGS.AC = 1, CPL 3): a misaligned data access is #AC(0). */
export const CTX_USER_AC = 3;

/** An invalid tag: its bits 11:2 are set, which no real tag has. */
export const TAG_INVALID = -1;

export const KIND_READ = 0;
export const KIND_WRITE = 1;
export const KIND_FETCH = 2;

const SHIFT_4K = 12;

export class SoftTlb {
  readonly tlbSize: number;
  readonly indexMask: number;
  readonly readLo: Int32Array;
  readonly readHi: Int32Array;
  readonly writeLo: Int32Array;
  readonly writeHi: Int32Array;
  readonly fetchLo: Int32Array;
  readonly fetchHi: Int32Array;
  /** The translation an entry holds (page | context, and bits 63:32), whatever rights are cached. */
  readonly entryLo: Int32Array;
  readonly entryHi: Int32Array;
  /** GPA of the cached 4 KiB page. */
  readonly entryGpa: Float64Array;
  readonly pageBytes: Uint8Array[];
  readonly pageWords: Int32Array[];
  /** log2 of the size of the page the translation came from (12, 21, 30): INVLPG inside a large page drops all its pieces. */
  readonly entryShift: Uint8Array;
  readonly entryGlobal: Uint8Array;
  // Entries filled since the last full flush (each once), so flushes cost O(used).
  private readonly used: Int32Array;
  private readonly listed: Uint8Array;
  private usedCount = 0;
  private largeEntries = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 256 || size > 4096 || (size & (size - 1)) !== 0) {
      throw new RangeError(`TLB size ${size} is not a power of two in 256..4096`);
    }
    this.tlbSize = size;
    this.indexMask = size - 1;
    const tags = () => new Int32Array(size).fill(TAG_INVALID);
    this.readLo = tags();
    this.readHi = tags();
    this.writeLo = tags();
    this.writeHi = tags();
    this.fetchLo = tags();
    this.fetchHi = tags();
    this.entryLo = tags();
    this.entryHi = tags();
    this.entryGpa = new Float64Array(size).fill(-1);
    const noBytes = new Uint8Array(4096);
    const noWords = new Int32Array(noBytes.buffer);
    this.pageBytes = new Array<Uint8Array>(size).fill(noBytes);
    this.pageWords = new Array<Int32Array>(size).fill(noWords);
    this.entryShift = new Uint8Array(size).fill(SHIFT_4K);
    this.entryGlobal = new Uint8Array(size);
    this.used = new Int32Array(size);
    this.listed = new Uint8Array(size);
  }

  /** Number of entries that may hold a translation (filled since the last full flush). */
  get usedEntries(): number {
    return this.usedCount;
  }

  /**
   * Installs a translation for `kind` in entry `i`. If the entry held another translation (other
   * page, context, GPA or host page), its other rights are dropped first.
   */
  protected fillEntry(
    i: number,
    tagLo: number,
    tagHi: number,
    kind: number,
    gpaPage: number,
    bytes: Uint8Array,
    words: Int32Array,
    shift: number,
    global: boolean,
  ): void {
    if (
      this.entryLo[i] !== tagLo ||
      this.entryHi[i] !== tagHi ||
      this.entryGpa[i] !== gpaPage ||
      this.pageBytes[i] !== bytes
    ) {
      this.dropEntry(i);
      this.entryLo[i] = tagLo;
      this.entryHi[i] = tagHi;
      this.entryGpa[i] = gpaPage;
      this.pageBytes[i] = bytes;
      this.pageWords[i] = words;
    }
    this.entryShift[i] = shift;
    this.entryGlobal[i] = global ? 1 : 0;
    if (shift !== SHIFT_4K) this.largeEntries++;
    if (this.listed[i] === 0) {
      this.listed[i] = 1;
      this.used[this.usedCount++] = i;
    }
    if (kind === KIND_READ) {
      this.readLo[i] = tagLo;
      this.readHi[i] = tagHi;
    } else if (kind === KIND_WRITE) {
      this.writeLo[i] = tagLo;
      this.writeHi[i] = tagHi;
    } else {
      this.fetchLo[i] = tagLo;
      this.fetchHi[i] = tagHi;
    }
  }

  /** Drops every cached translation, global ones included. */
  flushAll(): void {
    const used = this.used;
    for (let k = 0; k < this.usedCount; k++) {
      const i = used[k];
      this.dropEntry(i);
      this.listed[i] = 0;
    }
    this.usedCount = 0;
    this.largeEntries = 0;
  }

  /** Drops every translation except global ones (MOV to CR3 with CR4.PGE = 1). */
  flushNonGlobal(): void {
    const used = this.used;
    let kept = 0;
    let large = 0;
    for (let k = 0; k < this.usedCount; k++) {
      const i = used[k];
      if (this.entryGlobal[i] !== 0 && this.entryLo[i] !== TAG_INVALID) {
        used[kept++] = i;
        if (this.entryShift[i] !== SHIFT_4K) large++;
      } else {
        this.dropEntry(i);
        this.listed[i] = 0;
      }
    }
    this.usedCount = kept;
    this.largeEntries = large;
  }

  /**
   * INVLPG: drops the translations of the page containing the linear address, in every context,
   * global or not; if it lies in a 2 MiB / 1 GiB page, every cached piece of that page goes too.
   */
  invalidatePage(lo: number, hi: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if ((this.entryLo[i] & -4096) === (lo & -4096) && this.entryHi[i] === hi) this.dropEntry(i);
    if (this.largeEntries === 0) return;
    const used = this.used;
    for (let k = 0; k < this.usedCount; k++) {
      const j = used[k];
      const shift = this.entryShift[j];
      if (shift === SHIFT_4K || this.entryHi[j] !== hi || this.entryLo[j] === TAG_INVALID) continue;
      if ((this.entryLo[j] ^ lo) >>> shift === 0) this.dropEntry(j);
    }
  }

  /** Removes cached write access to the host page of GPA page `gpaPage` from every entry (it now holds code). */
  protected revokeWrite(gpaPage: number): void {
    const used = this.used;
    for (let k = 0; k < this.usedCount; k++) {
      const i = used[k];
      if (this.entryGpa[i] === gpaPage) {
        this.writeLo[i] = TAG_INVALID;
        this.writeHi[i] = TAG_INVALID;
      }
    }
  }

  private dropEntry(i: number): void {
    this.readLo[i] = TAG_INVALID;
    this.readHi[i] = TAG_INVALID;
    this.writeLo[i] = TAG_INVALID;
    this.writeHi[i] = TAG_INVALID;
    this.fetchLo[i] = TAG_INVALID;
    this.fetchHi[i] = TAG_INVALID;
    this.entryLo[i] = TAG_INVALID;
    this.entryHi[i] = TAG_INVALID;
    this.entryGpa[i] = -1;
  }
}
