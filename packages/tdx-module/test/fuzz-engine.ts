// Random SEAMCALL/TDCALL sequences with random operands over one simulated host, and the invariants
// checked after every call. Used by test/fuzz.test.ts (a CI-sized slice) and scripts/fuzz.ts (≥ 1 M).
import { HostPhysicalMemory } from "@tdxsim/memory";
import { LEGAL_SEPT_STATES, PageType, SeptState } from "../src/abi/pages.js";
import { makeGuestRegs, setReg } from "../src/guest-regs.js";
import { TdRunResult } from "../src/host/vp-enter.js";
import { isLeafState, isNonLeafState } from "../src/sept.js";
import { buildTdParams } from "../src/td-params.js";
import type { TdState } from "../src/td-state.js";
import { TdcallOutcome } from "../src/tdcall.js";
import { type GuestAccess, moduleInternals, TdxModule } from "../src/tdx-module.js";

/** Small deterministic PRNG (xorshift32). */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

const MEM = 256 * 1024 * 1024;
const GPAS = [
  0,
  0x1000,
  0x2000,
  0x3000,
  0x200000,
  0x201000,
  0x400000,
  0x40000000,
  0x1000 + 0x800,
  2 ** 47,
  2 ** 47 + 0x1000,
];

export class FuzzWorld {
  memory = new HostPhysicalMemory(MEM);
  tdx = new TdxModule(this.memory);
  readonly guest: GuestAccess = this.tdx.takeGuestAccess();
  readonly ctx = moduleInternals(this.tdx);
  tdrs: number[] = [];
  vcpus: number[] = [];
  pages: number[] = [];
  calls = 0;
  /** Pages the module ever saw (for the host-reachability invariant). */
  readonly touched = new Set<number>();

  constructor(private readonly rng: Rng) {
    // Stands in for the x86 core: each entry the "guest" issues one random TDCALL or stops.
    this.tdx.setGuestExecutor({
      run: (v) => {
        const k = rng.int(10);
        if (k === 0) return TdRunResult.TRIPLE_FAULT;
        if (k < 4) return TdRunResult.BUDGET_EXHAUSTED;
        v.regs.longMode64 = true;
        setReg(v.regs.gpr, 0, BigInt(rng.int(12)));
        setReg(v.regs.gpr, 1, rng.chance(0.5) ? 0xffccn : BigInt(rng.pick(GPAS)));
        return v.tdcall() === TdcallOutcome.TD_EXIT ? TdRunResult.TD_EXIT : TdRunResult.BUDGET_EXHAUSTED;
      },
    });
  }

  private freshPage(): number {
    if (this.memory.allocatedPages > MEM / 4096 - 64) return this.rng.pick(this.pages);
    const p = this.memory.allocPage();
    this.pages.push(p);
    this.touched.add(p);
    return p;
  }
  private hpa(): number {
    const r = this.rng.int(10);
    if (r < 4 || this.pages.length === 0) return this.freshPage();
    if (r < 6 && this.tdrs.length) return this.rng.pick(this.tdrs);
    if (r < 9) return this.rng.pick(this.pages);
    return this.rng.pick([0x123, MEM + 0x1000, 2 ** 52, -4096, 0x200000 * (1 + this.rng.int(64))]);
  }
  private tdr(): number {
    return this.tdrs.length && this.rng.chance(0.9) ? this.rng.pick(this.tdrs) : this.hpa();
  }
  private tdvpr(): number {
    return this.vcpus.length && this.rng.chance(0.9) ? this.rng.pick(this.vcpus) : this.hpa();
  }
  private gpa(): number {
    return this.rng.chance(0.8) ? this.rng.pick(GPAS) : this.rng.int(0x800) * 0x1000;
  }
  private level(): number {
    return this.rng.chance(0.9) ? this.rng.int(3) : this.rng.int(6);
  }

  /** One SEAMCALL or TDCALL: half of them push a TD along its lifecycle with mostly valid operands. */
  step(): void {
    this.calls++;
    if (this.rng.chance(0.5)) this.guidedStep();
    else this.randomStep();
  }

