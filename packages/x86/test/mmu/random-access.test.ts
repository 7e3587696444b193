// Randomized agreement with a byte-level reference model: random 4 KiB mappings (aliases,
// read-only, user/supervisor, pages colliding in the TLB), random accesses of 1–16 bytes biased
// towards page ends, privilege switches, remaps followed by INVLPG, CR3 reloads. Every access's
// data, fault (vector, error code, CR2) and effect on memory must match the model.
import { describe, expect, it } from "vitest";
import { MemoryFault } from "../../src/mmu/index.js";
import { Guest, split } from "./helpers.js";

const VA0 = 0x5555_0000_0000n;
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

function run(seed: number, ops: number) {
  const rand = rng(seed);
  const g = new Guest({ tlbSize: 256 });
  const model = new Uint8Array(FRAMES * 4096);
  const maps = new Map<number, Mapping | undefined>();
  const pteOf = (slot: number) => VA0 + BigInt(slot) * 4096n;

  const setMapping = (slot: number, m: Mapping | undefined, first: boolean) => {
    maps.set(slot, m);
    const va = pteOf(slot);
    if (first) {
      if (m !== undefined) {
        g.map(va, FRAME0 + m.frame * 4096, 4096, { writable: m.writable, user: m.user });
      }
      return;
    }
    const value =
      m === undefined
        ? 0n
        : BigInt(FRAME0 + m.frame * 4096) | 1n | (m.writable ? 2n : 0n) | (m.user ? 4n : 0n);
    g.setEntry(va, value);
    g.mmu.invlpg(...split(va));
  };
  const randomMapping = (): Mapping | undefined =>
    rand(5) === 0 ? undefined : { frame: rand(FRAMES), writable: rand(4) !== 0, user: rand(3) !== 0 };

  // Every slot gets a leaf table entry (unmapped ones are mapped, then cleared), so remaps can edit it.
  for (const slot of SLOTS) {
    setMapping(slot, { frame: 0, writable: true, user: true }, true);
    setMapping(slot, randomMapping(), false);
  }
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
      setMapping(SLOTS[rand(SLOTS.length)], randomMapping(), false);
      continue;
    }
    if (r < 7) {
      g.mmu.writeCr3(g.builder.root);
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
function expectMemory(g: Guest, model: Uint8Array, what: string): void {
  const actual = g.memory.readBytes(FRAME0, model.length);
  const i = actual.findIndex((b, k) => b !== model[k]);
  expect(
    i === -1 ? "same" : `frame ${i >> 12} byte 0x${(i & 4095).toString(16)}: ${actual[i]} != ${model[i]}`,
    what,
  ).toBe("same");
}

/** One access through the MMU with the accessor for its size; returns the bytes read. */
function access(g: Guest, lo: number, hi: number, size: number, write: boolean, data: number[]): number[] {
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
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: 4000 operations`, () => {
      const seen = run(seed, 4000);
      // The mix really exercises faults (also on the second page), reads, writes and crossings.
      for (const count of Object.values(seen)) expect(count).toBeGreaterThan(20);
    });
  }
});
