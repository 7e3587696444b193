// Minimal ELF64 reader for tests: the bytes of each section of a relocatable object (`as -o`).
import { readFileSync } from "node:fs";

export function elfSections(path: string): Map<string, Uint8Array> {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46 || buf[4] !== 2) throw new Error(`${path}: not an ELF64 file`);
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  const shstrndx = dv.getUint16(0x3e, true);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: dv.getUint32(o, true),
      type: dv.getUint32(o + 4, true),
      offset: Number(dv.getBigUint64(o + 0x18, true)),
      size: Number(dv.getBigUint64(o + 0x20, true)),
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