  private guidedStep(): void {
    const t = this.tdx;
    const r = this.rng;
    const ctx = this.ctx;
    if (ctx.tds.size < 2 || r.chance(0.01)) {
      const p = this.freshPage();
      if (t.tdhMngCreate(p, 2 + r.int(20)).status === 0n) this.tdrs.push(p);
      return;
    }
    const td = r.pick([...ctx.tds.values()]);
    const tdr = td.tdrHpa;
    if (td.lifecycle === 0) {
      t.tdhMngKeyConfig(tdr);
    } else if (td.lifecycle !== 1) {
      // teardown: reclaim something this TD owns, or the TDR
      if (td.lifecycle === 2) t.tdhMngKeyFreeid(tdr);
      else {
        const mine = [...ctx.pamt.assigned()].filter(([, e]) => e.owner === tdr).map(([h]) => h);
        t.tdhPhymemPageReclaim(mine.length ? r.pick(mine) : tdr);
      }
    } else if (td.tdcxPages.length < 6) {
      t.tdhMngAddcx(this.freshPage(), tdr);
    } else if (td.opState === 0) {
      const params = this.freshPage();
      this.memory.host.writeBytes(
        params,
        buildTdParams({
          maxVcpus: 1 + r.int(3),
          attributes: r.pick([0n, 1n, 1n << 28n]),
          configFlags: r.pick([0n, 2n, 4n]),
        }),
      );
      t.tdhMngInit(tdr, params);
    } else {
      const vcpuNeedingWork = [...td.vcpus].find((v) => v.state === 0);
      if (td.opState === 1 && (td.vcpus.size === 0 || (vcpuNeedingWork && r.chance(0.7)))) {
        if (!vcpuNeedingWork) {
          const p = this.freshPage();
          if (t.tdhVpCreate(p, tdr).status === 0n) this.vcpus.push(p);
        } else if (vcpuNeedingWork.tdcxPages.length < 5)
          t.tdhVpAddcx(this.freshPage(), vcpuNeedingWork.tdvprHpa);
        else t.tdhVpInit(vcpuNeedingWork.tdvprHpa, BigInt(r.next()));
        return;
      }
      if (r.chance(0.02)) {
        for (const v of td.vcpus) t.tdhVpFlush(v.tdvprHpa);
        t.tdhMngVpflushdone(tdr);
        return;
      }
      const gpa = r.int(24) * 0x1000 + r.pick([0, 0x200000, 0x400000]);
      const level = r.chance(0.8) ? 0 : 1;
      const gpaL = level ? gpa - (gpa % 0x200000) : gpa;
      switch (r.int(13)) {
        case 0:
        case 1:
          t.tdhMemSeptAdd(
            gpa - (gpa % (0x1000 * 512 ** (1 + r.int(3)))),
            1 + r.int(3),
            tdr,
            this.freshPage(),
          );
          break;
        case 2:
          if (td.opState === 1) t.tdhMemPageAdd(gpa, 0, tdr, this.freshPage(), this.freshPage());
          else {
            // 2 MiB pages from the top eighth of host memory (2 MiB-aligned, mostly free)
            const hpa = level ? 0x200000 * (112 + r.int(16)) : this.freshPage();
            const aug = t.tdhMemPageAug(gpaL, level, tdr, hpa);
            if (level === 1 && aug.status === 0n && r.chance(0.7)) this.accept2m(td, gpaL);
          }
          break;
        case 3:
          if (td.opState === 1) t.tdhMrExtend(gpa + 256 * r.int(16), tdr);
          else t.tdhMemPageAug(gpa, 0, tdr, this.freshPage());
          break;
        case 4:
          t.tdhMemRangeBlock(gpaL, level, tdr);
          break;
        case 5:
          t.tdhMemTrack(tdr);
          break;
        case 6:
          t.tdhMemPageRemove(gpaL, level, tdr);
          break;
        case 7:
          t.tdhMemRangeUnblock(gpaL, level, tdr);
          break;
        case 8:
          if (r.chance(0.5)) t.tdhMemPageDemote(gpaL, 1, tdr, this.freshPage());
          else t.tdhMemPagePromote(gpaL, 1, tdr);
          break;
        case 9:
          if (td.opState === 1 && r.chance(0.3)) t.tdhMrFinalize(tdr);
          else t.tdhMemSeptRemove(gpa - (gpa % 0x200000), 1, tdr);
          break;
        case 10:
          if (td.vcpusByIndex.length)
            t.enter(r.pick(td.vcpusByIndex).tdvprHpa, this.regs.gpr, new Int32Array(32));
          break;
        default: {
          const v = td.vcpusByIndex.length ? this.guest.vcpu(r.pick(td.vcpusByIndex).tdvprHpa) : undefined;
          if (!v) return;
          const g = this.regs.gpr;
          g.fill(0);
          this.regs.cpl = 0;
          this.regs.longMode64 = true;
          const leaf = r.pick([0, 1, 2, 3, 4, 5, 6, 6, 6, 7, 8, 9, 10, 11]);
          setReg(g, 0, BigInt(leaf));
          setReg(g, 1, leaf === 0 ? 0xffccn : BigInt(gpaL | level));
          setReg(g, 2, leaf === 4 ? BigInt(gpa) : r.pick([0n, 1n, 0x9100000000000010n, 0xa020000000000007n]));
          // 2 MiB ACCEPTs get interrupted now and then and resume on a later TDCALL.
          v.setInterruptCheck(() => r.chance(0.02));
          v.tdcall(this.regs);
          if (v.vmcallPending) v.resumeVmcall(v.exit.gpr, v.exit.xmm, this.regs);
          v.translate(gpa, 1 + r.int(2));
        }
      }
    }
  }

