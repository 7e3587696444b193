// The memory accessors the interpreter calls, linear addresses as int32 halves (lo = bits 31:0,
// hi = bits 63:32; outside long mode hi is 0). Each accessor is a tag compare plus a typed-array
// load or store when the TLB holds the page with the right permission and the access is
// naturally aligned (so it cannot cross a page); everything else goes to one slow path that
// checks canonicality, resolves both pages of a page-crossing access before touching a byte,
// and handles MMIO. A failed access throws a MemoryFault (see fault.ts).
import { MemoryFault, type MemoryStop } from "./fault.js";
import { KIND_FETCH, KIND_READ, KIND_WRITE } from "./tlb.js";
import { FLAG_AS_USER, FLAG_IMPLICIT, FLAG_STACK, LinearTranslator, type MmuOptions } from "./translator.js";

type MmioStop = Extract<MemoryStop, { reason: "mmio" }>;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error("@tdxsim/x86 mmu needs a little-endian host (its word views are host-endian)");
}

export class Mmu extends LinearTranslator {
  /** Bits 63:32 of the value the last read64/readStack64/readSystem64 returned. */
  hi = 0;
  /** GPA of the first byte the last fetchBytes() copied. */
  fetchGpa = 0;
  private readonly buf = new Uint8Array(16);
  private readonly bufWords = new Int32Array(this.buf.buffer);
  // MMIO accesses the host has completed for the instruction being re-executed (see MMU.md).
  private readonly mmioLog: MmioStop[] = [];
  private mmioCursor = 0;
  private pendingMmioRead: MmioStop | undefined;

  // ---- data reads (8/16 zero-extended, 32 and 64 as int32) ----

