// The 16 general-purpose registers a TDCALL exit exposes to the VMM (TDH.VP.ENTER output,
// x86 numbering: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15), held
// as 32-bit halves so the hot TDVMCALL paths never need BigInt; bigint at the edges.
import { Reg } from "@tdxsim/tdx-module";

export const Gpr = Reg;

export class GprFile {
  /** [lo0, hi0, lo1, hi1, ...] */
  readonly words = new Uint32Array(32);

  lo(n: number): number {
    return this.words[2 * n]!;
  }
  hi(n: number): number {
    return this.words[2 * n + 1]!;
  }
  get(n: number): bigint {
    return (BigInt(this.words[2 * n + 1]!) << 32n) | BigInt(this.words[2 * n]!);
  }
  set(n: number, value: bigint): void {
    if (value >= 0n && value <= 0xffffffffn) {
      this.words[2 * n] = Number(value);
      this.words[2 * n + 1] = 0;
      return;
    }
    const v = BigInt.asUintN(64, value);
    this.words[2 * n] = Number(v & 0xffffffffn);
    this.words[2 * n + 1] = Number(v >> 32n);
  }
  setLoHi(n: number, lo: number, hi: number): void {
    this.words[2 * n] = lo;
    this.words[2 * n + 1] = hi;
  }
  /** True iff register n holds exactly the small non-negative integer `value` (< 2^32). */
  is(n: number, value: number): boolean {
    return this.words[2 * n + 1] === 0 && this.words[2 * n] === value;
  }

  static from(values: Partial<Record<keyof typeof Gpr, bigint>>): GprFile {
    const f = new GprFile();
    for (const [name, v] of Object.entries(values)) f.set(Gpr[name as keyof typeof Gpr], v as bigint);
    return f;
  }
}
