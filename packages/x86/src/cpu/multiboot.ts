// Loading a multiboot (v1) kernel ELF the way a multiboot loader does: PT_LOAD segments copied to
// their physical addresses, a minimal multiboot information structure, and the machine state the
// specification requires at entry (32-bit protected mode, flat segments, paging off, IF=0,
// EAX = 0x2BADB002, EBX = the information structure's physical address).
import { writeRflags } from "../exec/flags.js";
import { RAX, RBX, RIP_HI, RIP_LO } from "../exec/regs.js";
import { AR_DB, AR_G, AR_P, AR_S, SEG_CS, setSegment } from "../exec/segment.js";
import { CR0_ET, CR0_PE } from "../exec/state.js";
import { GPA_OK, GpaTranslation, type GuestPhysicalMap } from "../mmu/second-stage.js";
import type { Cpu } from "./cpu.js";

export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** Copies bytes into guest-physical memory through the second stage (host-side write: no code-page tracking). */
export function writeGuestPhysical(map: GuestPhysicalMap, gpa: number, bytes: Uint8Array): void {
  const t = new GpaTranslation();
  let done = 0;
  while (done < bytes.length) {
    const a = gpa + done;
    const status = map.translate(a, 2, t);
    if (status !== GPA_OK)
      throw new RangeError(`writeGuestPhysical: GPA 0x${a.toString(16)} has no memory (status ${status})`);
    const off = a % 4096;
    const n = Math.min(4096 - off, bytes.length - done);
    t.bytes.set(bytes.subarray(done, done + n), off);
    done += n;
  }
}

export interface ElfSegment {
  paddr: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
}

/** Entry point and PT_LOAD segments of an ELF32 or ELF64 little-endian x86 executable. */
export function parseElf(image: Uint8Array): { entry: number; segments: ElfSegment[] } {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 52 || v.getUint32(0) !== 0x7f454c46)
    throw new RangeError("parseElf: not an ELF file (bad magic)");
  const is64 = image[4] === 2;
  if (image[5] !== 1) throw new RangeError("parseElf: not little-endian");
  const entry = is64 ? Number(v.getBigUint64(24, true)) : v.getUint32(24, true);
  const phoff = is64 ? Number(v.getBigUint64(32, true)) : v.getUint32(28, true);
  const phentsize = v.getUint16(is64 ? 54 : 42, true);
  const phnum = v.getUint16(is64 ? 56 : 44, true);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + phentsize > image.length) throw new RangeError(`parseElf: program header ${i} beyond the file`);
    if (v.getUint32(p, true) !== 1) continue; // PT_LOAD
    if (is64) {
      segments.push({
        fileOffset: Number(v.getBigUint64(p + 8, true)),
        paddr: Number(v.getBigUint64(p + 24, true)),
        fileSize: Number(v.getBigUint64(p + 32, true)),
        memSize: Number(v.getBigUint64(p + 40, true)),
      });
    } else {
      segments.push({
        fileOffset: v.getUint32(p + 4, true),
        paddr: v.getUint32(p + 12, true),
        fileSize: v.getUint32(p + 16, true),
        memSize: v.getUint32(p + 20, true),
      });
    }
  }
  return { entry, segments };
}

/**
 * Loads a multiboot kernel and sets the entry state. `infoGpa` is where the multiboot information
 * structure goes (flags = mem_lower/mem_upper valid); `memoryBytes` sizes mem_upper.
 */
export function loadMultiboot(cpu: Cpu, image: Uint8Array, memoryBytes: number, infoGpa = 0x7000): number {
  const { entry, segments } = parseElf(image);
  const map = cpu.mmu.map;
  for (const s of segments) {
    if (s.fileOffset + s.fileSize > image.length)
      throw new RangeError("loadMultiboot: segment beyond the file");
    writeGuestPhysical(map, s.paddr, image.subarray(s.fileOffset, s.fileOffset + s.fileSize));
    if (s.memSize > s.fileSize)
      writeGuestPhysical(map, s.paddr + s.fileSize, new Uint8Array(s.memSize - s.fileSize));
  }
  const info = new Uint8Array(88);
  const iv = new DataView(info.buffer);
  iv.setUint32(0, 1, true); // flags: mem_* valid
  iv.setUint32(4, 639, true);
  iv.setUint32(8, Math.max(0, Math.floor((memoryBytes - 0x100000) / 1024)), true);
  writeGuestPhysical(map, infoGpa, info);
  const st = cpu.st;
  st.cr0 = CR0_PE | CR0_ET;
  st.cr4 = 0;
  st.efer = 0;
  const code = AR_P | AR_S | 0xb | AR_DB | AR_G;
  const data = AR_P | AR_S | 0x3 | AR_DB | AR_G;
  for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0x10, 0, 0, -1, data);
  setSegment(st.seg, SEG_CS, 0x08, 0, 0, -1, code);
  const r = st.r;
  writeRflags(r, 0x2);
  r[RAX << 1] = MULTIBOOT_BOOTLOADER_MAGIC | 0;
  r[RBX << 1] = infoGpa;
  r[RIP_LO] = entry | 0;
  r[RIP_HI] = 0;
  cpu.flushDecodedBlocks();
  cpu.syncMode();
  return entry;
}
