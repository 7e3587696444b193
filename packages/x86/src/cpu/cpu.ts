// The interpreter: a Cpu ties the architectural state (exec), the MMU (a caller-supplied
// GuestPhysicalMap behind a software TLB) and the decoder together, runs decoded blocks until a
// stop, and offers the completion API the layer above uses to resume after one.
import { decodeInto } from "../decoder/decode.js";
import {
  OK_MEM,
  R_ASZ,
  R_LEN,
  R_MBASE,
  R_MINDEX,
  R_MSEG,
  R_NOPS,
  R_OP,
  R_OP0,
  R_STATUS,
  ST_GP,
  ST_OK,
  ST_TRUNCATED,
  ST_UD,
} from "../decoder/record.js";
import { getMsr, getRegs, getSregs, type Regs, type Sregs, setMsr, setRegs, setSregs } from "../exec/api.js";
import { CrEffect } from "../exec/control.js";
import { deliverEvent, EventKind } from "../exec/deliver.js";
import { nextEvent, PendingEvents, wakesFromHlt } from "../exec/events.js";
import { UnsupportedError, Vector, X86Exception } from "../exec/exception.js";
import { AC } from "../exec/flags.js";
import { FLAGS_REST, RAX, RCX, RDI, RDX, type RegFile, RIP_HI, RIP_LO, RSI } from "../exec/regs.js";
import { AR_DB, SEG_SS, segAttr } from "../exec/segment.js";
import { type CpuConfig, CpuState, codeBits, cpl } from "../exec/state.js";
import type { SystemMemory } from "../exec/system-memory.js";
import { OPS } from "../isa/forms.js";
import { MemoryFault } from "../mmu/fault.js";
import { Mmu } from "../mmu/mmu.js";
import type { GuestPhysicalMap } from "../mmu/second-stage.js";
import {
  Block,
  EA_BASE_DISP,
  EA_BASE_INDEX,
  EA_GENERIC,
  EA_INDEX_DISP,
  type Handler,
  X_EA,
  X_NEXT,
  X_SHIFT,
  X_START,
  X_STRIDE,
} from "./block.js";
import { type CompiledBlock, compileBlock } from "./block-compiler.js";
import { afterStep, beforeStep, debugActive } from "./debug.js";
import { ENDS_BLOCK, SELECTORS } from "./dispatch.js";
import { fixupFault } from "./fault-fixup.js";
import { countZero, decCount, dstAddr, rewind } from "./h-string.js";
import { unsupportedEncoding } from "./h-unsupported.js";
import { memWrite, regWrite } from "./operands.js";
import { type CpuStop, DEFAULT_EXITS, type ExitControls, StopSignal } from "./stops.js";

export interface CpuOptions {
  /** The second stage: memslots (normal VM), the TD's EPT, or a flat memory. */
  map: GuestPhysicalMap;
  config?: Partial<CpuConfig>;
  exits?: Partial<ExitControls>;
  /** Software TLB entries (power of two, 256..4096). */
  tlbSize?: number;
  /** Seed of the deterministic RDRAND/RDSEED sequence. */
  randomSeed?: number;
  /**
   * Whole-block executions after which a decoded block is compiled to a JavaScript function
   * (block-compiler.ts; default 200). 0 keeps every block interpreted (e.g. where `new Function`
   * is not allowed; that is also detected and falls back by itself).
   */
  compileThreshold?: number;
}

/** Longest run of instructions in one decoded block. */
const MAX_BLOCK = 64;
/** Direct-mapped block lookup entries. */
const DM_SIZE = 4096;
/** Whole-block runs before a block is compiled (about 25 µs of compile time per 5-instruction block pays off by then). */
const DEFAULT_COMPILE_THRESHOLD = 200;

interface IoExit {
  size: number;
  string: boolean;
  rep: boolean;
  asz: number;
  /** 0 = in, 1 = out */
  dir: number;
  seg?: number;
}

const hUnsupportedOp =
  (name: string): Handler =>
  () => {
    throw new UnsupportedError(`instruction ${name} is not executed by this CPU`);
  };
const hDecodeUd: Handler = () => {
  throw new X86Exception(Vector.UD, -1, "undefined opcode");
};
const hDecodeGp: Handler = () => {
  throw new X86Exception(Vector.GP, 0, "instruction longer than 15 bytes");
};

