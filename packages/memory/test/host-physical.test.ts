import { describe, expect, it } from "vitest";
import { ErrnoError, HostPhysicalMemory, PrivatePageAccessError } from "../src/index.js";

const GiB = 2 ** 30;

describe("HostPhysicalMemory", () => {
  it("allocates distinct zeroed pages above the reserved floor and reuses freed ones", () => {
    const m = new HostPhysicalMemory(GiB);
    const a = m.allocPage();
    const b = m.allocPage();
    expect(a).toBe(0x100000);
    expect(b).toBe(0x101000);
    m.host.write32(a, 0x1234);
    m.freePage(a);
    expect(m.allocPage()).toBe(a);
    expect(m.host.read32(a)).toBe(0);
    expect(m.allocatedPages).toBe(2);
  });

  it("hides private pages from the host: reads give zeros, writes are refused", () => {
    const m = new HostPhysicalMemory(GiB);
    const priv = m.takePrivateKeyAccess();
    const hpa = m.allocPage();
    const secret = new Uint8Array(4096).fill(0x5a);
    priv.initPageFrom(hpa, 7, secret);
    expect(m.host.read32(hpa)).toBe(0);
    expect(m.host.read64(hpa + 8)).toBe(0n);
    expect(m.host.readBytes(hpa - 16, 32)).toEqual(new Uint8Array(32));
    expect(() => m.host.write8(hpa + 5, 1)).toThrow(PrivatePageAccessError);
    expect(priv.page(hpa, 7)[100]).toBe(0x5a);
    expect(() => priv.page(hpa, 8)).toThrow(/tagged KeyID 7, not 8/);
  });

  it("reclaimed pages come back zeroed under KeyID 0; owned pages cannot be freed", () => {
    const m = new HostPhysicalMemory(GiB);
    const priv = m.takePrivateKeyAccess();
    const hpa = m.allocPage();
    priv.initPage(hpa, 3)[0] = 0xff;
    expect(() => m.freePage(hpa)).toThrow(ErrnoError);
    expect(() => m.freePage(hpa)).toThrow(/EBUSY: .*owned by KeyID 3/);
    priv.releasePage(hpa);
    expect(priv.keyIdOf(hpa)).toBe(0);
    expect(m.host.read8(hpa)).toBe(0);
    m.freePage(hpa);
    expect(() => m.freePage(hpa)).toThrow(/EINVAL: .* is not allocated/);
  });

  it("hands out the private capability once and rejects bad KeyIDs and addresses", () => {
    const m = new HostPhysicalMemory(0x200000);
    const priv = m.takePrivateKeyAccess();
    expect(() => m.takePrivateKeyAccess()).toThrow(/already been taken/);
    expect(() => priv.initPage(0x100000, 0)).toThrow(/KeyID 0 is not a private KeyID/);
    expect(() => m.host.read8(0x200000)).toThrow(/beyond/);
    for (let i = 0; i < 256; i++) m.allocPage();
    expect(() => m.allocPage()).toThrow(/ENOMEM/);
  });
});
