import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  KVM_GET_MP_STATE,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_RUN,
  KVM_SET_DEBUGREGS,
  KVM_SET_MP_STATE,
  KVM_SET_REGS,
  KvmCap,
  KvmMpState,
  KvmProcess,
  kvmEnableCap,
  kvmMpState,
  kvmTdxCmd,
  Vcpu,
  type Vm,
} from "../src/index.js";

function vmOf(type: number, cpus = 4) {
  const p = new KvmProcess({ cpus });
  const kvm = p.open("/dev/kvm");
  const fd = p.ioctl(kvm, KVM_CREATE_VM, type);
  return { p, fd, vm: p.file(fd) as Vm };
}

const splitIrqchip = kvmEnableCap.encode({ cap: KvmCap.SPLIT_IRQCHIP, args: [24n] });
const tdxCmd = (id: number) => kvmTdxCmd.encode({ id });

describe("KVM_CREATE_VCPU", () => {
  it("creates vCPU fds with a 12 KiB kvm_run mapping", () => {
    const { p, fd } = vmOf(0);
    const v0 = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    const v1 = p.ioctl(fd, KVM_CREATE_VCPU, 1);
    expect([v0, v1]).toEqual([5, 6]);
    expect(p.file(v0)).toBeInstanceOf(Vcpu);
    const run = p.mmap(v0, 12288);
    expect(run?.length).toBe(12288);
    expect(run!.buffer).toBe((p.file(v0) as Vcpu).run.bytes.buffer);
    // shared: what "the kernel" writes is what the VMM reads
    (p.file(v0) as Vcpu).run.exitReason = 2;
    expect(new DataView(run!.buffer, run!.byteOffset).getUint32(8, true)).toBe(2);
  });
  it("refuses bad ids, duplicates and too many vCPUs", () => {
    const { p, fd } = vmOf(0);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 4096 * 4)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, -1)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 7)).toBeGreaterThan(0);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 7)).toBe(-1);
    expect(p.errno).toBe(Errno.EEXIST);
  });
  it("TD: EIO before INIT_VM and after FINALIZE, EINVAL without a split irqchip, max_vcpus = host CPUs", () => {
    const { p, fd, vm } = vmOf(5, 2);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EIO);
    vm.td.initialized(); // stands in for a successful KVM_TDX_INIT_VM (needs the TDX module)
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toMatch(/SPLIT_IRQCHIP/);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip)).toBe(0);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 0)).toBeGreaterThan(0);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 1)).toBeGreaterThan(0);
    expect(p.ioctl(fd, KVM_CREATE_VCPU, 2)).toBe(-1); // max_vcpus = 2 host CPUs
    expect(p.errno).toBe(Errno.EINVAL);
    // split irqchip cannot come after vCPUs
    expect(p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip)).toBe(-1);
    expect(p.errno).toBe(Errno.EEXIST);
  });
  it("mmap: only vCPU fds, at most the mapping size", () => {
    const { p, fd } = vmOf(0);
    const v = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    expect(p.mmap(fd, 4096)).toBeUndefined();
    expect(p.errno).toBe(Errno.ENODEV);
    expect(p.mmap(v, 4 * 4096)).toBeUndefined();
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.mmap(77, 4096)).toBeUndefined();
    expect(p.errno).toBe(Errno.EBADF);
  });
});

describe("vCPU ioctls that need no CPU", () => {
  it("KVM_GET/SET_MP_STATE", () => {
    const { p, fd } = vmOf(0);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip)).toBe(0);
    const bsp = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    const ap = p.ioctl(fd, KVM_CREATE_VCPU, 1);
    const state = new Uint8Array(4);
    expect(p.ioctl(bsp, KVM_GET_MP_STATE, state)).toBe(0);
    expect(kvmMpState.decode(state).mp_state).toBe(KvmMpState.RUNNABLE);
    expect(p.ioctl(ap, KVM_GET_MP_STATE, state)).toBe(0);
    expect(kvmMpState.decode(state).mp_state).toBe(KvmMpState.UNINITIALIZED);
    expect(p.ioctl(ap, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.HALTED }))).toBe(0);
    expect((p.file(ap) as Vcpu).mpState).toBe(KvmMpState.HALTED);
    expect(p.ioctl(ap, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.SIPI_RECEIVED }))).toBe(0);
    expect((p.file(ap) as Vcpu).mpState).toBe(KvmMpState.INIT_RECEIVED);
    expect(p.ioctl(ap, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.STOPPED }))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.field).toBe("kvm_mp_state.mp_state");
  });
  it("without an in-kernel LAPIC only RUNNABLE can be set", () => {
    const { p, fd } = vmOf(0);
    const v = p.ioctl(fd, KVM_CREATE_VCPU, 3);
    expect((p.file(v) as Vcpu).mpState).toBe(KvmMpState.RUNNABLE);
    expect(p.ioctl(v, KVM_SET_MP_STATE, kvmMpState.encode({ mp_state: KvmMpState.HALTED }))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
  });
  it("TD vCPUs: registers are protected (EINVAL), KVM_RUN before FINALIZE is EINVAL, vCPU-scope TDX checks", () => {
    const { p, fd, vm } = vmOf(5);
    vm.td.initialized();
    p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip);
    const v = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    for (const request of [KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_DEBUGREGS]) {
      expect(p.ioctl(v, request, new Uint8Array(512))).toBe(-1);
      expect(p.errno).toBe(Errno.EINVAL);
      expect(p.lastError?.message).toMatch(/protected/);
    }
    expect(p.ioctl(v, KVM_RUN, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toMatch(/finalized TD/);
    // vCPU scope: VM-scope ids and bad hw_error are EINVAL, bad pointers EFAULT
    expect(p.ioctl(v, KVM_MEMORY_ENCRYPT_OP, tdxCmd(1))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(v, KVM_MEMORY_ENCRYPT_OP, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EFAULT);
    // after FINALIZE every vCPU sub-command is EINVAL, before the struct is even read
    vm.td.runnable();
    expect(p.ioctl(v, KVM_MEMORY_ENCRYPT_OP, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(v, KVM_RUN, 0)).toBe(-1); // INIT_VCPU never ran
    expect(p.lastError?.message).toMatch(/KVM_TDX_INIT_VCPU/);
  });
  it("normal vCPUs: KVM_MEMORY_ENCRYPT_OP is EINVAL; non-KVM ioctl types are EINVAL", () => {
    const { p, fd } = vmOf(0);
    const v = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    expect(p.ioctl(v, KVM_MEMORY_ENCRYPT_OP, tdxCmd(2))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(v, 0x5401, 0)).toBe(-1); // TCGETS
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(v, KVM_RUN, 1)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
  });
  it("a dead TD answers every VM and vCPU ioctl with EIO", () => {
    const { p, fd, vm } = vmOf(5);
    vm.td.initialized();
    p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip);
    const v = p.ioctl(fd, KVM_CREATE_VCPU, 0);
    vm.td.terminate(false);
    expect(p.ioctl(fd, KVM_ENABLE_CAP, splitIrqchip)).toBe(-1);
    expect(p.errno).toBe(Errno.EIO);
    expect(p.ioctl(v, KVM_GET_MP_STATE, new Uint8Array(4))).toBe(-1);
    expect(p.errno).toBe(Errno.EIO);
    expect(p.ioctl(v, 0x5401, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EIO);
  });
});