  /** A guest ACCEPTs a 2 MiB page with random interrupts: up to 3 TDCALLs, often leaving it half done. */
  private accept2m(td: TdState, gpa: number): void {
    const r = this.rng;
    const v = td.vcpusByIndex.length ? this.guest.vcpu(r.pick(td.vcpusByIndex).tdvprHpa) : undefined;
    if (!v) return;
    v.setInterruptCheck(() => r.chance(0.01));
    for (let i = 0; i < 3; i++) {
      const g = this.regs.gpr;
      g.fill(0);
      this.regs.cpl = 0;
      this.regs.longMode64 = true;
      setReg(g, 0, 6n);
      setReg(g, 1, BigInt(gpa | 1));
      if (v.tdcall(this.regs) !== TdcallOutcome.INTERRUPTED) break;
      this.interruptedAccepts++;
    }
  }
  /** 2 MiB ACCEPTs that stopped on an interrupt (coverage figure). */
  interruptedAccepts = 0;

  private randomStep(): void {
    const t = this.tdx;
    const r = this.rng;
    switch (r.int(26)) {
      case 0: {
        const p = this.hpa();
        if (t.tdhMngCreate(p, 1 + r.int(70)).status === 0n) this.tdrs.push(p);
        break;
      }
      case 1:
        t.tdhMngKeyConfig(this.tdr());
        break;
      case 2:
        t.tdhMngAddcx(this.hpa(), this.tdr());
        break;
      case 3: {
        const params = this.freshPage();
        try {
          this.memory.host.writeBytes(
            params,
            buildTdParams({
              maxVcpus: 1 + r.int(3),
              attributes: r.pick([0n, 1n, 1n << 28n, 1n << 31n]),
              configFlags: r.pick([0n, 2n, 4n, 8n]),
            }),
          );
        } catch {
          // a page owned by a TD: the host cannot write it; MNG.INIT then reads zeros
        }
        t.tdhMngInit(this.tdr(), params);
        break;
      }
      case 4: {
        const p = this.hpa();
        t.tdhVpCreate(p, this.tdr());
        if (this.ctx.vcpus.has(p) && !this.vcpus.includes(p)) this.vcpus.push(p);
        break;
      }
      case 5:
        t.tdhVpAddcx(this.hpa(), this.tdvpr());
        break;
      case 6:
        t.tdhVpInit(this.tdvpr(), BigInt(r.next()), r.chance(0.5) ? r.int(4) : undefined);
        break;
      case 7:
        t.tdhMemSeptAdd(this.gpa(), this.level(), this.tdr(), this.hpa());
        break;
      case 8:
        t.tdhMemPageAdd(
          this.gpa(),
          this.level() === 0 ? 0 : this.level(),
          this.tdr(),
          this.hpa(),
          this.hpa(),
        );
        break;
      case 9:
        t.tdhMrExtend(this.gpa() + r.int(16) * 256, this.tdr());
        break;
      case 10:
        t.tdhMrFinalize(this.tdr());
        break;
      case 11:
        t.tdhMemPageAug(this.gpa(), this.level(), this.tdr(), this.hpa());
        break;
      case 12:
        t.tdhMemRangeBlock(this.gpa(), this.level(), this.tdr());
        break;
      case 13:
        t.tdhMemRangeUnblock(this.gpa(), this.level(), this.tdr());
        break;
      case 14:
        t.tdhMemTrack(this.tdr());
        break;
      case 15:
        t.tdhMemPageRemove(this.gpa(), this.level(), this.tdr());
        break;
      case 16:
        t.tdhMemSeptRemove(this.gpa(), this.level(), this.tdr());
        break;
      case 17:
        if (r.chance(0.5)) t.tdhMemPagePromote(this.gpa(), this.level(), this.tdr());
        else t.tdhMemPageDemote(this.gpa(), this.level(), this.tdr(), this.hpa());
        break;
      case 18:
        t.tdhVpFlush(this.tdvpr());
        break;
      case 19:
        if (r.int(2) === 0) t.tdhMngVpflushdone(this.tdr());
        else t.tdhMngKeyFreeid(this.tdr());
        break;
      case 20:
        t.tdhPhymemPageReclaim(this.hpa());
        break;
      case 21:
        t.tdhMngRd(this.tdr(), r.pick([0x1110000300000000n, 0x1310000300000003n, BigInt(r.next())]));
        break;
      case 22:
        t.seamcall({
          rax: BigInt(r.int(70)) | (r.chance(0.1) ? BigInt(r.int(4)) << 16n : 0n),
          rcx: BigInt(this.hpa() >>> 0),
          rdx: BigInt(this.tdr()),
        });
        break;
      default:
        this.tdcall();
    }
  }

