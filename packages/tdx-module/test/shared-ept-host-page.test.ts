// The shared-EPT callback may hand back the host page itself (unencrypted host memory, e.g. a KVM
// memslot's userspace page): the guest reads and writes it in place.
import { describe, expect, it } from "vitest";
import { Access, FaultKind } from "../src/index.js";
import { addPage, buildTd, finalize, guest, makeHost } from "./helpers.js";

describe("shared EPT returning a host page", () => {
  it("the guest works on the very bytes the host holds; bad frames are misconfigurations", () => {
    const host = makeHost();
    const td = buildTd(host, {});
    addPage(host, td, 0x1000, new Uint8Array(4096));
    finalize(host, td);
    const v = guest(host, td.vcpus[0]);
    const shared = 2 ** 47;
    const hostPage = new Uint8Array(4096);
    const odd = new Uint8Array(new ArrayBuffer(8192), 2, 4096);
    host.tdx.setSharedEpt(td.tdr, (gpa) => {
      const g = gpa - shared;
      if (g < 0x1000) return hostPage;
      if (g < 0x2000) return new Uint8Array(2048); // not a whole 4 KiB frame
      if (g < 0x3000) return odd; // not word aligned
      return -1;
    });
    hostPage[7] = 0x5a;
    const seen = v.translate(shared + 0x7, Access.WRITE)!;
    expect(seen).toBe(hostPage);
    expect(seen[7]).toBe(0x5a);
    seen[8] = 0xa5;
    expect(hostPage[8]).toBe(0xa5);
    for (const gpa of [shared + 0x1000, shared + 0x2000]) {
      expect(v.translate(gpa, Access.READ)).toBeNull();
      expect(v.memory.fault.kind).toBe(FaultKind.EPT_MISCONFIG);
    }
  });
});
