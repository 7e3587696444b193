// Seeded splitmix64 for reproducible test vectors (BigInt is fine in tests).

const M64 = (1n << 64n) - 1n;

export class Rng {
  private state: bigint;
  constructor(seed: bigint | number) {
    this.state = BigInt(seed) & M64;
  }
  next(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & M64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
    return z ^ (z >> 31n);
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Number(this.next() % BigInt(n));
  }
  /** A 64-bit value whose low `bits` are biased toward edge cases (zero, small, sign boundaries). */
  operand(bits: number): bigint {
    const mask = (1n << BigInt(bits)) - 1n;
    const upper = this.next() & ~mask & M64;
    const sign = 1n << BigInt(bits - 1);
    let low: bigint;
    switch (this.int(10)) {
      case 0:
        low = 0n;
        break;
      case 1:
        low = BigInt(this.int(17));
        break;
      case 2:
        low = [sign, sign - 1n, mask, mask - 1n, sign + 1n][this.int(5)];
        break;
      case 3:
        low = 1n << BigInt(this.int(bits));
        break;
      default:
        low = this.next() & mask;
    }
    return upper | low;
  }
  /** Random arithmetic flags (CF PF AF ZF SF OF). */
  flags(): bigint {
    return this.next() & 0x8d5n;
  }
}
