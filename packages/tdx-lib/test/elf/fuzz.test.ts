// Random corruption of real gcc-built ELF files: loadElf must either load the file or throw
// an ElfError naming a field — never another exception, never a hang. The default slice
// is CI-sized; TDX_LIB_ELF_FUZZ_ITERATIONS raises it for a long campaign.
import { describe, expect, it } from "vitest";
import { ElfError, loadElf } from "../../src/index.js";
import { gccAvailable, useCompiledGuests } from "./gcc-guest.js";

const ITERATIONS = Number(process.env.TDX_LIB_ELF_FUZZ_ITERATIONS ?? 1500);

/** Small deterministic PRNG (mulberry32) so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Mutations weighted towards the headers and tables, where the parser makes decisions. */
function mutate(original: Uint8Array, next: () => number): Uint8Array {
  const bytes = original.slice();
  const count = 1 + Math.floor(next() * 4);
  for (let i = 0; i < count; i++) {
    const inHeaders = next() < 0.7;
    const at = inHeaders
      ? Math.floor(next() * Math.min(bytes.length, 0x400))
      : Math.floor(next() * bytes.length);
    const kind = next();
    if (kind < 0.5) bytes[at] = Math.floor(next() * 256);
    else if (kind < 0.75) bytes[at] ^= 1 << Math.floor(next() * 8);
    else if (kind < 0.9) bytes[at] = [0, 0xff, 0x7f, 0x80][Math.floor(next() * 4)];
    else return bytes.slice(0, Math.floor(next() * bytes.length));
  }
  return bytes;
}

describe.skipIf(!gccAvailable())("loadElf under random corruption", () => {
  const compiled = useCompiledGuests();

  for (const build of ["exec", "pie", "relr"] as const) {
    it(`${build}: every mutation loads or fails with an ElfError naming a field`, () => {
      let loaded = 0;
      let refused = 0;
      for (let seed = 1; seed <= ITERATIONS; seed++) {
        const bytes = mutate(compiled.guests[build].bytes, random(seed * 7919 + build.length));
        try {
          const elf = loadElf(bytes);
          for (const chunk of elf.chunks) expect(chunk.bytes.length % 4096).toBe(0);
          loaded++;
        } catch (error) {
          if (!(error instanceof ElfError)) {
            throw new Error(`seed ${seed} (${build}): ${String(error)} is not an ElfError`);
          }
          expect(error.field.length).toBeGreaterThan(0);
          refused++;
        }
      }
      expect(loaded + refused).toBe(ITERATIONS);
      expect(refused).toBeGreaterThan(0);
    });
  }
});