export class Cpu {
  readonly st: CpuState;
  readonly r: RegFile;
  readonly mmu: Mmu;
  readonly pending = new PendingEvents();
  readonly exits: ExitControls;
  /** System-memory view for exec's helpers (descriptor tables, TSS, event-delivery pushes). */
  readonly sys: SystemMemory;

  // ---- scratch shared with handlers ----
  hi = 0;
  eaLo = 0;
  eaHi = 0;
  spHi = 0;
  readonly tmp4 = new Int32Array(4);
  /** Set by a handler to end the current block after it (mode, flags or code changed). */
  breakBlock = false;
  /** A taken Jcc ended the block (chaining stays allowed, unlike other block breaks). */
  taken = false;
  /** Events, HLT, an interrupt shadow or an MMIO replay need a look at the next block boundary. */
  attention = true;
  /** Retired count at the start of the current block (the TSC of instruction i is this + i). */
  retiredBase = 0;

  // ---- cached mode ----
  bits = 32;
  mode64 = false;
  stack32 = true;

  // ---- decoded-block cache ----
  private readonly byGpa = [new Map<number, Block>(), new Map<number, Block>(), new Map<number, Block>()];
  private readonly pageBlocks = new Map<number, Block[]>();
  private readonly dmBlock: (Block | undefined)[] = new Array(DM_SIZE).fill(undefined);
  private readonly fetchBuf = new Uint8Array(4096 + 32);
  private readonly scratch = new Int32Array(MAX_BLOCK * X_STRIDE);
  /** Linear page (bits 31:12, and bits 63:32) of the running block: RIP = pageLo + a record's page offset. */
  pageLo = 0;
  pageHi = 0;
  /** Set by a compiled block whose handler threw (it then returns -1): that instruction's index, and what it threw. */
  blockFault = 0;
  blockError: unknown = undefined;
  /** A stop a handler requested without throwing (requestStop). */
  private stopRequest: StopSignal | undefined = undefined;
  /** Whole-block runs at which a block is compiled (block-compiler.ts), 1 = before its first run; 0 = never. */
  private readonly compileThreshold: number;
  /** Blocks decoded (a figure for tests/benchmarks). */
  blocksDecoded = 0;
  /** Blocks compiled to JavaScript functions (a figure for tests/benchmarks). */
  blocksCompiled = 0;

  // ---- exits waiting for completion ----
  private exitLen = 0;
  /** A fault raised while completing an exit, delivered at the next run(). */
  private deferredFault: unknown = undefined;
  private exitReason: CpuStop["reason"] | undefined;
  exitIo: IoExit | undefined;
  private rng: number;

