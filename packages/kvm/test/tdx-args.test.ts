import { Errno, SparseMemory } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import {
  computeTdxCapabilities,
  KVM_TDX_CPUID_NO_SUBLEAF,
  type KvmCpuidEntry2,
  KvmError,
  kvmCpuid2Header,
  kvmCpuidEntry2,
  kvmTdxCapabilitiesFixed,
  kvmTdxInitMemRegion,
  kvmTdxInitVmFixed,
  readTdxInitMemRegion,
  readTdxInitVm,
  refuseProtectedState,
  TASK_SIZE_MAX,
  TdLifecycle,
  writeBackTdxInitMemRegion,
  writeTdxCapabilities,
  writeTdxGetCpuid,
} from "../src/index.js";

const mem = () => new SparseMemory(TASK_SIZE_MAX);
const DATA = 0x40_0000n;

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof KvmError) return e.errno;
    throw e;
  }
  return undefined;
}

const entry = (fn: number, index: number, regs: Partial<KvmCpuidEntry2> = {}): KvmCpuidEntry2 => ({
  function: fn,
  index,
  flags: 0,
  eax: 0,
  ebx: 0,
  ecx: 0,
  edx: 0,
  padding: [0, 0, 0],
  ...regs,
});

describe("TdLifecycle (spec §1.11)", () => {
  it("walks UNINITIALIZED → INITIALIZED → RUNNABLE with the refusals of each state", () => {
    const td = new TdLifecycle();
    expect(errnoOf(() => td.checkCreateVcpu(true))).toBe(Errno.EIO);
    expect(errnoOf(() => td.checkVcpuCommand())).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkFinalize(0))).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkRun(true))).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkInitVm(1))).toBe(Errno.EBUSY);
    td.checkInitVm(0);
    td.initialized();
    expect(errnoOf(() => td.checkInitVm(0))).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkCreateVcpu(false))).toBe(Errno.EINVAL);
    td.checkCreateVcpu(true);
    td.checkVcpuCommand();
    expect(errnoOf(() => td.checkRun(true))).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkFinalize(3))).toBe(Errno.EINVAL);
    td.checkFinalize(0);
    td.runnable();
    expect(errnoOf(() => td.checkFinalize(0))).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkCreateVcpu(true))).toBe(Errno.EIO);
    expect(errnoOf(() => td.checkVcpuCommand())).toBe(Errno.EINVAL);
    expect(errnoOf(() => td.checkRun(false))).toBe(Errno.EINVAL);
    td.checkRun(true);
    expect(errnoOf(() => td.terminate(true))).toBe(Errno.EBUSY);
    td.terminate(false);
    for (const op of [() => td.checkRun(true), () => td.checkVcpuCommand(), () => td.checkInitVm(0)]) {
      expect(errnoOf(op)).toBe(Errno.EIO);
    }
    expect(errnoOf(() => refuseProtectedState("KVM_GET_REGS"))).toBe(Errno.EINVAL);
  });
});

describe("KVM_TDX_CAPABILITIES content (init_kvm_tdx_caps)", () => {
  // tdx_1.5 (spec/tdx-abi.md §11.2-11.3)
  const conf = {
    attributesFixed0: 0x8000_0000_7000_0001n,
    attributesFixed1: 0n,
    xfamFixed0: 0x0006_dbe7n,
    xfamFixed1: 0x3n,
    cpuidConfigs: [
      { leaf: 1, subleaf: KVM_TDX_CPUID_NO_SUBLEAF, eax: 0, ebx: 0, ecx: 0xffffffff, edx: 0xffffffff },
      { leaf: 7, subleaf: 0, eax: 0, ebx: 0xffffffff, ecx: 0xffffffff, edx: 0 },
      { leaf: 0x80000008, subleaf: KVM_TDX_CPUID_NO_SUBLEAF, eax: 0x3030, ebx: 0, ecx: 0, edx: 0 },
    ],
  };
  it("offers SEPT_VE_DISABLE, filters XFAM and reshapes the CPUID configs", () => {
    const caps = computeTdxCapabilities(conf, 0x2e7n | 0x1_0000n);
    expect(caps.supportedAttrs).toBe(1n << 28n);
    expect(caps.supportedXfam).toBe(0x2e7n & 0x6dbe7n);
    expect(caps.userTdvmcallinfo1R11).toBe(2n);
    expect(caps.cpuid[0]).toMatchObject({ function: 1, index: 0, flags: 0, ecx: 0xffffffff });
    expect(caps.cpuid[1]!.ebx).toBe(0xfffff7ef);
    expect(caps.cpuid[1]!.ecx).toBe((0xffffffff & ~(1 << 5)) >>> 0);
    expect(caps.cpuid[2]!.eax).toBe(0xff3030);
  });
  it("EIO when the module leaves KVM nothing", () => {
    expect(errnoOf(() => computeTdxCapabilities({ ...conf, attributesFixed0: 1n }, 0x3n))).toBe(Errno.EIO);
    expect(errnoOf(() => computeTdxCapabilities({ ...conf, attributesFixed1: 1n }, 0x3n))).toBe(Errno.EIO);
    expect(errnoOf(() => computeTdxCapabilities(conf, 0x1n))).toBe(Errno.EIO); // FIXED1 (x87|SSE) not covered
  });
});