  read8(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi) {
      return this.pageBytes[i][lo & 4095];
    }
    this.access(lo, hi, 1, KIND_READ, 0);
    return this.buf[0];
  }

  read16(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 1) === 0) {
      const b = this.pageBytes[i];
      const off = lo & 4095;
      return b[off] | (b[off + 1] << 8);
    }
    return this.readSlow(lo, hi, 2, 0);
  }

  read32(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 3) === 0) {
      return this.pageWords[i][(lo & 4095) >> 2];
    }
    return this.readSlow(lo, hi, 4, 0);
  }

  /** Returns bits 31:0; bits 63:32 are in `this.hi`. */
  read64(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 7) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      this.hi = w[k + 1];
      return w[k];
    }
    return this.readSlow(lo, hi, 8, 0);
  }

  /** Reads 16 bytes (an XMM operand) into dst[at..at+3], least significant word first. */
  read128(lo: number, hi: number, dst: Int32Array, at: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 15) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      dst[at] = w[k];
      dst[at + 1] = w[k + 1];
      dst[at + 2] = w[k + 2];
      dst[at + 3] = w[k + 3];
      return;
    }
    this.access(lo, hi, 16, KIND_READ, 0);
    const b = this.bufWords;
    dst[at] = b[0];
    dst[at + 1] = b[1];
    dst[at + 2] = b[2];
    dst[at + 3] = b[3];
  }

  // ---- data writes ----

  write8(lo: number, hi: number, value: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi) {
      this.pageBytes[i][lo & 4095] = value;
      return;
    }
    this.buf[0] = value;
    this.access(lo, hi, 1, KIND_WRITE, 0);
  }

  write16(lo: number, hi: number, value: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 1) === 0) {
      const b = this.pageBytes[i];
      const off = lo & 4095;
      b[off] = value;
      b[off + 1] = value >>> 8;
      return;
    }
    this.writeSlow(lo, hi, 2, value, 0, 0);
  }

  write32(lo: number, hi: number, value: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 3) === 0) {
      this.pageWords[i][(lo & 4095) >> 2] = value;
      return;
    }
    this.writeSlow(lo, hi, 4, value, 0, 0);
  }

  write64(lo: number, hi: number, valueLo: number, valueHi: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 7) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      w[k] = valueLo;
      w[k + 1] = valueHi;
      return;
    }
    this.writeSlow(lo, hi, 8, valueLo, valueHi, 0);
  }

  /** Writes src[at..at+3] (least significant word first) as 16 bytes. */
  write128(lo: number, hi: number, src: Int32Array, at: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 15) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      w[k] = src[at];
      w[k + 1] = src[at + 1];
      w[k + 2] = src[at + 2];
      w[k + 3] = src[at + 3];
      return;
    }
    const b = this.bufWords;
    b[0] = src[at];
    b[1] = src[at + 1];
    b[2] = src[at + 2];
    b[3] = src[at + 3];
    this.access(lo, hi, 16, KIND_WRITE, 0);
  }

  // ---- stack accesses: the same, but a non-canonical address raises #SS(0) instead of #GP(0) ----

  readStack16(lo: number, hi: number): number {
    return this.readSlow(lo, hi, 2, FLAG_STACK);
  }

  readStack32(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 3) === 0) {
      return this.pageWords[i][(lo & 4095) >> 2];
    }
    return this.readSlow(lo, hi, 4, FLAG_STACK);
  }

  readStack64(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.readLo[i] === ((lo & -4096) | this.ctx) && this.readHi[i] === hi && (lo & 7) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      this.hi = w[k + 1];
      return w[k];
    }
    return this.readSlow(lo, hi, 8, FLAG_STACK);
  }

  writeStack16(lo: number, hi: number, value: number): void {
    this.writeSlow(lo, hi, 2, value, 0, FLAG_STACK);
  }

  writeStack32(lo: number, hi: number, value: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 3) === 0) {
      this.pageWords[i][(lo & 4095) >> 2] = value;
      return;
    }
    this.writeSlow(lo, hi, 4, value, 0, FLAG_STACK);
  }

  writeStack64(lo: number, hi: number, valueLo: number, valueHi: number): void {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.writeLo[i] === ((lo & -4096) | this.ctx) && this.writeHi[i] === hi && (lo & 7) === 0) {
      const w = this.pageWords[i];
      const k = (lo & 4095) >> 2;
      w[k] = valueLo;
      w[k + 1] = valueHi;
      return;
    }
    this.writeSlow(lo, hi, 8, valueLo, valueHi, FLAG_STACK);
  }

  // ---- system accesses: implicit supervisor accesses (descriptor tables, TSS) with supervisor
  // rights at any CPL, or with `user` the user-mode pushes of event delivery onto a CPL-3 stack ----

  readSystem16(lo: number, hi: number, user = false): number {
    return this.readSlow(lo, hi, 2, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  readSystem32(lo: number, hi: number, user = false): number {
    return this.readSlow(lo, hi, 4, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  /** Returns bits 31:0; bits 63:32 are in `this.hi`. */
  readSystem64(lo: number, hi: number, user = false): number {
    return this.readSlow(lo, hi, 8, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  writeSystem8(lo: number, hi: number, value: number, user = false): void {
    this.writeSlow(lo, hi, 1, value, 0, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  writeSystem16(lo: number, hi: number, value: number, user = false): void {
    this.writeSlow(lo, hi, 2, value, 0, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  writeSystem32(lo: number, hi: number, value: number, user = false): void {
    this.writeSlow(lo, hi, 4, value, 0, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  writeSystem64(lo: number, hi: number, valueLo: number, valueHi: number, user = false): void {
    this.writeSlow(lo, hi, 8, valueLo, valueHi, user ? FLAG_IMPLICIT | FLAG_AS_USER : FLAG_IMPLICIT);
  }

  // ---- instruction fetch ----

  /**
   * Copies up to `max` instruction bytes starting at lo/hi into out[outOffset..], stopping at the
   * end of the page; returns the count (≥ 1) and sets `fetchGpa`. Needs more? Call again at the
   * next page's address: its #PF then reports CR2 = that address, as the CPU does, and only when
   * the instruction really extends into that page.
   */
  fetchBytes(lo: number, hi: number, out: Uint8Array, outOffset: number, max: number): number {
    const off = lo & 4095;
    const n = Math.min(max, 4096 - off);
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    let bytes: Uint8Array;
    if (this.fetchLo[i] === ((lo & -4096) | this.ctx) && this.fetchHi[i] === hi) {
      bytes = this.pageBytes[i];
      this.fetchGpa = this.entryGpa[i] + off;
    } else {
      this.checkCanonical(lo, hi, 1, 0);
      this.resolve(lo, hi, KIND_FETCH, 0, 0);
      bytes = this.partBytes[0];
      this.fetchGpa = this.partGpa[0];
    }
    for (let k = 0; k < n; k++) out[outOffset + k] = bytes[off + k];
    return n;
  }

  /** The GPA an instruction fetch at lo/hi reads (the decoded-block cache's key), checking execute rights. */
  codeGpa(lo: number, hi: number): number {
    const i = ((lo >>> 12) ^ hi) & this.indexMask;
    if (this.fetchLo[i] === ((lo & -4096) | this.ctx) && this.fetchHi[i] === hi) {
      return this.entryGpa[i] + (lo & 4095);
    }
    this.checkCanonical(lo, hi, 1, 0);
    this.resolve(lo, hi, KIND_FETCH, 0, 0);
    return this.partGpa[0];
  }

  /** INVLPG (a non-canonical address is a no-op, as on the CPU). */
  invlpg(lo: number, hi: number): void {
    this.invalidatePage(lo, hi);
  }

  /**
   * INVPCID after the interpreter's operand checks (#GP for a bad type, PCID or address).
   * Translations are not tagged with a PCID, so types 0 and 1 drop more than the one PCID's
   * entries, which the architecture allows. Type 0: one address; 1: non-global (one PCID);
   * 2: everything, global included; 3: everything but global.
   */
  invpcid(type: number, lo: number, hi: number): void {
    if (type === 0) this.invalidatePage(lo, hi);
    else if (type === 2) this.flushAll();
    else if (type === 1 || type === 3) this.flushNonGlobal();
    else throw new RangeError(`INVPCID type ${type} is not 0..3`);
  }

  // ---- MMIO completion ----

  /**
   * Completes the MMIO read the last "mmio" stop asked for with the host's data (KVM: the
   * kvm_run mmio.data on re-entry). The instruction is then re-executed and that read returns it.
   */
  completeMmioRead(data: Uint8Array): void {
    const pending = this.pendingMmioRead;
    if (pending === undefined) throw new RangeError("no MMIO read is waiting for data");
    if (data.length !== pending.size) {
      throw new RangeError(`MMIO read of ${pending.size} bytes completed with ${data.length} bytes`);
    }
    pending.data.set(data);
    this.mmioLog.push(pending);
    this.pendingMmioRead = undefined;
  }

  /** True while completed MMIO accesses wait to be replayed by the re-executed instruction. */
  get mmioReplayActive(): boolean {
    return this.mmioLog.length !== 0;
  }

  /** Call once the re-executed instruction retired or faulted: forgets the completed MMIO accesses. */
  endMmioReplay(): void {
    this.mmioLog.length = 0;
    this.mmioCursor = 0;
  }

  // ---- slow path ----

  private readSlow(lo: number, hi: number, size: number, flags: number): number {
    this.access(lo, hi, size, KIND_READ, flags);
    if (size === 2) return this.buf[0] | (this.buf[1] << 8);
    if (size === 8) this.hi = this.bufWords[1];
    return this.bufWords[0];
  }

  private writeSlow(lo: number, hi: number, size: number, valueLo: number, valueHi: number, flags: number) {
    this.bufWords[0] = valueLo;
    this.bufWords[1] = valueHi;
    this.access(lo, hi, size, KIND_WRITE, flags);
  }

  /**
   * Moves `size` bytes between this.buf and linear memory. Both pages of a page-crossing access
   * are translated (all faults raised) before any byte moves.
   */
  private access(lo: number, hi: number, size: number, kind: number, flags: number): void {
    this.checkCanonical(lo, hi, size, flags);
    this.checkAlignment(lo, size, flags);
    const off = lo & 4095;
    const first = Math.min(4096 - off, size);
    const ram0 = this.resolve(lo, hi, kind, flags, 0);
    let ram1 = true;
    if (first < size) ram1 = this.resolve(this.nextPageLo(lo), this.nextPageHi(lo, hi), kind, flags, 1);
    const write = kind === KIND_WRITE;
    if (write && this.codePages.size !== 0) {
      if (ram0) this.noteStore(this.partGpa[0]);
      if (first < size && ram1) this.noteStore(this.partGpa[1]);
    }
    this.move(0, off, 0, first, ram0, write);
    if (first < size) this.move(1, 0, first, size - first, ram1, write);
  }

  private move(part: number, pageOffset: number, bufOffset: number, n: number, ram: boolean, write: boolean) {
    if (!ram) {
      this.mmio(this.partGpa[part], bufOffset, n, write);
      return;
    }
    const page = this.partBytes[part];
    const buf = this.buf;
    if (write) for (let k = 0; k < n; k++) page[pageOffset + k] = buf[bufOffset + k];
    else for (let k = 0; k < n; k++) buf[bufOffset + k] = page[pageOffset + k];
  }

  private mmio(gpa: number, bufOffset: number, size: number, isWrite: boolean): void {
    const log = this.mmioLog;
    if (this.mmioCursor < log.length) {
      const done = log[this.mmioCursor];
      if (done.gpa === gpa && done.size === size && done.isWrite === isWrite) {
        this.mmioCursor++;
        if (!isWrite) this.buf.set(done.data, bufOffset);
        return;
      }
      log.length = this.mmioCursor; // the instruction went another way: later records are stale
    }
    this.mmioCursor = 0;
    const data = isWrite ? this.buf.slice(bufOffset, bufOffset + size) : new Uint8Array(size);
    const stop: MmioStop = { reason: "mmio", gpa, size, isWrite, data };
    // A write is delivered once the host sees the stop; a read waits for completeMmioRead().
    if (isWrite) log.push(stop);
    else this.pendingMmioRead = stop;
    throw MemoryFault.stop(stop);
  }
}

export type { MmuOptions };
