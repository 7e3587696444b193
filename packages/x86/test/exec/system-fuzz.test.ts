// Robustness slice for the system helpers: random descriptor tables, TSS, stack contents and
// CPU state; every call must end in success, an architectural exception (X86Exception with a
// valid vector and error code), "shutdown", or UnsupportedError — never any other JS error.
// X86_SYSTEM_FUZZ sets the number of trials (CI default 3000).

import { describe, expect, it } from "vitest";
import { writeCr0, writeCr3, writeCr4 } from "../../src/exec/control.js";
import { deliverEvent, EventKind } from "../../src/exec/deliver.js";
import { loadDataSegment } from "../../src/exec/descriptor.js";
import { UnsupportedError, X86Exception } from "../../src/exec/exception.js";
import { farCall, farJump, farReturn, lldt, ltr } from "../../src/exec/far.js";
import { popf } from "../../src/exec/flag-insns.js";
import { writeRflags } from "../../src/exec/flags.js";
import { iret } from "../../src/exec/iret.js";
import { EFER_LMA, EFER_LME, isCanonical, MSR, writeMsr } from "../../src/exec/msr.js";
import { RIP_HI, RSP } from "../../src/exec/regs.js";
import { AR_L, SEG_CS, SEG_DS, SEG_FS, SEG_SS, SEG_TR, segAttr, setSegment } from "../../src/exec/segment.js";
import { CpuState, CR0_PE, CR0_PG, CR4_PAE } from "../../src/exec/state.js";
import type { SystemMemory } from "../../src/exec/system-memory.js";
import { Rng } from "./rng.js";

/** 64 KiB of random bytes mirrored over the whole address space; addresses with bit 15 and
 * bit 14 both set are "not present" when `holes` is on. */
class WrapMemory implements SystemMemory {
  readonly bytes = new Uint8Array(0x10000);
  holes = false;
  private at(lo: number, write: boolean): number {
    const a = lo & 0xffff;
    if (this.holes && (a & 0xc000) === 0xc000) throw new X86Exception(14, write ? 2 : 0, "hole");
    return a;
  }
  readU32(lo: number): number {
    const a = this.at(lo, false);
    const b = this.bytes;
    return b[a] | (b[(a + 1) & 0xffff] << 8) | (b[(a + 2) & 0xffff] << 16) | (b[(a + 3) & 0xffff] << 24);
  }
  writeU32(lo: number, _hi: number, v: number): void {
    const a = this.at(lo, true);
    for (let i = 0; i < 4; i++) this.bytes[(a + i) & 0xffff] = (v >>> (8 * i)) & 0xff;
  }
}

const TRIALS = Number(process.env.X86_SYSTEM_FUZZ ?? 3000);

function randomCpu(g: Rng, mem: WrapMemory): CpuState {
  const cpu = new CpuState();
  // Fill with a fast xorshift seeded from the test RNG (BigInt per byte would dominate).
  let x = Number(g.next() & 0xffffffffn) | 1;
  for (let i = 0; i < mem.bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    mem.bytes[i] = x & 0xff;
  }
  // Plant plausible descriptors so that some paths get deep instead of failing at once.
  const plausible = [
    0x00209a0000000000n,
    0x0000920000000000n,
    0x0020fa0000000000n,
    0x0000f20000000000n,
    0x00cf9a000000ffffn,
    0x00cff2000000ffffn,
  ];
  for (let i = 1; i < 16; i++) {
    if (g.int(2)) {
      const d = plausible[g.int(plausible.length)];
      for (let k = 0; k < 8; k++) mem.bytes[0x1000 + i * 8 + k] = Number((d >> BigInt(8 * k)) & 0xffn);
    }
  }
  mem.holes = g.int(4) === 0;
  const long = g.int(2) === 1;
  cpu.cr0 = CR0_PE | (long ? CR0_PG : 0) | 0;
  cpu.cr4 = long ? CR4_PAE : 0;
  cpu.efer = long ? EFER_LME | EFER_LMA : 0;
  cpu.gdtrBaseLo = 0x1000;
  cpu.gdtrLimit = g.int(3) ? 0x7f : g.int(0x10000);
  cpu.idtrBaseLo = 0x2000;
  cpu.idtrLimit = g.int(3) ? 0xfff : g.int(0x10000);
  const user = g.int(2) === 1;
  const csAttr = long ? (user ? 0xa0fb : 0xa09b) : user ? 0xc0fb : 0xc09b;
  setSegment(cpu.seg, SEG_CS, user ? 0x1b : 0x08, 0, 0, -1, g.int(8) ? csAttr : g.int(0x20000));
  setSegment(cpu.seg, SEG_SS, user ? 0x23 : 0x10, 0, 0, -1, user ? 0xc0f3 : 0xc093);
  setSegment(
    cpu.seg,
    SEG_TR,
    0x40,
    0x3000,
    0,
    g.int(3) ? 0x67 : g.int(0x100),
    g.int(4) ? 0x8b : g.int(0x10000),
  );
  cpu.r[RSP << 1] = 0x8000 + g.int(0x100) * 4;
  writeRflags(cpu.r, Number(g.next() & 0x3f7fd5n) | (g.int(2) << 9));
  return cpu;
}