  constructor(options: CpuOptions) {
    this.st = new CpuState(options.config);
    this.r = this.st.r;
    this.mmu = new Mmu({
      map: options.map,
      tlbSize: options.tlbSize,
      maxPhysAddr: this.st.config.maxPhysAddr,
    });
    this.exits = { ...DEFAULT_EXITS, ...options.exits };
    this.rng = (options.randomSeed ?? 0x2545f491) | 0 || 1;
    const threshold = options.compileThreshold ?? DEFAULT_COMPILE_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0)
      throw new RangeError(`compileThreshold ${threshold} is not a non-negative integer`);
    this.compileThreshold = threshold;
    const mmu = this.mmu;
    const st = this.st;
    this.sys = {
      readU32(lo: number, hi: number, user: boolean): number {
        try {
          return mmu.readSystem32(lo, hi, user);
        } catch (e) {
          throw systemFault(st, e);
        }
      },
      writeU32(lo: number, hi: number, value: number, user: boolean): void {
        try {
          mmu.writeSystem32(lo, hi, value, user);
        } catch (e) {
          throw systemFault(st, e);
        }
      },
    };
    mmu.setCodeWriteHook((page) => this.invalidateCodePage(page));
    this.syncMode();
  }

  // ======================================================================================
  // run loop
  // ======================================================================================

  /** Runs until a stop; at most `budget` instructions retire. */
  run(budget = Number.POSITIVE_INFINITY): CpuStop {
    if (this.exitReason !== undefined) {
      throw new RangeError(
        `run: the ${this.exitReason} stop has not been completed (call a complete*/skip method)`,
      );
    }
    const st = this.st;
    const r = this.r;
    this.mmu.syncSecondStage();
    this.syncMode();
    this.attention = true;
    if (this.deferredFault !== undefined) {
      const e = this.deferredFault;
      this.deferredFault = undefined;
      const s = this.onThrow(e);
      if (s !== undefined) return s;
    }
    // Instructions retire until st.retired reaches stopAt (compiled loops count passes there directly).
    const stopAt = st.retired + budget;
    let next: Block | undefined;
    for (;;) {
      let blk: Block | undefined;
      let i = 0;
      try {
        for (;;) {
          const p = this.pending;
          if (this.attention) {
            const s = this.serviceEvents();
            if (s !== undefined) return s;
            next = undefined;
            // Stay attentive while something may need the next instruction boundary.
            this.attention =
              st.halted ||
              p.nmi ||
              p.irq >= 0 ||
              p.shadow > 0 ||
              this.mmu.mmioReplayActive ||
              debugActive(this);
          }
          const left = stopAt - st.retired;
          if (left <= 0) return { reason: "budget-exhausted" };
          if (next !== undefined) blk = next;
          else {
            if (this.bits === 16) return { reason: "unsupported", message: unsupportedMode(this) };
            blk = this.blockAt();
          }
          next = undefined;
          let n = Math.min(blk.count, left);
          const dbg = this.attention && debugActive(this); // per-instruction checks: #DB, CS fetch limit (debug.ts)
          const single = this.attention && (p.shadow > 0 || this.mmu.mmioReplayActive || dbg);
          if (single) n = 1;
          const recs = blk.recs;
          const fns = blk.fns;
          const pageLo = this.pageLo;
          this.retiredBase = st.retired;
          this.breakBlock = false;
          this.taken = false;
          i = 0;
          if (dbg) beforeStep(this, recs, 0, pageLo); // may throw a #DB fault for instruction 0
          // Compiled blocks run whole blocks only: never when single-stepping (#DB, shadows, MMIO replay).
          const whole = n === blk.count && !single;
          let compiled = blk.compiled;
          if (compiled === undefined && whole && ++blk.hits === this.compileThreshold && blk.valid)
            compiled = this.compile(blk);
          if (compiled !== undefined && whole) {
            i = compiled(this, recs, stopAt);
            if (i < 0) {
              // A handler threw (a fault or a stop): the compiled block caught it, no second unwind.
              const e = this.blockError;
              this.blockError = undefined;
              const s = this.unwound(e, blk, this.blockFault);
              blk = undefined;
              if (s !== undefined) return s;
              continue;
            }
          } else {
            for (i = 0; i < n; ) {
              const o = i << X_SHIFT;
              const nx = recs[o + X_NEXT];
              r[RIP_LO] = pageLo + nx;
              if (nx >= 4096) this.ripCarry(nx);
              fns[i](this, recs, o);
              i++;
              if (this.breakBlock) break;
            }
          }
          if (this.stopRequest !== undefined) {
            // Instruction i - 1 asked to stop (requestStop): as if it had thrown, without the unwind.
            const e = this.stopRequest;
            this.stopRequest = undefined;
            const s = this.unwound(e, blk, i - 1);
            blk = undefined;
            if (s !== undefined) return s;
            continue;
          }
          st.retired += i;
          const cur = blk;
          blk = undefined;
          if (single) {
            p.retire();
            if (this.mmu.mmioReplayActive) this.mmu.endMmioReplay();
          }
          if (dbg && i === 1) afterStep(this, cur.recs, 0, pageLo);
          // Chain to the next block when it starts in the same linear (hence physical) page.
          const nlo = r[RIP_LO];
          if (
            (!this.breakBlock || this.taken) &&
            cur.valid &&
            r[RIP_HI] === this.pageHi &&
            (nlo & -4096) === pageLo
          ) {
            const a = cur.succA;
            if (a !== undefined && cur.succALo === nlo && a.valid) next = a;
            else {
              const b = cur.succB;
              if (b !== undefined && cur.succBLo === nlo && b.valid) next = b;
              else {
                const found = this.blockAt();
                // A page-crossing block is never chained: each entry must recheck its second page.
                if (found.valid && found.crossGpa < 0) {
                  if (a === undefined || !a.valid) {
                    cur.succA = found;
                    cur.succALo = nlo;
                  } else {
                    cur.succB = found;
                    cur.succBLo = nlo;
                  }
                }
                next = found;
              }
            }
          }
        }
      } catch (e) {
        next = undefined;
        const s = this.unwound(e, blk, i);
        if (s !== undefined) return s;
      }
    }
  }

  /** After instruction i of blk threw e (a fault, a stop): RIP back at it, then deliver or stop. */
  private unwound(thrown: unknown, blk: Block | undefined, i: number): CpuStop | undefined {
    let e = thrown;
    if (blk !== undefined) {
      // Instruction i did not retire.
      const r = this.r;
      this.st.retired += i;
      r[RIP_LO] = this.pageLo + blk.recs[(i << X_SHIFT) + X_START];
      r[RIP_HI] = this.pageHi;
      if (e instanceof StopSignal && e.exit) this.exitLen = blk.recs[(i << X_SHIFT) + R_LEN];
      else e = fixupFault(this, blk.recs, i << X_SHIFT, e);
    }
    if (this.mmu.mmioReplayActive && !(e instanceof MemoryFault && e.isStop)) this.mmu.endMmioReplay();
    return this.onThrow(e);
  }

  /** The decoded block at RIP (decoding it on a miss). */
  private blockAt(): Block {
    const r = this.r;
    const lo = r[RIP_LO];
    const hi = r[RIP_HI];
    const gpa = this.mmu.codeGpa(lo, hi);
    this.pageLo = lo & -4096;
    this.pageHi = hi;
    const idx = (gpa ^ (gpa / 4096)) & (DM_SIZE - 1);
    const b = this.dmBlock[idx];
    if (
      b !== undefined &&
      b.gpa === gpa &&
      b.bits === this.bits &&
      b.valid &&
      (b.crossGpa < 0 || this.crossHolds(b))
    )
      return b;
    const modeIdx = this.bits === 64 ? 2 : this.bits === 32 ? 1 : 0;
    let blk = this.byGpa[modeIdx].get(gpa);
    // A page-crossing block whose next linear page now maps elsewhere (remapped, or this GPA is also
    // mapped at another linear page) is stale: decode again.
    if (blk?.valid && blk.crossGpa >= 0 && !this.crossHolds(blk)) blk.valid = false;
    if (blk === undefined || !blk.valid) {
      blk = this.decodeBlock(lo, hi, gpa);
      if (blk.valid) this.byGpa[modeIdx].set(gpa, blk);
    }
    if (blk.valid) this.dmBlock[idx] = blk;
    return blk;
  }

  /**
   * Whether the page after the running block's linear page (pageLo/pageHi) still translates to the
   * GPA a page-crossing block was decoded from. The fetch checks execute rights and may #PF with
   * CR2 = that page, as the CPU's fetch of the instruction's tail does.
   */
  private crossHolds(b: Block): boolean {
    const nlo = (this.pageLo + 4096) | 0;
    const nhi = nlo === 0 && this.mode64 ? (this.pageHi + 1) | 0 : this.pageHi;
    return this.mmu.codeGpa(nlo, nhi) === b.crossGpa;
  }

  private decodeBlock(lo: number, hi: number, gpa: number): Block {
    this.blocksDecoded++;
    const mmu = this.mmu;
    const buf = this.fetchBuf;
    const off = lo & 4095;
    const avail = mmu.fetchBytes(lo, hi, buf, 0, 4096 - off);
    const page = Math.floor(gpa / 4096) * 4096;
    const out = this.scratch;
    const fns: Handler[] = [];
    let pos = 0;
    let count = 0;
    let crossGpa = -1;
    while (count < MAX_BLOCK && pos < avail) {
      const o = count << X_SHIFT;
      let len = decodeInto(buf, pos, avail, this.bits as 16 | 32 | 64, out, o);
      if (out[o + R_STATUS] === ST_TRUNCATED) {
        if (count > 0) break; // let the page-crossing instruction start its own block
        // It crosses into the next page: fetch more (may #PF with CR2 = the next page). The block
        // holds this one instruction and depends on both pages (see Block.crossGpa).
        const nlo = (lo - off + 4096) | 0;
        const nhi = nlo === 0 && this.mode64 ? (hi + 1) | 0 : hi;
        const more = mmu.fetchBytes(nlo, nhi, buf, avail, 15);
        crossGpa = mmu.fetchGpa;
        len = decodeInto(buf, pos, avail + more, this.bits as 16 | 32 | 64, out, o);
      }
      out[o + X_START] = off + pos;
      out[o + X_NEXT] = off + pos + len;
      out[o + X_EA] = eaShape(out, o, this.bits);
      const status = out[o + R_STATUS];
      let fn: Handler;
      let end = true;
      if (status === ST_OK) {
        const op = out[o + R_OP];
        const sel = SELECTORS[op];
        fn = sel === undefined ? hUnsupportedOp(opNameOf(op)) : sel(out, o);
        end = ENDS_BLOCK[op] === 1 || sel === undefined;
      } else fn = status === ST_UD ? hDecodeUd : status === ST_GP ? hDecodeGp : unsupportedEncoding(out, o);
      fns.push(fn);
      count++;
      pos += len;
      if (end || crossGpa >= 0) break;
    }
    const recs = out.slice(0, count << X_SHIFT);
    const blk = new Block(gpa, this.bits, recs, fns, count);
    this.listOnPage(blk, page);
    if (crossGpa >= 0) {
      blk.crossGpa = crossGpa;
      this.listOnPage(blk, crossGpa);
    }
    return blk;
  }

  /** Lists a block under a guest-physical page it was decoded from, so a store there drops it. */
  private listOnPage(blk: Block, page: number): void {
    this.mmu.markCodePage(page);
    let list = this.pageBlocks.get(page);
    if (list === undefined) {
      list = [];
      this.pageBlocks.set(page, list);
    }
    // A page-crossing block re-decoded after a remap leaves dead entries on the other page: sweep them now and then.
    if (list.length >= 64 && (list.length & (list.length - 1)) === 0) {
      const live = list.filter((b) => b.valid);
      list.length = 0;
      for (const b of live) list.push(b);
    }
    list.push(blk);
  }

  /** RIP after an instruction that ends at or past its page's end (page offset `next` ≥ 4096). */
  private ripCarry(next: number): void {
    const s = (this.pageLo >>> 0) + next;
    // Past 2^32: 64-bit code carries into RIP bits 63:32; 32-bit code wraps EIP (bits 63:32 stay 0).
    if (s > 0xffffffff && this.mode64) this.r[RIP_HI] = (this.pageHi + 1) | 0;
  }

  private compile(blk: Block): CompiledBlock | undefined {
    const fn = compileBlock(blk);
    if (fn === undefined) return undefined;
    blk.compiled = fn;
    this.blocksCompiled++;
    return fn;
  }

  /** The MMU's code-write hook: drop every block decoded from the page (self-modifying code). */
  private invalidateCodePage(page: number): void {
    const list = this.pageBlocks.get(page);
    if (list === undefined) return;
    this.pageBlocks.delete(page);
    for (const b of list) {
      b.valid = false;
      // Only if it is still the cached one: a page-crossing block listed here may have been replaced.
      const map = this.byGpa[b.bits === 64 ? 2 : b.bits === 32 ? 1 : 0];
      if (map.get(b.gpa) === b) map.delete(b.gpa);
    }
    // The running block may be one of them: stop it after the current instruction.
    this.breakBlock = true;
  }

  /** Drops every decoded block (e.g. after the host wrote guest code behind the CPU's back). */
  flushDecodedBlocks(): void {
    for (const page of [...this.pageBlocks.keys()]) this.invalidateCodePage(page);
    this.dmBlock.fill(undefined);
  }

  // ======================================================================================
  // exceptions, events, stops
  // ======================================================================================

  private onThrow(e: unknown): CpuStop | undefined {
    if (e instanceof StopSignal) {
      if (e.exit) this.exitReason = e.stop.reason;
      else this.exitIo = undefined;
      return e.stop;
    }
    if (e instanceof MemoryFault) {
      if (e.stop !== undefined) {
        const s = e.stop;
        if (s.reason === "unsupported") return { reason: "unsupported", message: s.message };
        return s;
      }
      if (e.vector === Vector.VE && this.exits.ve === "stop" && e.ve !== undefined) {
        const v = e.ve;
        const gla = (BigInt(v.glaHi >>> 0) << 32n) | BigInt(v.glaLo >>> 0);
        return { reason: "ve", gpa: v.gpa, qualification: v.qualification, gla };
      }
      return this.deliverException(e.vector, e.errorCode, e.cr2Lo, e.cr2Hi);
    }
    if (e instanceof X86Exception) return this.deliverException(e.vector, e.errorCode, 0, 0);
    if (e instanceof UnsupportedError) return { reason: "unsupported", message: e.message };
    throw e;
  }

  private deliverException(
    vector: number,
    errorCode: number,
    cr2Lo: number,
    cr2Hi: number,
  ): CpuStop | undefined {
    const ev =
      vector === Vector.PF
        ? { vector, kind: EventKind.Exception, errorCode, cr2Lo, cr2Hi }
        : { vector, kind: EventKind.Exception, errorCode };
    return this.deliverEvent(ev);
  }

  private deliverEvent(ev: Parameters<typeof deliverEvent>[2]): CpuStop | undefined {
    try {
      const res = deliverEvent(this.st, this.sys, ev);
      this.modeChanged();
      this.flagsChanged();
      if (res === "shutdown")
        return { reason: "shutdown", detail: `triple fault delivering vector ${ev.vector}` };
      return undefined;
    } catch (e) {
      if (e instanceof MemoryFault && e.stop !== undefined) {
        const s = e.stop;
        return s.reason === "unsupported" ? { reason: "unsupported", message: s.message } : s;
      }
      if (e instanceof UnsupportedError) return { reason: "unsupported", message: e.message };
      throw e;
    }
  }

  /**
   * For handlers: stop the run at the current instruction, as `throw new StopSignal(stop, exit)`
   * would, but without unwinding (an exception costs about a microsecond in V8; TD guests stop
   * on every TDCALL). The handler must return right after calling this.
   */
  requestStop(stop: CpuStop, exit: boolean): void {
    this.stopRequest = new StopSignal(stop, exit);
    this.breakBlock = true;
  }

  /** For INT n / INT3 / INTO / INT1 handlers: deliver now (RIP = next instruction). */
  deliver(vector: number, kind: number, errorCode: number): void {
    const s = this.deliverEvent({ vector, kind, errorCode });
    this.breakBlock = true;
    if (s !== undefined) throw new StopSignal(s, false);
  }

  private serviceEvents(): CpuStop | undefined {
    const st = this.st;
    const p = this.pending;
    if (p.shadow > 0) return undefined; // the next instruction runs alone (run loop), then retire() clears it
    if (st.halted) {
      if (!wakesFromHlt(st, p)) return { reason: "hlt" };
      st.halted = false;
    }
    const ev = nextEvent(st, p);
    if (ev === null) return undefined;
    return this.deliverEvent(ev);
  }

  // ======================================================================================
  // mode bookkeeping (called by handlers after state changes)
  // ======================================================================================

  /** Recomputes the cached mode and pushes CR0/CR4/EFER, CPL and EFLAGS.AC to the MMU. */
  syncMode(): void {
    const st = this.st;
    this.bits = codeBits(st);
    this.mode64 = this.bits === 64;
    this.stack32 = (segAttr(st.seg, SEG_SS) & AR_DB) !== 0;
    this.mmu.setControlRegisters(st.cr0, st.cr4, st.efer);
    const cr3 = (st.cr3Hi >>> 0) * 4294967296 + (st.cr3Lo >>> 0);
    const base = cr3 - (cr3 % 4096);
    if (base !== this.mmu.cr3 && base < 2 ** this.mmu.maxPhysAddr) this.mmu.writeCr3(base);
    this.mmu.setPrivilege(cpl(st), (this.r[FLAGS_REST] & AC) !== 0);
  }

  modeChanged(): void {
    this.attention = true;
    this.syncMode();
    this.breakBlock = true;
  }

  flagsChanged(): void {
    this.attention = true;
    this.mmu.setPrivilege(cpl(this.st), (this.r[FLAGS_REST] & AC) !== 0);
    this.breakBlock = true;
  }

  /** After MOV CRn / LMSW: TLB flushes and mode changes. */
  crWritten(effect: number): void {
    const st = this.st;
    if (effect & CrEffect.FLUSH_TLB) {
      const cr3 = (st.cr3Hi >>> 0) * 4294967296 + (st.cr3Lo >>> 0);
      this.mmu.writeCr3(cr3 - (cr3 % 4096));
    }
    this.syncMode();
    if (effect & CrEffect.FLUSH_TLB_ALL) this.mmu.flushAll();
    this.breakBlock = true;
  }

  /** STI / MOV SS / POP SS: no interrupt before the next instruction completes. */
  interruptShadow(): void {
    this.attention = true;
    this.pending.shadow = 1;
    this.breakBlock = true;
  }

  nextRandom(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return x;
  }

  // ======================================================================================
  // host API: registers (BigInt at this edge; exec's api.ts does the checks)
  // ======================================================================================

  getRegs(): Regs {
    return getRegs(this.st);
  }

  setRegs(regs: Regs): void {
    setRegs(this.st, regs);
    this.syncMode();
  }

  getSregs(): Sregs {
    return getSregs(this.st);
  }

  /** Segment, descriptor-table and control registers; the decoded-block mode and the MMU follow. */
  setSregs(sregs: Sregs): void {
    setSregs(this.st, sregs);
    this.syncMode();
  }

  getMsr(index: number): bigint {
    return getMsr(this.st, index);
  }

  setMsr(index: number, value: bigint): void {
    setMsr(this.st, index, value);
    this.syncMode();
  }

  // ======================================================================================
  // host API: events and completion
  // ======================================================================================

  injectInterrupt(vector: number): void {
    this.attention = true;
    this.pending.injectInterrupt(vector);
  }

  injectNmi(): void {
    this.attention = true;
    this.pending.injectNmi();
  }

  /** Delivers an exception at the current RIP now (e.g. #GP for an MSR the host refuses), ending a pending exit. */
  injectException(vector: number, errorCode = -1): CpuStop | undefined {
    this.exitReason = undefined;
    this.exitIo = undefined;
    this.syncMode();
    return this.deliverException(vector, errorCode, this.st.cr2Lo, this.st.cr2Hi);
  }

  /** Retires the stopped instruction without further effect (OUT, WRMSR, VMCALL/TDCALL/SEAMCALL after the host set registers). */
  skipInstruction(): void {
    if (this.exitReason === undefined) throw new RangeError("skipInstruction: no exit is pending");
    const io = this.exitIo;
    if (io?.string) {
      this.finishStringIo(io);
      return;
    }
    this.retireExit();
  }

  /** Completes an IN / INS stop with the value read from the port. */
  completeIo(value = 0): void {
    const io = this.exitIo;
    if (this.exitReason !== "io" || io === undefined)
      throw new RangeError("completeIo: no I/O stop is pending");
    if (io.dir === 0) {
      if (io.string) {
        this.syncMode();
        try {
          const t = dstAddr(this, io.asz, io.size);
          memWrite(this, io.size, t, this.eaHi, value, 0);
        } catch (e) {
          // INS whose destination faults: the instruction faults (RIP stays at it); delivered by the next run().
          this.deferredFault = e;
          this.exitReason = undefined;
          this.exitIo = undefined;
          return;
        }
      } else regWrite(this, 1, RAX, io.size, value, 0);
    }
    if (io.string) this.finishStringIo(io);
    else this.retireExit();
  }

  private finishStringIo(io: IoExit): void {
    this.syncMode();
    const delta = this.r[FLAGS_REST] & (1 << 10) ? -io.size : io.size;
    const reg = io.dir === 0 ? RDI : RSI;
    const r = this.r;
    const i = reg << 1;
    if (io.asz === 8) {
      const s = (r[i] >>> 0) + delta;
      r[i | 1] = (r[i | 1] + (s > 0xffffffff ? 1 : s < 0 ? -1 : 0)) | 0;
      r[i] = s | 0;
    } else regWrite(this, 1, reg, io.asz, (r[i] + delta) | 0, 0);
    if (io.rep) {
      decCount(this, io.asz);
      if (!countZero(this, io.asz)) {
        // More elements: the instruction runs again (next stop).
        this.exitReason = undefined;
        this.exitIo = undefined;
        this.st.retired++;
        return;
      }
    }
    this.retireExit();
  }

  completeCpuid(eax: number, ebx: number, ecx: number, edx: number): void {
    if (this.exitReason !== "cpuid") throw new RangeError("completeCpuid: no CPUID stop is pending");
    regWrite(this, 1, RAX, 4, eax, 0);
    regWrite(this, 1, 3, 4, ebx, 0);
    regWrite(this, 1, RCX, 4, ecx, 0);
    regWrite(this, 1, RDX, 4, edx, 0);
    this.retireExit();
  }

  completeRdmsr(value: bigint): void {
    if (this.exitReason !== "rdmsr") throw new RangeError("completeRdmsr: no RDMSR stop is pending");
    if (value < 0n || value >= 1n << 64n)
      throw new RangeError(`completeRdmsr: 0x${value.toString(16)} is not a 64-bit value`);
    regWrite(this, 1, RAX, 4, Number(value & 0xffffffffn) | 0, 0);
    regWrite(this, 1, RDX, 4, Number(value >> 32n) | 0, 0);
    this.retireExit();
  }

  /** Completes an MMIO read stop; the instruction re-executes on the next run(). */
  completeMmioRead(data: Uint8Array): void {
    this.mmu.completeMmioRead(data);
  }

  /** The exit waiting for completion, if any. */
  get pendingExit(): CpuStop["reason"] | undefined {
    return this.exitReason;
  }

  /**
   * Length in bytes (prefixes included) of the instruction whose exit is pending — what
   * skipInstruction() adds to RIP, the VM-exit instruction length — or undefined when no exit is
   * pending.
   */
  get pendingExitLength(): number | undefined {
    return this.exitReason === undefined ? undefined : this.exitLen;
  }

  /**
   * Drops the pending exit without retiring its instruction: RIP stays at it and the next run()
   * executes it again (e.g. a TDCALL the TDX module turned into a TD exit that must re-execute,
   * TDG.MEM.PAGE.ACCEPT). Nothing else changes: the retired count, the interrupt shadow and
   * pending events are as they were at the stop. A REP INS/OUTS re-executes from its current
   * element.
   */
  abandonPendingExit(): void {
    if (this.exitReason === undefined) throw new RangeError("abandonPendingExit: no exit is pending");
    this.exitReason = undefined;
    this.exitIo = undefined;
  }

  private retireExit(): void {
    const r = this.r;
    const s = (r[RIP_LO] >>> 0) + this.exitLen;
    r[RIP_LO] = s | 0;
    if (s > 0xffffffff && this.mode64) r[RIP_HI] = (r[RIP_HI] + 1) | 0;
    this.st.retired++;
    this.pending.retire();
    this.exitReason = undefined;
    this.exitIo = undefined;
  }
}

