import { describe, expect, it } from "vitest";
import {
  ErrnoError,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  GuestMemfd,
  HostPhysicalMemory,
} from "../src/index.js";

const MiB = 2 ** 20;
const PUNCH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

function setup(size = 2 * MiB) {
  const host = new HostPhysicalMemory(64 * MiB);
  const vm = {};
  const gmem = GuestMemfd.create(host, vm, { size });
  return { host, vm, gmem };
}

function errnoOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ErrnoError) return e.message;
    throw e;
  }
  throw new Error("no error thrown");
}

describe("KVM_CREATE_GUEST_MEMFD", () => {
  it("creates a file of the given size with no pages yet", () => {
    const { gmem, host } = setup();
    expect(gmem.size).toBe(2 * MiB);
    expect(gmem.npages).toBe(512);
    expect(gmem.allocatedPages).toBe(0);
    expect(host.allocatedPages).toBe(0);
  });

  it.each([
    [{ size: 0 }, /EINVAL: size 0x0/],
    [{ size: 4097 }, /EINVAL: size 0x1001 is not page aligned/],
    [{ size: 2n ** 63n }, /EINVAL: size/],
    [{ size: 4096, flags: 1 }, /EINVAL: flags 0x1 has bits outside the supported 0x0/],
    [{ size: -4096 }, /EINVAL: size -4096 is not a u64/],
  ])("refuses %o", (args, message) => {
    const host = new HostPhysicalMemory(MiB * 4);
    expect(errnoOf(() => GuestMemfd.create(host, {}, args))).toMatch(message);
  });

  it("accepts flags the VM type supports", () => {
    const host = new HostPhysicalMemory(MiB * 4);
    expect(GuestMemfd.create(host, {}, { size: 4096, flags: 1 }, 1).flags).toBe(1);
  });
});

describe("guest_memfd pages", () => {
  it("allocates a host page on first use and returns the same one after (kvm_gmem_get_pfn)", () => {
    const { gmem, host } = setup();
    const hpa = gmem.getPfn(5);
    expect(hpa % 4096).toBe(0);
    expect(gmem.getPfn(5)).toBe(hpa);
    expect(gmem.peekPfn(5)).toBe(hpa);
    expect(gmem.peekPfn(6)).toBeUndefined();
    expect(gmem.allocatedPages).toBe(1);
    expect(host.isAllocated(hpa)).toBe(true);
  });

  it("refuses page indexes outside the file", () => {
    const { gmem } = setup();
    expect(errnoOf(() => gmem.getPfn(512))).toMatch(
      /EINVAL: page index 512 is outside the guest_memfd \(512 pages\)/,
    );
    expect(errnoOf(() => gmem.getPfn(-1))).toMatch(/EINVAL/);
    expect(gmem.allocatedPages).toBe(0);
  });

  it("offers the host no way to read contents: the object has no read or write", () => {
    const { gmem } = setup();
    const surface = Object.getOwnPropertyNames(Object.getPrototypeOf(gmem));
    expect(surface.filter((n) => /read|write|bytes|page\b/i.test(n))).toEqual([]);
  });

  it("private contents stay hidden from the host view of the backing page", () => {
    const { gmem, host } = setup();
    const priv = host.takePrivateKeyAccess();
    const hpa = gmem.getPfn(0);
    priv.initPageFrom(hpa, 9, new Uint8Array(4096).fill(0xaa));
    expect(host.host.readBytes(hpa, 16)).toEqual(new Uint8Array(16));
  });
});

