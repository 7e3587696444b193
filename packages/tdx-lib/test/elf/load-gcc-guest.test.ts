import { describe, expect, it } from "vitest";
import { DEFAULT_PIE_LOAD_BASE, ElfError, type LoadedElf, loadElf } from "../../src/index.js";
import { readImage, readU64 } from "./chunk-reader.js";
import {
  type CompiledGuest,
  gccAvailable,
  readelfRelativeRelocations,
  readelfRelrOffsets,
  readelfSegments,
  readelfSymbols,
  useCompiledGuests,
} from "./gcc-guest.js";

const PAGE = 4096;

describe.skipIf(!gccAvailable())("loadElf on gcc-built freestanding guests", () => {
  const compiled = useCompiledGuests();

  function expectWellFormedChunks(elf: LoadedElf): void {
    let previousEnd = -1;
    for (const chunk of elf.chunks) {
      expect(chunk.gpa % PAGE).toBe(0);
      expect(chunk.bytes.length % PAGE).toBe(0);
      expect(chunk.bytes.length).toBeGreaterThan(0);
      expect(chunk.gpa).toBeGreaterThanOrEqual(previousEnd);
      previousEnd = chunk.gpa + chunk.bytes.length;
    }
    expect(elf.start).toBe(elf.chunks[0].gpa);
    expect(elf.end).toBe(previousEnd);
  }

  /** Checks the loader against readelf's view and against the C source's initial values. */
  function expectGuestImage(elf: LoadedElf, guest: CompiledGuest): void {
    const base = elf.loadBase;
    const oracle = readelfSymbols(guest.path);
    for (const name of ["_start", "result_value", "counter", "counter_ptr", "bss_array", "message"]) {
      expect(elf.symbol(name).address, name).toBe(oracle.get(name)! + base);
    }
    expect(elf.entry).toBe(elf.symbol("_start").address);
    expect(elf.symbol("_start").type).toBe(2); // STT_FUNC
    expect(elf.symbol("result_value").size).toBe(8);

    // .data initial value, .bss zeroed, pointers relocated to the run-time addresses.
    expect(readU64(elf, elf.symbol("result_value").address)).toBe(0x1122334455667788n);
    expect(readImage(elf, elf.symbol("bss_array").address, 8192).every((b) => b === 0)).toBe(true);
    const counter = BigInt(elf.symbol("counter").address);
    expect(readU64(elf, elf.symbol("counter_ptr").address)).toBe(counter);
    expect(readU64(elf, elf.symbol("counter_ptr_ro").address)).toBe(counter);
    expect(readU64(elf, elf.symbol("message_ptr").address)).toBe(BigInt(elf.symbol("message").address));
    expect(new TextDecoder().decode(readImage(elf, elf.symbol("message").address, 6))).toBe("tdxsim");

    // Segments as readelf lists them, moved by the load base.
    const segments = readelfSegments(guest.path);
    expect(elf.segments.map((s) => [s.address, s.fileSize, s.memorySize])).toEqual(
      segments.map((s) => [s.vaddr + base, s.filesz, s.memsz]),
    );
    expect(
      elf.segments.map((s) => `${s.readable ? "R" : ""}${s.writable ? "W" : ""}${s.executable ? "E" : ""}`),
    ).toEqual(segments.map((s) => s.flags));

    // Permissions per page: code is executable and read-only, data writable and not executable.
    const chunkAt = (address: number) =>
      elf.chunks.find((c) => address >= c.gpa && address < c.gpa + c.bytes.length)!;
    expect(chunkAt(elf.entry)).toMatchObject({ executable: true, writable: false, readable: true });
    expect(chunkAt(elf.symbol("result_value").address)).toMatchObject({ executable: false, writable: true });
    expectWellFormedChunks(elf);
  }

  it("loads the ET_EXEC build at its link addresses", () => {
    const elf = loadElf(compiled.guests.exec.bytes);
    expect(elf.type).toBe("ET_EXEC");
    expect(elf.loadBase).toBe(0);
    expect(elf.relocationsApplied).toBe(0);
    expect(elf.entry).toBe(0x401000);
    expectGuestImage(elf, compiled.guests.exec);
    // The first byte of the code is the first byte of .text in the file.
    const text = readelfSegments(compiled.guests.exec.path).find((s) => s.flags === "RE")!;
    expect(readImage(elf, elf.entry, 16)).toEqual(
      compiled.guests.exec.bytes.subarray(text.offset, text.offset + 16),
    );
  });

  it("loads the static PIE at the default base and applies every R_X86_64_RELATIVE", () => {
    const elf = loadElf(compiled.guests.pie.bytes);
    expect(elf.type).toBe("ET_DYN");
    expect(elf.loadBase).toBe(DEFAULT_PIE_LOAD_BASE);
    const relocations = readelfRelativeRelocations(compiled.guests.pie.path);
    expect(relocations.length).toBeGreaterThanOrEqual(3);
    expect(elf.relocationsApplied).toBe(relocations.length);
    for (const { offset, addend } of relocations) {
      expect(readU64(elf, offset + elf.loadBase)).toBe(BigInt(addend + elf.loadBase));
    }
    expectGuestImage(elf, compiled.guests.pie);
  });

  it("loads the static PIE at a chosen base (GVA = GPA stays consistent)", () => {
    const base = 0x1234_5000;
    const elf = loadElf(compiled.guests.pie.bytes, { loadBase: base });
    expect(elf.loadBase).toBe(base);
    expect(elf.start).toBe(base);
    expectGuestImage(elf, compiled.guests.pie);
  });

  it("applies DT_RELR packed relocations", () => {
    const elf = loadElf(compiled.guests.relr.bytes, { loadBase: 0x800_0000 });
    const offsets = readelfRelrOffsets(compiled.guests.relr.path);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    expect(elf.relocationsApplied).toBe(offsets.length);
    expectGuestImage(elf, compiled.guests.relr);
  });

  it("loads a stripped file, and symbol lookup says why it fails", () => {
    const elf = loadElf(compiled.guests.stripped.bytes);
    expect(elf.symbols.size).toBe(0);
    expect(elf.entry).toBe(0x401000);
    expect(() => elf.symbol("_start")).toThrow(
      /symbol "_start": the file has no symbol table \(stripped\?\)/,
    );
  });

  it("names a missing symbol", () => {
    const elf = loadElf(compiled.guests.exec.bytes);
    expect(() => elf.symbol("no_such_thing")).toThrow(ElfError);
    expect(() => elf.symbol("no_such_thing")).toThrow(/symbol "no_such_thing": no such defined symbol/);
  });

  it("refuses a load base for ET_EXEC and an unaligned one for a PIE", () => {
    expect(() => loadElf(compiled.guests.exec.bytes, { loadBase: 0x10000 })).toThrow(
      /loadBase: 0x10000: an ET_EXEC image loads at its link addresses only/,
    );
    expect(() => loadElf(compiled.guests.pie.bytes, { loadBase: 0x10800 })).toThrow(
      /loadBase: 0x10800 is not a non-negative multiple of the image alignment 0x1000/,
    );
  });
});