/** A MemoryFault raised by an implicit system access becomes the X86Exception exec expects (CR2 set for #PF). */
function systemFault(st: CpuState, e: unknown): unknown {
  if (e instanceof MemoryFault && !e.isStop) {
    if (e.vector === Vector.PF) {
      st.cr2Lo = e.cr2Lo;
      st.cr2Hi = e.cr2Hi;
    }
    return new X86Exception(e.vector, e.errorCode, e.toString());
  }
  return e;
}

/** The fast effective-address shape of a decoded record (see X_EA). */
function eaShape(d: Int32Array, o: number, bits: number): number {
  if (bits !== 64 || d[o + R_STATUS] !== ST_OK || d[o + R_ASZ] !== 8) return EA_GENERIC;
  let mem = false;
  for (let k = 0; k < d[o + R_NOPS]; k++) if ((d[o + R_OP0 + k] & 15) === OK_MEM) mem = true;
  if (!mem || d[o + R_MSEG] >= 4) return EA_GENERIC;
  if (d[o + R_MBASE] < 0) return d[o + R_MINDEX] >= 0 && d[o + R_MINDEX] < 16 ? EA_INDEX_DISP : EA_GENERIC;
  if (d[o + R_MINDEX] < 0) return EA_BASE_DISP;
  return d[o + R_MBASE] < 16 ? EA_BASE_INDEX : EA_GENERIC;
}

function unsupportedMode(c: Cpu): string {
  return c.st.cr0 & 1
    ? "16-bit protected-mode code is not executed"
    : "real mode is not supported (CR0.PE=0)";
}

const OP_NAMES = Object.fromEntries(Object.entries(OPS).map(([k, v]) => [v, k]));
function opNameOf(op: number): string {
  return OP_NAMES[op] ?? `op ${op}`;
}

export { rewind };
