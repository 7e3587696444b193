// SHA-384 behind one small interface. Two implementations: @noble/hashes (pure JS, runs anywhere) and
// node:crypto (native, found at run time through process.getBuiltinModule so that this file has no
// static Node import and still loads in a browser). `defaultHash()` picks node:crypto where it exists
// because it is the faster one (tools/bench/src/tdx-module.bench.ts measures both).
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";

/** A running SHA-384 (the MRTD context). */
export interface Sha384Stream {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

export interface HashProvider {
  readonly name: string;
  sha384(data: Uint8Array): Uint8Array;
  sha384Stream(): Sha384Stream;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/**
 * Collects small updates (128-byte records) into one buffer before hashing: the digest is the same as
 * hashing each piece, but the per-call cost of the underlying hash is paid once per 64 KiB.
 */
class BufferedStream implements Sha384Stream {
  private readonly buffer = new Uint8Array(64 * 1024);
  private used = 0;
  constructor(
    private readonly sink: (data: Uint8Array) => void,
    private readonly finish: () => Uint8Array,
  ) {}
  update(data: Uint8Array): void {
    if (this.used + data.length > this.buffer.length) this.flush();
    if (data.length >= this.buffer.length) {
      this.sink(data);
      return;
    }
    this.buffer.set(data, this.used);
    this.used += data.length;
  }
  digest(): Uint8Array {
    this.flush();
    return this.finish();
  }
  private flush(): void {
    if (this.used > 0) this.sink(this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

export const nobleHash: HashProvider = {
  name: "@noble/hashes",
  sha384: (data) => sha384(data),
  sha384Stream() {
    const h = sha384.create();
    return new BufferedStream(
      (d) => h.update(d),
      () => h.digest(),
    );
  },
  hmacSha256: (key, data) => hmac(sha256, key, data),
};

interface NodeCryptoLike {
  createHash(alg: string): { update(d: Uint8Array): unknown; digest(): Uint8Array };
  createHmac(alg: string, key: Uint8Array): { update(d: Uint8Array): unknown; digest(): Uint8Array };
}

/** node:crypto's SHA-384, or undefined where Node's builtins are not reachable (browsers). */
export function nodeCryptoHash(): HashProvider | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.("node:crypto") as NodeCryptoLike | undefined;
  if (!crypto) return undefined;
  const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return {
    name: "node:crypto",
    sha384(data) {
      const h = crypto.createHash("sha384");
      h.update(data);
      return bytes(h.digest());
    },
    sha384Stream() {
      const h = crypto.createHash("sha384");
      return new BufferedStream(
        (d) => h.update(d),
        () => bytes(h.digest()),
      );
    },
    hmacSha256(key, data) {
      const h = crypto.createHmac("sha256", key);
      h.update(data);
      return bytes(h.digest());
    },
  };
}

let chosen: HashProvider | undefined;
/** node:crypto where available (faster), else @noble/hashes. */
export function defaultHash(): HashProvider {
  chosen ??= nodeCryptoHash() ?? nobleHash;
  return chosen;
}