  private readonly regs = makeGuestRegs();
  private tdcall(): void {
    const r = this.rng;
    if (!this.vcpus.length) return;
    const v = this.guest.vcpu(r.pick(this.vcpus));
    if (!v) return;
    const g = this.regs.gpr;
    for (let i = 0; i < 32; i++) g[i] = r.chance(0.5) ? 0 : r.next() | 0;
    setReg(g, 0, r.chance(0.9) ? BigInt(r.int(13)) : BigInt(r.next()));
    setReg(g, 1, r.chance(0.7) ? BigInt(this.gpa() | (r.chance(0.3) ? 1 : 0)) : BigInt(r.next()));
    setReg(g, 2, r.chance(0.7) ? BigInt(this.gpa()) : r.pick([0x9100000000000010n, 0x1110000300000017n, 0n]));
    this.regs.cpl = r.chance(0.95) ? 0 : 3;
    this.regs.longMode64 = r.chance(0.97);
    // Interrupts arrive at random during interruptible leaves (2 MiB ACCEPT).
    v.setInterruptCheck(() => r.chance(0.05));
    v.tdcall(this.regs);
    if (v.vmcallPending && r.chance(0.8)) v.resumeVmcall(v.exit.gpr, v.exit.xmm, this.regs);
    if (r.chance(0.2)) v.translate(this.gpa(), 1 + r.int(4));
    const cpuid = new Uint32Array(4);
    if (r.chance(0.1))
      v.cpuid(r.pick([0, 1, 7, 0xd, 0x21, 0x40000000, r.next()]), r.int(4), r.int(4), r.chance(0.5), cpuid);
  }

