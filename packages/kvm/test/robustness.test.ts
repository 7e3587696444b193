// Nothing a caller passes may crash the process or escape as anything but -1/errno: random fds,
// requests and arguments (integers, user addresses with random contents, short and long buffers).
import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import { IoctlArg, KVM_IOCTLS, KvmProcess, MMAP_MIN_ADDR } from "../src/index.js";

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const ERRNOS = new Set<number>(Object.values(Errno));

describe("robustness", () => {
  it("random ioctls on random fds return a count or -1 with a known errno", () => {
    const next = rng(0x6b766d);
    const p = new KvmProcess({ cpus: 4 });
    const kvm = p.open("/dev/kvm");
    const fds = [kvm, p.ioctl(kvm, 0xae01, 0), p.ioctl(kvm, 0xae01, 5), 0, 1, 99, -1];
    const requests = [...KVM_IOCTLS.map((i) => i.request), 0, 0xffffffff];
    // a page of random bytes in user memory to point at
    const page = 0x50_0000;
    for (let i = 0; i < 4096; i += 4) p.userMemory.write32(page + i, next());
    let failures = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const fd = fds[next() % fds.length]!;
      const request = next() % 4 === 0 ? next() : requests[next() % requests.length]!;
      let arg: number | bigint | Uint8Array;
      switch (next() % 5) {
        case 0:
          arg = next() % 300; // small immediates: caps, types, ids
          break;
        case 1:
          arg = page + (next() % 4096); // into random user memory, possibly running off the page
          break;
        case 2:
          arg = BigInt(next()) << BigInt(next() % 40);
          break;
        case 3: {
          const b = new Uint8Array(next() % 600);
          for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
          arg = b;
          break;
        }
        default:
          arg = -(next() % 5);
      }
      const r = p.ioctl(fd, request, arg);
      expect(Number.isInteger(r)).toBe(true);
      if (r < 0) {
        expect(r).toBe(-1);
        expect(ERRNOS.has(p.errno)).toBe(true);
        failures++;
      }
    }
    // most random calls fail, some succeed (e.g. CHECK_EXTENSION, MSR filters that happen to parse)
    expect(failures).toBeGreaterThan(1000);
    expect(failures).toBeLessThan(3000);
  });

  it("random fallocate calls on random fds (guest_memfd included) return 0 or -1 with a known errno", () => {
    const next = rng(0x66616c);
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    const vm = p.ioctl(kvm, 0xae01, 5);
    const gmem = p
      .openKvm()
      .createVm(5)
      .createGuestMemfd({ size: 1 << 22 });
    const fds = [kvm, vm, gmem.fd, 0, 99];
    const values = [
      0,
      1,
      4096,
      0x2000,
      1 << 22,
      1 << 23,
      -1,
      -4096,
      2 ** 53,
      0.5,
      2n ** 63n,
      2n ** 64n - 4096n,
    ];
    let ok = 0;
    for (let iter = 0; iter < 2000; iter++) {
      const fd = fds[next() % fds.length]!;
      const modes = [1, 3, next() | 0, next() % 0x80];
      const mode = modes[next() % modes.length]!;
      const pick = () => (next() % 2 === 0 ? values[next() % values.length]! : (next() % 2048) * 2048);
      const r = p.fallocate(fd, mode, pick(), pick());
      if (r === 0) ok++;
      else {
        expect(r).toBe(-1);
        expect(ERRNOS.has(p.errno)).toBe(true);
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(gmem.gmem.allocatedPages).toBeLessThanOrEqual(1024);
  });

  it("IoctlArg: pointers below mmap_min_addr fault, buffers must be long enough, immediates must be integers", () => {
    const p = new KvmProcess();
    const nul = new IoctlArg(0, p.userMemory);
    expect(() => nul.read(8, "s")).toThrow(/EFAULT/);
    expect(() => new IoctlArg(MMAP_MIN_ADDR - 8, p.userMemory).read(16, "s")).toThrow(/EFAULT/);
    expect(new IoctlArg(MMAP_MIN_ADDR, p.userMemory).read(16, "s").length).toBe(16);
    const buf = new IoctlArg(new Uint8Array(4), p.userMemory);
    expect(() => buf.read(8, "kvm_enable_cap")).toThrow(
      /EFAULT: kvm_enable_cap: the buffer holds 4 bytes, 8 needed/,
    );
    expect(() => buf.write(new Uint8Array(5), "out")).toThrow(/EFAULT/);
    expect(() => buf.value).toThrow(/EINVAL/);
    expect(new IoctlArg(-1, p.userMemory).value).toBe(0xffffffffffffffffn);
    expect(() => new IoctlArg(1.5, p.userMemory).value).toThrow(/EINVAL/);
    expect(() => new IoctlArg(Number.NaN, p.userMemory).value).toThrow(/EINVAL/);
  });
});
