// The raw face, driven like a C VMM: open("/dev/kvm"), ioctl(fd, request, arg) → -1 + errno.
import { Errno } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_GET_API_VERSION,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_RUN,
  KVM_SET_REGS,
  KvmCap,
  type KvmCpuidEntry2,
  KvmError,
  KvmProcess,
  KvmVmType,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  Vm,
} from "../src/index.js";

const cpuid = (fn: number, eax: number): KvmCpuidEntry2 => ({
  function: fn,
  index: 0,
  flags: 0,
  eax,
  ebx: 0,
  ecx: 0,
  edx: 0,
  padding: [0, 0, 0],
});

describe("open/close and the fd table", () => {
  it("opens /dev/kvm at the lowest free fd and closes it", () => {
    const p = new KvmProcess();
    const a = p.open("/dev/kvm");
    const b = p.open("/dev/kvm");
    expect([a, b]).toEqual([3, 4]);
    expect(p.close(a)).toBe(0);
    expect(p.open("/dev/kvm")).toBe(3);
  });
  it("fails like libc: ENOENT, EBADF, EMFILE", () => {
    const p = new KvmProcess({ maxFds: 5 });
    expect(p.open("/dev/kvmm")).toBe(-1);
    expect(p.errno).toBe(Errno.ENOENT);
    expect(p.close(42)).toBe(-1);
    expect(p.errno).toBe(Errno.EBADF);
    expect(p.ioctl(42, KVM_GET_API_VERSION, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EBADF);
    expect(p.lastError?.message).toMatch(/fd 42 is not open/);
    expect(p.open("/dev/kvm")).toBe(3);
    expect(p.open("/dev/kvm")).toBe(4);
    expect(p.open("/dev/kvm")).toBe(-1);
    expect(p.errno).toBe(Errno.EMFILE);
  });
});

describe("/dev/kvm ioctls", () => {
  it("KVM_GET_API_VERSION is 12 and takes no argument", () => {
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    expect(p.ioctl(kvm, KVM_GET_API_VERSION, 0)).toBe(12);
    expect(p.ioctl(kvm, KVM_GET_API_VERSION, 1)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toBe(
      "EINVAL: KVM_GET_API_VERSION: arg 1 must be 0 (KVM_GET_API_VERSION takes no argument)",
    );
  });
  it("KVM_GET_VCPU_MMAP_SIZE is three pages", () => {
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    expect(p.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)).toBe(12288);
    expect(p.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 7)).toBe(-1);
  });
  it("KVM_CHECK_EXTENSION answers like 6.16 on a TDX host", () => {
    const p = new KvmProcess({ cpus: 16 });
    const kvm = p.open("/dev/kvm");
    const ext = (cap: number) => p.ioctl(kvm, KVM_CHECK_EXTENSION, cap);
    expect(ext(KvmCap.VM_TYPES)).toBe(0x21);
    expect(ext(KvmCap.GUEST_MEMFD)).toBe(1);
    expect(ext(KvmCap.MEMORY_ATTRIBUTES)).toBe(8);
    expect(ext(KvmCap.USER_MEMORY2)).toBe(1);
    expect(ext(KvmCap.EXIT_HYPERCALL)).toBe(0x1000);
    expect(ext(KvmCap.MAX_VCPUS)).toBe(4096);
    expect(ext(KvmCap.NR_VCPUS)).toBe(16);
    expect(ext(KvmCap.X86_USER_SPACE_MSR)).toBe(1);
    expect(ext(KvmCap.X86_MSR_FILTER)).toBe(1);
    expect(ext(KvmCap.READONLY_MEM)).toBe(1);
    expect(ext(9999)).toBe(0);
    expect(ext(-1)).toBe(0);
  });
  it("a host without TDX offers only the default VM type", () => {
    const p = new KvmProcess({ tdx: false });
    const kvm = p.open("/dev/kvm");
    expect(p.ioctl(kvm, KVM_CHECK_EXTENSION, KvmCap.VM_TYPES)).toBe(1);
    expect(p.ioctl(kvm, KVM_CREATE_VM, KvmVmType.TDX_VM)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toMatch(/VM type 5 is not supported/);
  });
  it("KVM_CREATE_VM returns a VM fd for types 0 and 5 and refuses the rest with EINVAL", () => {
    const p = new KvmProcess({ cpus: 4 });
    const kvm = p.open("/dev/kvm");
    const vmFd = p.ioctl(kvm, KVM_CREATE_VM, KvmVmType.DEFAULT_VM);
    expect(vmFd).toBe(4);
    const tdFd = p.ioctl(kvm, KVM_CREATE_VM, KvmVmType.TDX_VM);
    expect(tdFd).toBe(5);
    const td = p.file(tdFd) as Vm;
    expect(td).toBeInstanceOf(Vm);
    expect(td.isTd).toBe(true);
    for (const bad of [
      KvmVmType.SW_PROTECTED_VM,
      KvmVmType.SEV_VM,
      KvmVmType.SNP_VM,
      6,
      31,
      32,
      2 ** 40,
      -1,
    ]) {
      expect(p.ioctl(kvm, KVM_CREATE_VM, bad), `type ${bad}`).toBe(-1);
      expect(p.errno).toBe(Errno.EINVAL);
    }
    // per-VM answers
    expect(p.ioctl(tdFd, KVM_CHECK_EXTENSION, KvmCap.MAX_VCPUS)).toBe(4);
    expect(p.ioctl(vmFd, KVM_CHECK_EXTENSION, KvmCap.MAX_VCPUS)).toBe(4096);
    expect(p.ioctl(tdFd, KVM_CHECK_EXTENSION, KvmCap.GUEST_MEMFD)).toBe(1);
    expect(p.ioctl(vmFd, KVM_CHECK_EXTENSION, KvmCap.GUEST_MEMFD)).toBe(0);
    expect(p.ioctl(tdFd, KVM_CHECK_EXTENSION, KvmCap.MEMORY_ATTRIBUTES)).toBe(8);
    expect(p.ioctl(vmFd, KVM_CHECK_EXTENSION, KvmCap.MEMORY_ATTRIBUTES)).toBe(0);
    expect(p.ioctl(tdFd, KVM_CHECK_EXTENSION, KvmCap.READONLY_MEM)).toBe(0);
    expect(p.ioctl(vmFd, KVM_CHECK_EXTENSION, KvmCap.READONLY_MEM)).toBe(1);
  });
  it("unknown requests: EINVAL on /dev/kvm, ENOTTY on a VM fd (as x86 Linux)", () => {
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    expect(p.ioctl(kvm, KVM_RUN, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(kvm, 0x12345678, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    const vm = p.ioctl(kvm, KVM_CREATE_VM, 0);
    expect(p.ioctl(vm, KVM_SET_REGS, 0)).toBe(-1);
    expect(p.errno).toBe(Errno.ENOTTY);
    expect(p.lastError?.message).toMatch(/KVM_SET_REGS is not an ioctl of kvm-vm fds/);
  });
  it("KVM_MEMORY_ENCRYPT_OP: ENOTTY on a normal VM, kvm_tdx_cmd checks on a TD", () => {
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    const vm = p.ioctl(kvm, KVM_CREATE_VM, 0);
    const td = p.ioctl(kvm, KVM_CREATE_VM, 5);
    const cmd = (id: number, hwError = 0n) => {
      const b = new Uint8Array(24);
      const v = new DataView(b.buffer);
      v.setUint32(0, id, true);
      v.setBigUint64(16, hwError, true);
      return b;
    };
    expect(p.ioctl(vm, KVM_MEMORY_ENCRYPT_OP, cmd(0))).toBe(-1);
    expect(p.errno).toBe(Errno.ENOTTY);
    expect(p.ioctl(td, KVM_MEMORY_ENCRYPT_OP, cmd(0, 1n))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.field).toBe("kvm_tdx_cmd.hw_error");
    expect(p.ioctl(td, KVM_MEMORY_ENCRYPT_OP, cmd(2))).toBe(-1); // INIT_VCPU is vCPU-scope
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.lastError?.message).toMatch(/KVM_TDX_INIT_VCPU\) is not a VM-fd sub-command/);
    expect(p.ioctl(td, KVM_MEMORY_ENCRYPT_OP, cmd(99))).toBe(-1);
    expect(p.errno).toBe(Errno.EINVAL);
    expect(p.ioctl(td, KVM_MEMORY_ENCRYPT_OP, 0)).toBe(-1); // NULL pointer
    expect(p.errno).toBe(Errno.EFAULT);
  });
});

describe("KVM_GET_SUPPORTED_CPUID", () => {
  const table = [cpuid(0, 0xd), cpuid(1, 0x806f8), cpuid(0x80000000, 0x80000008)];

  it("fills entries and nent through a user pointer", () => {
    const p = new KvmProcess({ supportedCpuid: table });
    const kvm = p.open("/dev/kvm");
    const addr = 0x20_0000;
    p.userMemory.writeBytes(addr, kvmCpuid2Header.encode({ nent: 8, padding: 0 }));
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, addr)).toBe(0);
    expect(p.userMemory.read32(addr)).toBe(3);
    const e1 = kvmCpuidEntry2.decode(p.userMemory.readBytes(addr + 8 + 40, 40));
    expect(e1.function).toBe(1);
    expect(e1.eax).toBe(0x806f8);
  });
  it("E2BIG without writing nent back when the buffer is too small; EFAULT on a bad pointer", () => {
    const p = new KvmProcess({ supportedCpuid: table });
    const kvm = p.open("/dev/kvm");
    const buf = kvmCpuid2Header.encode({ nent: 2, padding: 0 });
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)).toBe(-1);
    expect(p.errno).toBe(Errno.E2BIG);
    expect(buf[0]).toBe(2);
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, kvmCpuid2Header.encode({ nent: 0, padding: 0 }))).toBe(-1);
    expect(p.errno).toBe(Errno.E2BIG);
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, 0x100)).toBe(-1);
    expect(p.errno).toBe(Errno.EFAULT);
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, 2 ** 47)).toBe(-1);
    expect(p.errno).toBe(Errno.EFAULT);
  });
  it("reports the @tdxsim/x86 model when the host gives no table (test/supported-cpuid.test.ts)", () => {
    const p = new KvmProcess();
    const kvm = p.open("/dev/kvm");
    expect(p.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, kvmCpuid2Header.encode({ nent: 2, padding: 0 }))).toBe(-1);
    expect(p.errno).toBe(Errno.E2BIG);
    expect(p.openKvm().getSupportedCpuid(256)[0]!.ebx).toBe(0x756e6547); // "Genu"
  });
});

describe("the typed face over the same state", () => {
  it("throws KvmError with errno name and number", () => {
    const p = new KvmProcess();
    const kvm = p.openKvm();
    expect(kvm.getApiVersion()).toBe(12);
    const vm = kvm.createVm(KvmVmType.TDX_VM);
    expect(p.file(vm.fd)).toBe(vm);
    try {
      kvm.createVm(3);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KvmError);
      expect((e as KvmError).code).toBe("EINVAL");
      expect((e as KvmError).errno).toBe(22);
      expect((e as KvmError).field).toBe("type");
    }
  });
});
