// A CI-sized random slice: TDX sub-commands, memory ioctls and KVM_RUN with random guests and
// random arguments, in random order. Every call must end as a return value or -1 + errno (never a
// JS exception), and closing everything must give every host page back unless the TD was bugged.
import { ErrnoError } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  KVM_RUN,
  KVM_SET_MP_STATE,
  KvmMpState,
  KvmTdx,
  kvmMpState,
} from "../src/index.js";
import { accept, type GuestStep, spin, tdvmcall, touch, tripleFault } from "./scripted-guest.js";
import { MiB, TdFixture } from "./td-fixture.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe("random TD operations", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: no exception escapes, pages all come back`, () => {
      const r = rng(seed);
      // seeds 1-2 start from an empty TD, the others from a runnable one with two vCPUs
      const t = seed <= 2 ? new TdFixture() : TdFixture.runnable(undefined, { vcpus: 2 });
      const memory = t.p.host.physicalMemory;
      const gpa = () => r(0x20_0000 / 4096) * 4096 + (r(4) === 0 ? 2 ** 47 : 0);
      const guestStep = (): GuestStep => {
        const g = t.guest;
        switch (r(7)) {
          case 0:
            return accept(g, gpa());
          case 1:
            return touch(g, gpa(), r(2) ? r(256) : undefined);
          case 2:
            return tdvmcall(30, BigInt(r(5)), BigInt(r(3)), BigInt(r(0x10000)), 0n);
          case 3:
            return tdvmcall(r(2) ? 0x10001 : 0x10002, BigInt(gpa()), BigInt(r(4) * 4096));
          case 4:
            return tdvmcall(12);
          case 5:
            return r(10) === 0 ? tripleFault : spin;
          default:
            return tdvmcall(r(0x10005), BigInt(r(1 << 20)));
        }
      };
      let bugged = false;
      for (let i = 0; i < 150; i++) {
        const vcpu = t.vcpuFds.length ? t.vcpuFds[r(t.vcpuFds.length)]! : t.vmFd;
        try {
          switch (r(11)) {
            case 0:
              t.initVm({ attributes: r(2) ? 1n << 28n : 0n });
              break;
            case 1:
              t.createVcpu();
              break;
            case 2:
              if (r(6) === 0)
                t.op(vcpu, KvmTdx.INIT_VCPU, 0n); // without KVM_SET_CPUID2: EINVAL (no x2APIC)
              else t.initVcpuFd(vcpu, BigInt(r(1000)), r(8) === 0 ? 1 : 0);
              break;
            case 3:
              if (t.gmemFd < 0) t.addPrivateMemory(2 * MiB, r(2) === 0);
              else if (r(30) === 0) {
                t.p.close(t.gmemFd); // guest_memfd closed under a live TD
                t.gmemFd = -1;
              } else t.setAttributes(gpa() % 0x20_0000, 4096 * (1 + r(4)), r(2) === 0);
              break;
            case 4:
              if (t.vcpuFds.length)
                t.initMemRegion(
                  gpa(),
                  new Uint8Array(4096 * (1 + r(3))).fill(r(256)),
                  r(2) === 0,
                  r(t.vcpuFds.length),
                );
              break;
            case 5:
              if (r(4) === 0) t.op(t.vmFd, KvmTdx.FINALIZE_VM, r(8) === 0 ? 1n : 0n);
              break;
            case 6:
              t.op(vcpu, KvmTdx.GET_CPUID, 0x20_0000);
              break;
            case 7:
              if (t.gmemFd >= 0)
                t.p.fallocate(
                  t.gmemFd,
                  FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  r(512) * 4096,
                  4096 * (1 + r(8)),
                );
              break;
            case 8:
              if (r(60) === 0) t.op(t.vmFd, KvmTdx.TERMINATE_VM);
              else t.p.ioctl(vcpu, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.RUNNABLE }));
              break;
            default:
              if (t.guest.done) t.guest.script(guestStep(), guestStep(), guestStep());
              if (t.vcpuFds.length) {
                const v = t.vcpu(r(t.vcpuFds.length));
                if (v.tdInitialized && t.vm.td.state === "runnable") v.setRunBudget(1 + r(50));
              }
              t.p.ioctl(vcpu, KVM_RUN, 0);
          }
        } catch (e) {
          // only the fixture's own expectations may throw (e.g. a refused addPrivateMemory on a dead TD)
          if (e instanceof ErrnoError) throw e;
          if (!(e instanceof Error && /expected/.test(e.message))) throw e;
        }
        if (t.vm.td.state === "dead") bugged ||= t.vm.tdx.hkid >= 0 && !t.vm.tdx.hkidReleased;
      }
      for (const fd of [...t.vcpuFds, t.vmFd, t.gmemFd]) if (fd >= 0) t.p.close(fd);
      if (!bugged) expect(memory.allocatedPages).toBe(0);
    });
  }
});
