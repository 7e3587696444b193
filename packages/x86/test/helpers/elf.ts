// Minimal ELF reader (ELF32 and ELF64) for tests: the bytes of each section of an object file.
import { readFileSync } from "node:fs";

export function elfSections(path: string): Map<string, Uint8Array> {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
  const is64 = buf[4] === 2;
  const shoff = is64 ? Number(dv.getBigUint64(0x28, true)) : dv.getUint32(0x20, true);
  const shentsize = dv.getUint16(is64 ? 0x3a : 0x2e, true);
  const shnum = dv.getUint16(is64 ? 0x3c : 0x30, true);
  const shstrndx = dv.getUint16(is64 ? 0x3e : 0x32, true);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: dv.getUint32(o, true),
      type: dv.getUint32(o + 4, true),
      offset: is64 ? Number(dv.getBigUint64(o + 0x18, true)) : dv.getUint32(o + 0x10, true),
      size: is64 ? Number(dv.getBigUint64(o + 0x20, true)) : dv.getUint32(o + 0x14, true),
    };
  };
  const strtab = sh(shstrndx);
  const name = (off: number) => {
    let e = strtab.offset + off;
    while (buf[e] !== 0) e++;
    return buf.subarray(strtab.offset + off, e).toString("latin1");
  };
  const out = new Map<string, Uint8Array>();
  for (let i = 1; i < shnum; i++) {
    const s = sh(i);
    if (s.type === 8)
      out.set(name(s.name), new Uint8Array(s.size)); // NOBITS
    else out.set(name(s.name), new Uint8Array(buf.subarray(s.offset, s.offset + s.size)));
  }
  return out;
}