describe("KVM_TDX_CAPABILITIES output", () => {
  const caps = {
    supportedAttrs: 1n << 28n,
    supportedXfam: 0x2e7n,
    kernelTdvmcallinfo1R11: 0n,
    userTdvmcallinfo1R11: 2n,
    kernelTdvmcallinfo1R12: 0n,
    userTdvmcallinfo1R12: 0n,
    cpuid: [
      entry(1, 0, { ecx: 0xffffffff }),
      entry(7, 0, { ebx: 0xfff }),
      entry(0x80000008, 0, { eax: 0xff0000 }),
    ],
  };
  it("writes the struct and entries when nent is large enough", () => {
    const m = mem();
    m.writeBytes(Number(DATA) + 2048, kvmCpuid2Header.encode({ nent: 8, padding: 0 }));
    writeTdxCapabilities(m, DATA, 0, caps);
    const back = kvmTdxCapabilitiesFixed.decode(m.readBytes(Number(DATA), kvmTdxCapabilitiesFixed.size));
    expect(back.supported_attrs).toBe(1n << 28n);
    expect(back.user_tdvmcallinfo_1_r11).toBe(2n);
    expect(back.cpuid.nent).toBe(3);
    expect(kvmCpuidEntry2.decode(m.readBytes(Number(DATA) + 2056 + 80, 40)).eax).toBe(0xff0000);
  });
  it("E2BIG without writing nent back; EINVAL for flags; EFAULT for a bad pointer", () => {
    const m = mem();
    m.writeBytes(Number(DATA) + 2048, kvmCpuid2Header.encode({ nent: 2, padding: 0 }));
    expect(errnoOf(() => writeTdxCapabilities(m, DATA, 0, caps))).toBe(Errno.E2BIG);
    expect(m.read32(Number(DATA) + 2048)).toBe(2);
    expect(errnoOf(() => writeTdxCapabilities(m, DATA, 1, caps))).toBe(Errno.EINVAL);
    expect(errnoOf(() => writeTdxCapabilities(m, 0n, 0, caps))).toBe(Errno.EFAULT);
  });
});

