// Hand-corruption of a valid ELF64 file: patch one field, keep everything else intact.

export class ElfPatcher {
  readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(original: Uint8Array) {
    this.bytes = original.slice();
    this.view = new DataView(this.bytes.buffer);
  }

  u8(offset: number, value: number): this {
    this.bytes[offset] = value;
    return this;
  }
  u16(offset: number, value: number): this {
    this.view.setUint16(offset, value, true);
    return this;
  }
  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value, true);
    return this;
  }
  u64(offset: number, value: bigint | number): this {
    this.view.setBigUint64(offset, BigInt(value), true);
    return this;
  }
  readU32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  readU64(offset: number): number {
    return Number(this.view.getBigUint64(offset, true));
  }

  get phoff(): number {
    return this.readU64(32);
  }
  get phnum(): number {
    return this.view.getUint16(56, true);
  }
  /** File offset of program header `index`. */
  phdr(index: number): number {
    return this.phoff + index * 56;
  }
  /** Index of the n-th program header of `type`. */
  phdrIndex(type: number, nth = 0): number {
    let seen = 0;
    for (let i = 0; i < this.phnum; i++) {
      if (this.readU32(this.phdr(i)) === type && seen++ === nth) return i;
    }
    throw new Error(`no program header of type ${type}`);
  }
  /** File offset of the dynamic entry with tag `tag`. */
  dynamicEntry(tag: number): number {
    const dyn = this.phdr(this.phdrIndex(2));
    const offset = this.readU64(dyn + 8);
    const size = this.readU64(dyn + 32);
    for (let at = offset; at < offset + size; at += 16) {
      if (this.readU64(at) === tag) return at;
    }
    throw new Error(`no dynamic entry with tag ${tag}`);
  }
  /** File offset of the first RELA entry (via DT_RELA, which is a link-time address = file offset here). */
  firstRela(): number {
    const vaddr = this.readU64(this.dynamicEntry(7) + 8);
    for (let i = 0; i < this.phnum; i++) {
      const ph = this.phdr(i);
      if (this.readU32(ph) !== 1) continue;
      const pVaddr = this.readU64(ph + 16);
      const filesz = this.readU64(ph + 32);
      if (vaddr >= pVaddr && vaddr < pVaddr + filesz) return this.readU64(ph + 8) + (vaddr - pVaddr);
    }
    throw new Error("DT_RELA not in a segment");
  }
}
