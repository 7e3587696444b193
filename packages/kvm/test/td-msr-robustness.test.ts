// A CI-sized random slice of MSR traffic on a TD vCPU: RDMSR/WRMSR TDVMCALLs and raw KVM_GET/SET_MSRS
// with random indices (the allow-list, the x2APIC range, its neighbours, anything) and random values.
// Every guest call must end as SUCCESS or INVALID_OPERAND, every ioctl as a count or -1 + errno, and a
// value the host wrote successfully must read back the same where KVM stores it unchanged.
import { describe, expect, it } from "vitest";
import { KVM_GET_MSRS, KVM_SET_MSRS, kvmMsrEntry, kvmMsrsHeader, TdVmCallStatus } from "../src/index.js";
import { recordR10R11, tdvmcall } from "./scripted-guest.js";
import { STRUCT_AT, TdFixture } from "./td-fixture.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const INTERESTING = [
  0x1b, 0x3a, 0x8b, 0xce, 0xfe, 0x10a, 0x140, 0x179, 0x17a, 0x17b, 0x1a0, 0x1fc, 0x200, 0x20f, 0x210, 0x250,
  0x258, 0x26f, 0x277, 0x280, 0x29f, 0x2ff, 0x400, 0x47f, 0x480, 0x4d0, 0x6e0, 0xc0000080, 0x4b564d05,
];
/** MSRs whose stored value is exactly what was written when the write succeeds. */
const VERBATIM = new Set([0x1fc, 0x17a, 0x277, 0x200, 0x20f, 0x250, 0x4b564d05, 0x400, 0x401, 0x402, 0x403]);

describe("random MSR traffic on a TD vCPU", () => {
  for (const seed of [11, 12, 13, 14]) {
    it(`seed ${seed}: guest statuses and ioctl results stay well-formed`, () => {
      const r = rng(seed);
      const t = TdFixture.runnable();
      const vcpuFd = t.vcpuFds[0]!;
      const index = () => {
        switch (r(4)) {
          case 0:
            return 0x800 + r(0x100);
          case 1:
            return r(0x100000000);
          default:
            return INTERESTING[r(INTERESTING.length)]!;
        }
      };
      const value = () =>
        r(3) === 0
          ? 0n
          : r(3) === 0
            ? (1n << 64n) - 1n
            : (BigInt(r(0x100000000)) << 32n) | BigInt(r(0x100000000));
      for (let i = 0; i < 60; i++) {
        const mem = t.p.userMemory;
        if (r(2) === 0) {
          const g = t.guest;
          g.seen.length = 0;
          const write = r(2) === 0;
          g.script(
            tdvmcall(write ? 32 : 31, BigInt(index()), value()),
            recordR10R11(g),
            tdvmcall(30, 1n, 1n, 0x80n, 0n),
          );
          expect(t.vcpu().kvmRun().kind).toBe("io");
          expect([TdVmCallStatus.SUCCESS, TdVmCallStatus.INVALID_OPERAND]).toContain(g.seen[0]);
        } else {
          const n = r(5) === 0 ? 256 + r(4) : r(6);
          const entries = Array.from({ length: Math.min(n, 8) }, () => ({ index: index(), data: value() }));
          mem.writeBytes(STRUCT_AT, kvmMsrsHeader.encode({ nmsrs: n, pad: 0 }));
          entries.forEach((e, k) => {
            mem.writeBytes(
              STRUCT_AT + 8 + 16 * k,
              kvmMsrEntry.encode({ index: e.index, reserved: 0, data: e.data }),
            );
          });
          const write = r(2) === 0;
          const ret = t.p.ioctl(vcpuFd, write ? KVM_SET_MSRS : KVM_GET_MSRS, STRUCT_AT);
          if (ret < 0) {
            expect(t.p.lastError).toBeDefined();
            continue;
          }
          expect(ret).toBeLessThanOrEqual(n);
          if (write && ret > 0 && VERBATIM.has(entries[0]!.index)) {
            const back = t.vcpu().getMsrs([entries[0]!.index]);
            // a later entry of the same call may have overwritten the first
            const last = entries
              .slice(0, ret)
              .filter((e) => e.index === entries[0]!.index)
              .at(-1)!;
            expect(back[0]?.data).toBe(last.data);
          }
        }
      }
    });
  }
});