describe("KVM_TDX_INIT_VM input", () => {
  const limits = { supportedAttrs: 1n << 28n, supportedXfam: 0x2e7n, fiveLevelEpt: false };
  function put(
    m: SparseMemory,
    fixed: Partial<ReturnType<typeof kvmTdxInitVmFixed.zero>>,
    entries: KvmCpuidEntry2[],
  ) {
    const nent = fixed.cpuid?.nent ?? entries.length;
    m.writeBytes(
      Number(DATA),
      kvmTdxInitVmFixed.encode({ ...fixed, cpuid: { nent, padding: fixed.cpuid?.padding ?? 0 } }),
    );
    entries.forEach((e, i) => {
      m.writeBytes(Number(DATA) + 264 + 40 * i, kvmCpuidEntry2.encode(e));
    });
  }
  const gpaw48 = entry(0x80000008, 0, { eax: 0x00303030 });

  it("reads attributes, digests and CPUID and derives the GPAW", () => {
    const m = mem();
    put(m, { attributes: 1n << 28n, xfam: 3n, mrowner: [1n, 0n, 0n, 0n, 0n, 0xffn] }, [entry(1, 0), gpaw48]);
    const init = readTdxInitVm(m, DATA, 0, limits);
    expect(init.gpaw).toBe(48);
    expect(init.cpuid.length).toBe(2);
    expect(init.mrowner[0]).toBe(1);
    expect(init.mrowner[40]).toBe(0xff);
  });
  it("refuses bad input with the kernel's errno and the field", () => {
    const cases: [Parameters<typeof put>[1], KvmCpuidEntry2[], number, string?][] = [
      [{ cpuid: { nent: 257, padding: 0 } }, [], Errno.E2BIG, "kvm_tdx_init_vm.cpuid.nent"],
      [{ reserved: [0n, 0n, 1n] }, [gpaw48], Errno.EINVAL, "kvm_tdx_init_vm.reserved[2]"],
      [{ cpuid: { nent: 1, padding: 1 } }, [gpaw48], Errno.EINVAL, "kvm_tdx_init_vm.cpuid.padding"],
      [{ attributes: 1n }, [gpaw48], Errno.EINVAL, "kvm_tdx_init_vm.attributes"],
      [{ xfam: 1n << 40n }, [gpaw48], Errno.EINVAL, "kvm_tdx_init_vm.xfam"],
      [{}, [entry(1, 0)], Errno.EINVAL, "kvm_tdx_init_vm.cpuid"],
      [{}, [entry(0x80000008, 0, { eax: 0x002e2e2e })], Errno.EINVAL],
      [{}, [entry(0x80000008, 0, { eax: 0x00343434 })], Errno.EINVAL], // 52 without 5-level EPT
      [{}, [gpaw48, entry(7, 0, { ebx: 1 << 11 })], Errno.EINVAL, "kvm_tdx_init_vm.cpuid.entries[1]"],
    ];
    for (const [fixed, entries, errno, field] of cases) {
      const m = mem();
      put(m, fixed, entries);
      let err: KvmError | undefined;
      try {
        readTdxInitVm(m, DATA, 0, limits);
      } catch (e) {
        err = e as KvmError;
      }
      expect(
        err?.errno,
        JSON.stringify(fixed, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
      ).toBe(errno);
      if (field) expect(err?.field).toBe(field);
    }
    expect(errnoOf(() => readTdxInitVm(mem(), DATA, 1, limits))).toBe(Errno.EINVAL);
    expect(errnoOf(() => readTdxInitVm(mem(), 8n, 0, limits))).toBe(Errno.EFAULT);
  });
  it("accepts GPAW 52 with 5-level EPT and checks CPUID_CONFIG slots when given", () => {
    const m = mem();
    put(m, {}, [entry(0x80000008, 0, { eax: 0x00343434 }), entry(0xd, 1)]);
    expect(readTdxInitVm(m, DATA, 0, { ...limits, fiveLevelEpt: true }).gpaw).toBe(52);
    const slots = [
      { leaf: 0x80000008, subleaf: -1 },
      { leaf: 0xd, subleaf: 0 },
    ];
    expect(
      errnoOf(() => readTdxInitVm(m, DATA, 0, { ...limits, fiveLevelEpt: true, cpuidConfigs: slots })),
    ).toBe(Errno.EINVAL);
  });
});

describe("KVM_TDX_INIT_MEM_REGION input", () => {
  function put(m: SparseMemory, source_addr: bigint, gpa: bigint, nr_pages: bigint) {
    m.writeBytes(Number(DATA), kvmTdxInitMemRegion.encode({ source_addr, gpa, nr_pages }));
  }
  it("reads a good region and writes progress back", () => {
    const m = mem();
    put(m, 0x7f00_0000_0000n, 0xffff_0000n, 16n);
    const r = readTdxInitMemRegion(m, DATA, 1, 47);
    expect(r).toEqual({ sourceAddr: 0x7f00_0000_0000n, gpa: 0xffff_0000n, nrPages: 16n, measure: true });
    writeBackTdxInitMemRegion(m, DATA, { ...r, gpa: r.gpa + 4096n, nrPages: 15n });
    expect(kvmTdxInitMemRegion.decode(m.readBytes(Number(DATA), 24)).nr_pages).toBe(15n);
  });
  it("refuses flags, misalignment, empty, wrapping and shared ranges with EINVAL", () => {
    const bad: [bigint, bigint, bigint, number, string][] = [
      [0x1000n, 0x1000n, 1n, 2, "kvm_tdx_cmd.flags"],
      [0x1001n, 0x1000n, 1n, 0, "kvm_tdx_init_mem_region.source_addr"],
      [0x1000n, 0x1800n, 1n, 0, "kvm_tdx_init_mem_region.gpa"],
      [0x1000n, 0x1000n, 0n, 0, "kvm_tdx_init_mem_region.nr_pages"],
      [0x1000n, 0xffff_ffff_ffff_f000n, 2n, 0, "kvm_tdx_init_mem_region.nr_pages"],
      [0x1000n, 1n << 47n, 1n, 0, "kvm_tdx_init_mem_region.gpa"],
      [0x1000n, (1n << 47n) - 0x1000n, 2n, 0, "kvm_tdx_init_mem_region.gpa"],
    ];
    for (const [src, gpa, n, flags, field] of bad) {
      const m = mem();
      put(m, src, gpa, n);
      try {
        readTdxInitMemRegion(m, DATA, flags, 47);
        expect.unreachable(`${src} ${gpa} ${n}`);
      } catch (e) {
        expect((e as KvmError).errno).toBe(Errno.EINVAL);
        expect((e as KvmError).field).toBe(field);
      }
    }
    expect(errnoOf(() => readTdxInitMemRegion(mem(), 0n, 0, 47))).toBe(Errno.EFAULT);
  });
});

describe("KVM_TDX_GET_CPUID output", () => {
  it("writes entries, or E2BIG with the needed nent written back", () => {
    const m = mem();
    const entries = [entry(0, 0, { eax: 0x23 }), entry(1, 0), entry(0x80000000, 0)];
    m.writeBytes(Number(DATA), kvmCpuid2Header.encode({ nent: 1, padding: 0 }));
    expect(errnoOf(() => writeTdxGetCpuid(m, DATA, entries))).toBe(Errno.E2BIG);
    expect(m.read32(Number(DATA))).toBe(3);
    writeTdxGetCpuid(m, DATA, entries);
    expect(kvmCpuidEntry2.decode(m.readBytes(Number(DATA) + 8, 40)).eax).toBe(0x23);
  });
});