function runOne(g: Rng, cpu: CpuState, mem: WrapMemory): void {
  const sel = g.int(4) ? g.int(0x80) : g.int(0x10000);
  switch (g.int(12)) {
    case 0:
    case 1:
    case 2: {
      const kinds = Object.values(EventKind);
      const res = deliverEvent(cpu, mem, {
        vector: g.int(256),
        kind: kinds[g.int(kinds.length)],
        errorCode: g.int(0x10000),
      });
      if (res === "delivered" && cpu.efer & EFER_LMA) {
        expect(segAttr(cpu.seg, SEG_CS) & AR_L).toBe(AR_L);
        expect(isCanonical(cpu.r[RIP_HI], 57)).toBe(true);
      }
      return;
    }
    case 3:
      iret(cpu, mem, cpu.efer & EFER_LMA && g.int(2) ? 64 : 32);
      return;
    case 4:
      farJump(cpu, mem, sel, Number(g.next() & 0xffffffffn) | 0, 0);
      return;
    case 5:
      farCall(cpu, mem, sel, g.int(0x10000), 0, cpu.efer & EFER_LMA ? 64 : 32);
      return;
    case 6:
      farReturn(cpu, mem, cpu.efer & EFER_LMA && g.int(2) ? 64 : 32, g.int(3) * 4);
      return;
    case 7:
      loadDataSegment(cpu, mem, [SEG_DS, SEG_SS, SEG_FS][g.int(3)], sel);
      return;
    case 8:
      if (g.int(2)) ltr(cpu, mem, sel);
      else lldt(cpu, mem, sel);
      return;
    case 9: {
      const v = Number(g.next() & 0xffffffffn) | 0;
      const which = g.int(3);
      if (which === 0) writeCr0(cpu, v, g.int(8) ? 0 : 1);
      else if (which === 1) writeCr4(cpu, v & 0x1fffff, 0);
      else writeCr3(cpu, v, g.int(4) ? 0 : Number(g.next() & 0xffffffffn) | 0);
      return;
    }
    case 10: {
      const msrs = Object.values(MSR);
      writeMsr(
        cpu,
        msrs[g.int(msrs.length)],
        Number(g.next() & 0xffffffffn) | 0,
        g.int(3) ? 0 : Number(g.next() & 0xffffffffn) | 0,
      );
      return;
    }
    default:
      popf(cpu, Number(g.next() & 0xffffffffn), [16, 32, 64][g.int(3)] as 16 | 32 | 64);
  }
}

describe("system helpers under random state", () => {
  it(
    `end in success, an architectural exception or a stop in ${TRIALS} trials`,
    () => {
      const g = new Rng(0xf022);
      const mem = new WrapMemory();
      const outcomes = { ok: 0, exception: 0, unsupported: 0 };
      for (let t = 0; t < TRIALS; t++) {
        const cpu = randomCpu(g, mem);
        for (let step = 0; step < 4; step++) {
          try {
            runOne(g, cpu, mem);
            outcomes.ok++;
          } catch (e) {
            if (e instanceof UnsupportedError) outcomes.unsupported++;
            else if (e instanceof X86Exception) {
              expect(e.vector).toBeGreaterThanOrEqual(0);
              expect(e.vector).toBeLessThan(32);
              expect(e.errorCode).toBeGreaterThanOrEqual(-1);
              expect(e.errorCode).toBeLessThan(0x10000);
              outcomes.exception++;
            } else throw e;
          }
        }
      }
      // Every kind of outcome happens, so the slice is not trivially failing early.
      expect(outcomes.ok).toBeGreaterThan(TRIALS / 4);
      expect(outcomes.exception).toBeGreaterThan(TRIALS / 4);
    },
    Math.max(30_000, TRIALS * 2),
  );
});