  /** Throws with a description when an invariant is broken. */
  checkInvariants(): void {
    const ctx = this.ctx;
    const owned = new Map<number, number>();
    for (const [hpa, e] of ctx.pamt.assigned()) {
      if (e.pt === PageType.PT_NDA || e.pt === PageType.PT_RSVD)
        throw new Error(`PAMT keeps an entry of type ${e.pt}`);
      // no private page is reachable from the host: it is tagged with a private KeyID
      const key = ctx.priv.keyIdOf(hpa);
      if (key === 0) throw new Error(`page 0x${hpa.toString(16)} (${e.pt}) is assigned but host-readable`);
      if (e.pt === PageType.PT_TDR) {
        if (!ctx.tds.has(hpa)) throw new Error(`PT_TDR 0x${hpa.toString(16)} without a TD`);
        if (key !== ctx.globalKeyId) throw new Error("TDR not under the global KeyID");
        continue;
      }
      const td = ctx.tds.get(e.owner);
      if (!td) throw new Error(`page 0x${hpa.toString(16)} owned by a missing TD`);
      if (key !== td.hkid)
        throw new Error(`page 0x${hpa.toString(16)} under KeyID ${key}, TD has ${td.hkid}`);
      owned.set(e.owner, (owned.get(e.owner) ?? 0) + 1);
    }
    for (const p of this.touched) {
      if (ctx.pamt.pt(p) === PageType.PT_NDA && ctx.priv.keyIdOf(p) !== 0)
        throw new Error(`free page 0x${p.toString(16)} still under a private KeyID`);
    }
    for (const [tdr, td] of ctx.tds) {
      if ((owned.get(tdr) ?? 0) !== td.childCount)
        throw new Error(
          `TD 0x${tdr.toString(16)}: CHLDCNT ${td.childCount}, PAMT owns ${owned.get(tdr) ?? 0}`,
        );
      if (!td.sept || td.lifecycle === 3) continue;
      for (const table of td.sept.tables()) {
        let used = 0;
        for (let i = 0; i < 512; i++) {
          const s = table.state[i];
          if (s === SeptState.FREE && table.child[i] === undefined) continue;
          if (!LEGAL_SEPT_STATES.has(s)) throw new Error(`illegal SEPT state ${s}`);
          if (s !== SeptState.FREE) used++;
          const child = table.child[i];
          if (isNonLeafState(s) !== (child !== undefined))
            throw new Error("non-leaf state without a child table, or vice versa");
          if (isNonLeafState(s) && table.level === 0) throw new Error("non-leaf entry at level 0");
          const progress = table.acceptCounter[i];
          if (
            progress !== 0 &&
            (table.level !== 1 || (s !== SeptState.PENDING && s !== SeptState.PENDING_BLOCKED))
          )
            throw new Error(`ACCEPT progress ${progress} kept by a ${s} entry at level ${table.level}`);
          if (isLeafState(s)) {
            if (table.level > 2) throw new Error(`leaf at level ${table.level}`);
            const e = ctx.pamt.get(table.hpa[i]);
            if (e.pt !== PageType.PT_REG || e.owner !== tdr)
              throw new Error("leaf maps a page the TD does not own");
          }
          if (child) {
            const e = ctx.pamt.get(child.tableHpa);
            if (e.pt !== PageType.PT_EPT || e.owner !== tdr)
              throw new Error("SEPT page not PT_EPT of this TD");
          }
        }
        if (used !== table.used) throw new Error("SEPT table used-count mismatch");
      }
    }
  }
}

/** Coverage counters of a fuzz run. */
export interface FuzzStats {
  interruptedAccepts: number;
}

/** Runs `sequences` random sequences of 1..8 calls, checking invariants after each call. Returns calls made. */
export function fuzz(seed: number, sequences: number, resetEvery = 400, stats?: FuzzStats): number {
  const rng = new Rng(seed);
  let world = new FuzzWorld(rng);
  let calls = 0;
  const collect = () => {
    calls += world.calls;
    if (stats) stats.interruptedAccepts += world.interruptedAccepts;
  };
  for (let s = 0; s < sequences; s++) {
    if (s % resetEvery === 0 && s > 0) {
      collect();
      world = new FuzzWorld(rng);
    }
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      world.step();
      world.checkInvariants();
    }
  }
  collect();
  return calls;
}
