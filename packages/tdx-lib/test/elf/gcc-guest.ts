// Builds small freestanding C guests with the system gcc at test time, and reads `readelf`
// output as an independent oracle for what the loader should find.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export const GUEST_SOURCE = `
typedef unsigned long u64;
volatile u64 result_value = 0x1122334455667788UL;
static u64 counter;
u64 bss_array[1024];
u64 *const counter_ptr_ro = &counter;
u64 *counter_ptr = &counter;
static const char message[] = "tdxsim";
const char *message_ptr = message;

void _start(void)
{
	*counter_ptr += 1;
	result_value = *counter_ptr + message_ptr[0] + bss_array[3];
	for (;;)
		__asm__ volatile("hlt");
}
`;

const COMMON = ["-nostdlib", "-ffreestanding", "-O2", "-fno-stack-protector", "-fcf-protection=none"];

export const GUEST_BUILDS = {
  /** ET_EXEC at the link address 0x400000. */
  exec: ["-static", "-fno-pic", "-no-pie"],
  /** ET_DYN static PIE with R_X86_64_RELATIVE in DT_RELA. */
  pie: ["-static-pie", "-fPIE"],
  /** Static PIE with packed relative relocations (DT_RELR). */
  relr: ["-static-pie", "-fPIE", "-Wl,-z,pack-relative-relocs"],
  /** Non-PIE without a symbol table. */
  stripped: ["-static", "-fno-pic", "-no-pie", "-s"],
} as const;

export type GuestBuild = keyof typeof GUEST_BUILDS;

export function gccAvailable(): boolean {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    execFileSync("readelf", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface CompiledGuest {
  readonly bytes: Uint8Array;
  readonly path: string;
}

/** Compiles GUEST_SOURCE (or `source`) once per build into a fresh temp dir. */
export function compileGuests(source = GUEST_SOURCE): {
  guests: Record<GuestBuild, CompiledGuest>;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), "tdx-lib-elf-"));
  const sourcePath = join(dir, "guest.c");
  writeFileSync(sourcePath, source);
  const guests = {} as Record<GuestBuild, CompiledGuest>;
  for (const [name, flags] of Object.entries(GUEST_BUILDS) as [GuestBuild, readonly string[]][]) {
    const path = join(dir, name);
    execFileSync("gcc", [...COMMON, ...flags, "-o", path, sourcePath], { stdio: "pipe" });
    guests[name] = { bytes: new Uint8Array(readFileSync(path)), path };
  }
  return { guests, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles one ET_EXEC guest (COMMON + `flags`, e.g. -Wl,--defsym=...) and returns its bytes. */
export function compileGuest(source: string, flags: readonly string[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), "tdx-lib-elf-"));
  try {
    const sourcePath = join(dir, "guest.c");
    writeFileSync(sourcePath, source);
    const path = join(dir, "guest");
    execFileSync("gcc", [...COMMON, ...GUEST_BUILDS.exec, ...flags, "-o", path, sourcePath], {
      stdio: "pipe",
    });
    return new Uint8Array(readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * compileGuests once for the enclosing describe (beforeAll), cleaned up afterAll; the builds
 * are read as `compiled.guests` inside the tests.
 */
export function useCompiledGuests(source = GUEST_SOURCE): {
  readonly guests: Record<GuestBuild, CompiledGuest>;
} {
  let compiled: ReturnType<typeof compileGuests> | undefined;
  beforeAll(() => {
    compiled = compileGuests(source);
  });
  afterAll(() => compiled?.cleanup());
  return {
    get guests() {
      if (!compiled) throw new Error("the compiled guests exist only while the describe's tests run");
      return compiled.guests;
    },
  };
}

export interface ReadelfSegment {
  readonly type: string;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly flags: string;
}

export function readelfSegments(path: string): ReadelfSegment[] {
  const out = execFileSync("readelf", ["-lW", path], { encoding: "utf8" });
  const segments: ReadelfSegment[] = [];
  for (const line of out.split("\n")) {
    const m = line.match(
      /^\s+(LOAD)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x/,
    );
    if (m) {
      segments.push({
        type: m[1],
        offset: Number(m[2]),
        vaddr: Number(m[3]),
        filesz: Number(m[4]),
        memsz: Number(m[5]),
        flags: m[6].replace(/\s/g, ""),
      });
    }
  }
  return segments;
}

/** Link-time symbol values from `readelf -s` (defined symbols only). */
export function readelfSymbols(path: string): Map<string, number> {
  const out = execFileSync("readelf", ["-sW", path], { encoding: "utf8" });
  const symbols = new Map<string, number>();
  for (const line of out.split("\n")) {
    const m = line.match(/^\s+\d+:\s+([0-9a-f]+)\s+\d+\s+\w+\s+\w+\s+\w+\s+(\w+)\s+(\S+)$/);
    if (m && m[2] !== "UND") symbols.set(m[3], Number.parseInt(m[1], 16));
  }
  return symbols;
}

/** Relocation offsets and addends from `readelf -r` (RELATIVE only). */
export function readelfRelativeRelocations(path: string): { offset: number; addend: number }[] {
  const out = execFileSync("readelf", ["-rW", path], { encoding: "utf8" });
  const relocations: { offset: number; addend: number }[] = [];
  for (const line of out.split("\n")) {
    const m = line.match(/^([0-9a-f]{16})\s+[0-9a-f]+\s+R_X86_64_RELATIVE\s+([0-9a-f]+)/);
    if (m) relocations.push({ offset: Number.parseInt(m[1], 16), addend: Number.parseInt(m[2], 16) });
  }
  return relocations;
}

/** Offsets listed for a .relr.dyn section by `readelf -r`. */
export function readelfRelrOffsets(path: string): number[] {
  const out = execFileSync("readelf", ["-rW", path], { encoding: "utf8" });
  const section = out.split("'.relr.dyn'")[1] ?? "";
  return [...section.matchAll(/^([0-9a-f]{16})$/gm)].map((m) => Number.parseInt(m[1], 16));
}
