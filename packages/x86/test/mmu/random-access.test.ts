// Randomized agreement with a byte-level reference model: random 4 KiB mappings (aliases,
// read-only, user/supervisor, pages colliding in the TLB), random accesses of 1–16 bytes biased
// towards page ends, privilege switches, remaps followed by INVLPG, CR3 reloads. Every access's
// data, fault (vector, error code, CR2) and effect on memory must match the model.
import { SparseMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PAE,
  FlatGuestPhysicalMap,
  MemoryFault,
  Mmu,
} from "../../src/mmu/index.js";
import { Guest, split } from "./helpers.js";

const FRAMES = 12;
const FRAME0 = 0x100_0000;
// Page slots of the window: pairs 256 pages apart collide in a 256-entry TLB.
const SLOTS = [0, 1, 2, 3, 256, 257, 258, 512, 513, 7, 8, 263];

interface Mapping {
  frame: number;
  writable: boolean;
  user: boolean;
}

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number) {
  let s = seed | 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/** A paging mode under test: its MMU, memory, the window's first VA, and how to edit a leaf entry. */
interface Target {
  mmu: Mmu;
  memory: SparseMemory;
  va0: bigint;
  /** Writes the leaf entry of window page `slot` (no TLB maintenance). */
  setLeaf(slot: number, m: Mapping | undefined): void;
  reloadCr3(): void;
}

const leafBits = (m: Mapping | undefined) =>
  m === undefined ? 0 : (FRAME0 + m.frame * 4096) | 1 | (m.writable ? 2 : 0) | (m.user ? 4 : 0);

/** 4-level paging, tables from @tdxsim/memory's builder, the window in the upper part of the lower half. */
function longModeTarget(): Target {
  const g = new Guest({ tlbSize: 256 });
  const va0 = 0x5555_0000_0000n;
  // Map every window page once so its leaf table exists; the test then edits the leaves.
  for (const slot of SLOTS) g.map(va0 + BigInt(slot) * 4096n, FRAME0, 4096, { user: true });
  return {
    mmu: g.mmu,
    memory: g.memory,
    va0,
    setLeaf: (slot, m) => g.setEntry(va0 + BigInt(slot) * 4096n, BigInt(leafBits(m) >>> 0)),
    reloadCr3: () => g.mmu.writeCr3(g.builder.root),
  };
}

/** 32-bit or PAE paging with hand-written tables; the window starts at 1 GiB. */
function legacyTarget(pae: boolean): Target {
  const memory = new SparseMemory(2 ** 32);
  const mmu = new Mmu({ map: new FlatGuestPhysicalMap(memory), tlbSize: 256 });
  const va0 = 0x4000_0000n;
  const root = pae ? 0x6000 : 0x1000;
  const leafAddress = (slot: number): number => {
    const va = Number(va0) + slot * 4096;
    if (!pae) return 0x2000 + Math.floor(slot / 1024) * 0x1000 + ((va >>> 12) & 1023) * 4;
    return 0x8000 + Math.floor(slot / 512) * 0x1000 + ((va >>> 12) & 511) * 8;
  };
  if (pae) {
    memory.write32(root + 8, 0x7000 | 1); // PDPTE 1: VA 1..2 GiB
    memory.write32(0x7000, 0x8000 | 7);
    memory.write32(0x7008, 0x9000 | 7);
  } else {
    memory.write32(0x1000 + 256 * 4, 0x2000 | 7); // PDE 256: VA 1 GiB + 0..4 MiB
  }
  mmu.writeCr3(root);
  mmu.setControlRegisters(CR0_PE | CR0_PG | CR0_WP, pae ? CR4_PAE : 0, 0);
  return {
    mmu,
    memory,
    va0,
    setLeaf: (slot, m) => memory.write32(leafAddress(slot), leafBits(m) >>> 0),
    reloadCr3: () => mmu.writeCr3(root),
  };
}

function run(seed: number, ops: number, g: Target) {
  const rand = rng(seed);
  const model = new Uint8Array(FRAMES * 4096);
  const maps = new Map<number, Mapping | undefined>();
  const VA0 = g.va0;
  const pteOf = (slot: number) => VA0 + BigInt(slot) * 4096n;

  const setMapping = (slot: number, m: Mapping | undefined) => {
    maps.set(slot, m);
    g.setLeaf(slot, m);
    g.mmu.invlpg(...split(pteOf(slot)));
  };
  const randomMapping = (): Mapping | undefined =>
    rand(5) === 0 ? undefined : { frame: rand(FRAMES), writable: rand(4) !== 0, user: rand(3) !== 0 };

  for (const slot of SLOTS) setMapping(slot, randomMapping());
  g.mmu.flushAll();

  let user = false;
  const seen = { faults: 0, secondPageFaults: 0, reads: 0, writes: 0, crossing: 0 };
  for (let op = 0; op < ops; op++) {
    const r = rand(100);
    if (r < 3) {
      user = !user;
      g.mmu.setPrivilege(user ? 3 : 0, false);
      continue;
    }
    if (r < 6) {
      setMapping(SLOTS[rand(SLOTS.length)], randomMapping());
      continue;
    }
    if (r < 7) {
      g.reloadCr3();
      continue;
    }
    const size = [1, 2, 4, 8, 16][rand(5)];
    const slotIndex = rand(SLOTS.length);
    const offset = rand(2) === 0 ? 4096 - rand(20) : rand(4096);
    const addr = pteOf(SLOTS[slotIndex]) + BigInt(offset);
    const write = rand(2) === 0;
    const data = Array.from({ length: size }, () => rand(256));

    // Model: translate every byte; the first refusal is the fault.
    let expectedFault: { errorCode: number; cr2: bigint } | undefined;
    const phys: number[] = [];
    for (let k = 0; k < size && expectedFault === undefined; k++) {
      const a = addr + BigInt(k);
      const slot = Number((a - VA0) / 4096n);
      const m = maps.get(slot);
      const code = (write ? 2 : 0) | (user ? 4 : 0);
      if (m === undefined) expectedFault = { errorCode: code, cr2: a };
      else if ((user && !m.user) || (write && !m.writable)) expectedFault = { errorCode: code | 1, cr2: a };
      else phys.push(m.frame * 4096 + Number(a % 4096n));
    }
    const before = model.slice();
    const [lo, hi] = split(addr);
    let got: number[] | MemoryFault;
    try {
      got = access(g, lo, hi, size, write, data);
    } catch (e) {
      if (!(e instanceof MemoryFault)) throw e;
      got = e;
    }
    const what = `seed ${seed} op ${op}: ${write ? "write" : "read"} ${size} at 0x${addr.toString(16)} (${user ? "user" : "supervisor"})`;
    if (expectedFault !== undefined) {
      expect(got instanceof MemoryFault, what).toBe(true);
      const f = got as MemoryFault;
      expect({ vector: f.vector, errorCode: f.errorCode, cr2: f.cr2 }, what).toEqual({
        vector: 14,
        ...expectedFault,
      });
      expectMemory(g, before, what);
      seen.faults++;
      if (expectedFault.cr2 !== addr) seen.secondPageFaults++;
      continue;
    }
    if (offset + size > 4096) seen.crossing++;
    if (write) seen.writes++;
    else seen.reads++;
    expect(got instanceof MemoryFault ? got.toString() : "ok", what).toBe("ok");
    if (write) {
      for (let k = 0; k < phys.length; k++) model[phys[k]] = data[k];
    } else {
      expect(got, what).toEqual(phys.map((p) => model[p]));
    }
    if (op % 64 === 0) expectMemory(g, model, what);
  }
  expectMemory(g, model, `seed ${seed} at the end`);
  return seen;
}

/** Compares guest frames with the model, reporting the first differing byte (a full diff would be huge). */
function expectMemory(g: Target, model: Uint8Array, what: string): void {
  const actual = g.memory.readBytes(FRAME0, model.length);
  const i = actual.findIndex((b, k) => b !== model[k]);
  expect(
    i === -1 ? "same" : `frame ${i >> 12} byte 0x${(i & 4095).toString(16)}: ${actual[i]} != ${model[i]}`,
    what,
  ).toBe("same");
}

/** One access through the MMU with the accessor for its size; returns the bytes read. */
function access(g: Target, lo: number, hi: number, size: number, write: boolean, data: number[]): number[] {
  const m = g.mmu;
  const bytes = new Uint8Array(16);
  bytes.set(data);
  const words = new Int32Array(bytes.buffer);
  const out = new Int32Array(4);
  if (write) {
    if (size === 1) m.write8(lo, hi, data[0]);
    else if (size === 2) m.write16(lo, hi, data[0] | (data[1] << 8));
    else if (size === 4) m.write32(lo, hi, words[0]);
    else if (size === 8) m.write64(lo, hi, words[0], words[1]);
    else m.write128(lo, hi, words, 0);
    return [];
  }
  if (size === 1) out[0] = m.read8(lo, hi);
  else if (size === 2) out[0] = m.read16(lo, hi);
  else if (size === 4) out[0] = m.read32(lo, hi);
  else if (size === 8) {
    out[0] = m.read64(lo, hi);
    out[1] = m.hi;
  } else m.read128(lo, hi, out, 0);
  return [...new Uint8Array(out.buffer).subarray(0, size)];
}

describe("randomized agreement with a byte-level model", () => {
  const modes: [string, () => Target][] = [
    ["4-level", longModeTarget],
    ["PAE", () => legacyTarget(true)],
    ["32-bit", () => legacyTarget(false)],
  ];
  for (const [mode, target] of modes)
    for (const seed of [1, 2, 3]) {
      it(`${mode} paging, seed ${seed}: 4000 operations`, () => {
        const seen = run(seed, 4000, target());
        // The mix really exercises faults (also on the second page), reads, writes and crossings.
        for (const count of Object.values(seen)) expect(count).toBeGreaterThan(20);
      });
    }
});