describe("fallocate", () => {
  it("PUNCH_HOLE|KEEP_SIZE frees the pages: contents are lost, the host pages go back", () => {
    const { gmem, host } = setup();
    const a = gmem.getPfn(1);
    host.host.write32(a, 0xdeadbeef);
    gmem.getPfn(2);
    gmem.getPfn(3);
    gmem.fallocate(PUNCH, 4096, 2 * 4096);
    expect(gmem.peekPfn(1)).toBeUndefined();
    expect(gmem.peekPfn(2)).toBeUndefined();
    expect(gmem.peekPfn(3)).toBeDefined();
    expect(host.allocatedPages).toBe(1);
    const again = gmem.getPfn(1);
    expect(host.host.read32(again)).toBe(0);
  });

  it("punching past the end is allowed and only affects the file's pages", () => {
    const { gmem } = setup();
    gmem.getPfn(511);
    gmem.fallocate(PUNCH, 511 * 4096, 8 * 4096);
    expect(gmem.allocatedPages).toBe(0);
    gmem.fallocate(PUNCH, 4 * MiB, 4096);
  });

  it("KEEP_SIZE alone preallocates, but not past the end", () => {
    const { gmem } = setup();
    gmem.fallocate(FALLOC_FL_KEEP_SIZE, 0, 3 * 4096);
    expect(gmem.allocatedPages).toBe(3);
    expect(errnoOf(() => gmem.fallocate(FALLOC_FL_KEEP_SIZE, 2 * MiB - 4096, 8192))).toMatch(
      /EINVAL: range .* ends past the file size 0x200000/,
    );
    expect(gmem.allocatedPages).toBe(3);
  });

  it.each([
    [PUNCH, 1, 4096, /EINVAL: offset 0x1 is not page aligned/],
    [PUNCH, 0, 100, /EINVAL: len 0x64 is not page aligned/],
    [PUNCH, 0, 0, /EINVAL: len 0x0 is not positive/],
    [PUNCH, -4096, 4096, /EINVAL: offset -4096 is not a u64/],
    [PUNCH, 2n ** 63n, 4096, /EINVAL: offset .* negative/],
    [PUNCH, 2n ** 62n, 2n ** 62n, /EFBIG: offset\+len/],
    [FALLOC_FL_PUNCH_HOLE, 0, 4096, /EOPNOTSUPP: mode 0x2 lacks FALLOC_FL_KEEP_SIZE/],
    [0, 0, 4096, /EOPNOTSUPP: mode 0x0 lacks FALLOC_FL_KEEP_SIZE/],
    [0x10 | FALLOC_FL_KEEP_SIZE, 0, 4096, /EOPNOTSUPP: mode 0x11 has bits/],
  ])("mode %s offset %s len %s is refused", (mode, offset, len, message) => {
    const { gmem } = setup();
    gmem.getPfn(0);
    expect(errnoOf(() => gmem.fallocate(mode, offset, len))).toMatch(message);
    expect(gmem.allocatedPages).toBe(1);
  });

  it("a page still owned by a TD KeyID is not freed: EBUSY, and nothing in the range is freed", () => {
    const { gmem, host } = setup();
    const priv = host.takePrivateKeyAccess();
    gmem.getPfn(0);
    const owned = gmem.getPfn(1);
    priv.initPage(owned, 4);
    expect(errnoOf(() => gmem.fallocate(PUNCH, 0, 2 * 4096))).toMatch(
      /EBUSY: guest_memfd page at offset 0x1000 .* still owned by KeyID 4; the TDX module must reclaim it/,
    );
    expect(gmem.allocatedPages).toBe(2);
    priv.releasePage(owned);
    gmem.fallocate(PUNCH, 0, 2 * 4096);
    expect(gmem.allocatedPages).toBe(0);
    expect(host.allocatedPages).toBe(0);
  });

  it("tells the bound slots first (KVM zaps there), with the GPA range of each", () => {
    const { gmem, host } = setup();
    const priv = host.takePrivateKeyAccess();
    const calls: [number, number][] = [];
    const binding = { baseGfn: 0x100, npages: 16, gmemFirstIndex: 4 };
    gmem.bind(binding);
    gmem.onInvalidate((b, start, end) => {
      expect(b).toBe(binding);
      calls.push([start, end]);
      for (let gpa = start; gpa < end; gpa += 4096) {
        const hpa = gmem.peekPfn(gpa / 4096 - 0x100 + 4);
        if (hpa !== undefined && host.keyIdOf(hpa) !== 0) priv.releasePage(hpa); // the "TDX module" reclaims
      }
    });
    priv.initPage(gmem.getPfn(5), 2);
    gmem.fallocate(PUNCH, 0, 8 * 4096);
    expect(calls).toEqual([[0x100000, 0x104000]]);
    expect(gmem.allocatedPages).toBe(0);
  });
});

describe("bindings", () => {
  it("refuses a range past the end or already bound, and frees it on unbind", () => {
    const { gmem } = setup();
    const a = { baseGfn: 0, npages: 8, gmemFirstIndex: 0 };
    gmem.bind(a);
    expect(errnoOf(() => gmem.bind({ baseGfn: 100, npages: 2, gmemFirstIndex: 7 }))).toMatch(
      /EINVAL: guest_memfd range 0x7000\+0x2000 is already bound/,
    );
    expect(errnoOf(() => gmem.bind({ baseGfn: 100, npages: 2, gmemFirstIndex: 511 }))).toMatch(
      /EINVAL: .*past the guest_memfd size/,
    );
    expect(gmem.bindingOf(3)).toBe(a);
    gmem.unbind(a);
    expect(gmem.bindingOf(3)).toBeUndefined();
    gmem.bind({ baseGfn: 100, npages: 2, gmemFirstIndex: 7 });
  });
});
