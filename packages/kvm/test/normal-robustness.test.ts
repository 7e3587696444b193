// A seeded random slice for normal VMs: random kvm_sregs / kvm_regs / MSR values and random guest
// code, each followed by KVM_RUN. Whatever happens, every call returns a result or -1 with an
// errno (no exception escapes), and a vCPU reset to a known state still runs correctly after.
import { describe, expect, it } from "vitest";
import {
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_INTERRUPT,
  KVM_NMI,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  kvmMsrsHeader,
  kvmRegs,
  kvmSregs,
} from "../src/index.js";
import { ARGS, CODE, NormalVmFixture } from "./normal-fixture.js";

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const ROUNDS = 150;

describe("normal VM robustness (seeded)", () => {
  it(`${ROUNDS} rounds of random register state and code never throw`, () => {
    const next = rng(0x6b766d31);
    const t = new NormalVmFixture();
    t.load("hlt");
    const vcpu = t.p.file(t.vcpuFd) as import("../src/index.js").Vcpu;
    vcpu.setRunBudget(2000);
    const good = t.longModeSregs();
    const errnos = new Map<number, number>();
    const call = (r: number) => {
      if (r < 0) errnos.set(t.p.errno, (errnos.get(t.p.errno) ?? 0) + 1);
      return r;
    };
    for (let round = 0; round < ROUNDS; round++) {
      // random code at CODE (64 bytes)
      const code = new Uint8Array(64).map(() => next() & 0xff);
      t.writeGpa(CODE, code);
      // mutate the long-mode sregs: flip random bytes of the struct
      const bytes = kvmSregs.encode(good);
      for (let k = next() % 4; k > 0; k--) bytes[next() % kvmSregs.size] ^= 1 << (next() % 8);
      t.p.userMemory.writeBytes(ARGS, bytes);
      call(t.ioctl(KVM_SET_SREGS, ARGS));
      const regs = kvmRegs.encode({ ...kvmRegs.zero(), rip: BigInt(CODE), rsp: 0x1f0000n, rflags: 2n });
      if (next() % 4 === 0) regs[next() % kvmRegs.size] ^= 1 << (next() % 8);
      t.p.userMemory.writeBytes(ARGS, regs);
      call(t.ioctl(KVM_SET_REGS, ARGS));
      if (next() % 3 === 0) {
        t.p.userMemory.writeBytes(ARGS, kvmMsrsHeader.encode({ nmsrs: 1, pad: 0 }));
        t.p.userMemory.write32(ARGS + 8, next() % 2 ? 0xc0000080 + (next() % 4) : next());
        t.p.userMemory.write32(ARGS + 16, next());
        t.p.userMemory.write32(ARGS + 20, next() % 2 ? 0 : next());
        call(t.ioctl(KVM_SET_MSRS, ARGS));
      }
      if (next() % 5 === 0) {
        t.p.userMemory.write32(ARGS, next() % 300);
        call(t.ioctl(KVM_INTERRUPT, ARGS));
      }
      if (next() % 7 === 0) call(t.ioctl(KVM_NMI, 0));
      for (let k = 0; k < 3; k++) {
        t.run[1] = next() % 10 === 0 ? 1 : 0; // immediate_exit now and then
        const r = call(t.kvmRun());
        expect(r === 0 || r === -1).toBe(true);
      }
      expect(call(t.ioctl(KVM_GET_REGS, ARGS))).toBe(0);
      expect(call(t.ioctl(KVM_GET_SREGS, ARGS))).toBe(0);
    }
    // only errnos KVM would give
    for (const errno of errnos.keys()) expect([4, 7, 14, 17, 22]).toContain(errno); // EINTR E2BIG EFAULT EEXIST EINVAL
    // a known state runs again: finish a pending completion first (vcpu_run_complete_io), and
    // rebuild the tables the random code may have written over
    t.run[1] = 1;
    expect(t.kvmRun()).toBe(-1);
    t.run[1] = 0;
    t.rebuildSystemTables();
    t.load("mov eax, 0x77\nout 0x55, eax\nhlt");
    expect(t.expectOut(0x55)).toBe(0x77);
  });
});
