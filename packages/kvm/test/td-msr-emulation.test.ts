// KVM's MSR emulation for TDs: RDMSR/WRMSR TDVMCALLs of MSRs on KVM's TDX allow-list answered in the
// kernel with KVM's values, refused writes, the CPU-virtualised x2APIC registers, the MSR filter and
// user-space MSR exits, and KVM_GET/SET_MSRS on TD vCPUs (raw and typed).
import { Errno } from "@tdxsim/memory";
import { GUEST_IMAGE_BASE, longModeGuest, tdvmcallOut } from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import {
  KVM_GET_MSRS,
  KVM_SET_MSRS,
  KVM_X86_SET_MSR_FILTER,
  KvmCap,
  KvmMsrExitReason,
  KvmMsrFilter,
  KvmTdx,
  kvmMsrEntry,
  kvmMsrFilter,
  kvmMsrsHeader,
  TdVmCallStatus,
} from "../src/index.js";
import { KVM_ARCH_CAPABILITIES } from "../src/tdx-msr-emulation.js";
import { type GuestStep, recordR10R11, tdvmcall } from "./scripted-guest.js";
import { MiB, STRUCT_AT, TdFixture } from "./td-fixture.js";

const IO = 30;
const RDMSR = 31;
const WRMSR = 32;
const OK = TdVmCallStatus.SUCCESS;
const BAD = TdVmCallStatus.INVALID_OPERAND;
const MISC_ENABLE = 0x1a0;
const POWER_CTL = 0x1fc;
const ICR = 0x830;

/** A finalized TD (scripted guest), optionally with VM setup before INIT_VM. */
function td(setup: (t: TdFixture) => void = () => {}): TdFixture {
  const t = new TdFixture();
  setup(t);
  expect(t.initVm().ret).toBe(0);
  t.createVcpu();
  expect(t.initVcpu(0).ret).toBe(0);
  t.addPrivateMemory();
  expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
  return t;
}

/** Runs `calls` (each followed by recording R10/R11) and an IO exit; the [status, value] pairs. */
function guestCalls(t: TdFixture, calls: GuestStep[]): [bigint, bigint][] {
  const g = t.guest;
  g.seen.length = 0;
  g.script(...calls.flatMap((c) => [c, recordR10R11(g)]), tdvmcall(IO, 1n, 1n, 0x80n, 0n));
  expect(t.vcpu().kvmRun().kind).toBe("io");
  const out: [bigint, bigint][] = [];
  for (let i = 0; i < g.seen.length; i += 2) out.push([g.seen[i]!, g.seen[i + 1]!]);
  return out;
}
const rd = (index: number) => tdvmcall(RDMSR, BigInt(index));
const wr = (index: number, value: bigint) => tdvmcall(WRMSR, BigInt(index), value);

/** The selftests' filter: DEFAULT_DENY, MISC_ENABLE readable, POWER_CTL writable (x2APIC never filtered). */
function selftestFilter(t: TdFixture): void {
  const allow = new Uint8Array(8).fill(0xff);
  t.p.userMemory.writeBytes(0x30_0000, allow);
  const filter = kvmMsrFilter.encode({
    flags: KvmMsrFilter.DEFAULT_DENY,
    ranges: [
      { flags: KvmMsrFilter.READ, nmsrs: 1, base: MISC_ENABLE, bitmap: 0x30_0000n },
      { flags: KvmMsrFilter.WRITE, nmsrs: 1, base: POWER_CTL, bitmap: 0x30_0000n },
    ],
  });
  expect(t.p.ioctl(t.vmFd, KVM_X86_SET_MSR_FILTER, filter)).toBe(0);
}

/** Raw KVM_GET_MSRS / KVM_SET_MSRS with entries at STRUCT_AT; [return value, entries as written back]. */
function msrIo(
  t: TdFixture,
  request: number,
  entries: { index: number; data?: bigint }[],
  nmsrs = entries.length,
) {
  const mem = t.p.userMemory;
  mem.writeBytes(STRUCT_AT, kvmMsrsHeader.encode({ nmsrs, pad: 0 }));
  entries.forEach((e, i) => {
    const entry = kvmMsrEntry.encode({ index: e.index, reserved: 0, data: e.data ?? 0xdeadn });
    mem.writeBytes(STRUCT_AT + 8 + 16 * i, entry);
  });
  const ret = t.p.ioctl(t.vcpuFds[0]!, request, STRUCT_AT);
  const back = entries.map((_, i) => kvmMsrEntry.decode(mem.readBytes(STRUCT_AT + 8 + 16 * i, 16)).data);
  return { ret, errno: ret < 0 ? t.p.errno : 0, back };
}

describe("the selftests' MSR filter tests (verify_guest_msr_reads / _writes)", () => {
  it("reads: host KVM_SET_MSRS seeds ICR, MISC_ENABLE, POWER_CTL; the guest reads the allowed two, POWER_CTL → INVALID_OPERAND", () => {
    const t = td(selftestFilter);
    const set = msrIo(t, KVM_SET_MSRS, [
      { index: ICR, data: 4n },
      { index: MISC_ENABLE, data: 5n },
      { index: POWER_CTL, data: 6n },
    ]);
    expect(set.ret).toBe(3);
    const r = guestCalls(t, [rd(ICR), rd(MISC_ENABLE), rd(POWER_CTL)]);
    expect(r.slice(0, 2)).toEqual([
      [OK, 4n],
      [OK, 5n],
    ]);
    expect(r[2]![0]).toBe(BAD); // R11 is left alone on failure
  });

  it("writes: ICR and POWER_CTL written, MISC_ENABLE denied; KVM_GET_MSRS sees 4, the reset 0x1800, 6", () => {
    const t = td(selftestFilter);
    const before = t.vcpu().getMsrs([MISC_ENABLE]);
    expect(before).toEqual([{ index: MISC_ENABLE, data: 0x1800n }]);
    const r = guestCalls(t, [wr(ICR, 4n), wr(MISC_ENABLE, 5n), wr(POWER_CTL, 6n)]);
    expect(r.map(([s]) => s)).toEqual([OK, BAD, OK]);
    const got = msrIo(t, KVM_GET_MSRS, [{ index: ICR }, { index: MISC_ENABLE }, { index: POWER_CTL }]);
    expect(got.ret).toBe(3);
    expect(got.back).toEqual([4n, 0x1800n, 6n]);
  });
});

describe("RDMSR TDVMCALL: the values KVM gives", () => {
  it("reset values of the allow-list (vCPU 0, the BSP)", () => {
    const t = td();
    const want: [number, bigint][] = [
      [0x8b, 0x1_0000_0000n], // UCODE_REV
      [0x3a, 1n], // FEAT_CTL: LOCKED, no LMCE
      [0xce, 1n << 31n], // PLATFORM_INFO: CPUID faulting
      [0xfe, 0x508n], // MTRRcap: WC, FIX, 8 variable
      [0x140, 0n], // MISC_FEATURES_ENABLES
      [0x179, 32n], // MCG_CAP: 32 banks
      [0x17a, 0n], // MCG_STATUS
      [0x1a0, 0x1800n], // MISC_ENABLE
      [0x1b, 0xfee00d00n], // APICBASE: x2APIC + xAPIC enabled, BSP
      [0x1fc, 0n], // POWER_CTL
      [0x200, 0n], // MTRRphysBase0
      [0x277, 0x0007040600070406n], // PAT
      [0x2ff, 0n], // MTRRdefType
      [0x400, 0n], // MC0_CTL
      [0x6e0, 0n], // TSC_DEADLINE (timer not in deadline mode)
      [0xc0000080, 0xd01n], // EFER: SCE LME LMA NX
      [0x4b564d05, 1n], // MSR_KVM_POLL_CONTROL
      [0x802, 0n], // x2APIC ID
      [0x803, 0x01050014n], // version 0x14, 6 LVTs, directed EOI
      [0x80d, 1n], // LDR: cluster 0, bit 0
      [0x80f, 0xffn], // SPIV
      [0x832, 0x10000n], // LVTT masked
      [0x835, 0x700n], // LVT0 ExtINT on the BSP
    ];
    const got = guestCalls(
      t,
      want.map(([i]) => rd(i)),
    );
    expect(got).toEqual(want.map(([, v]) => [OK, v]));
  });

  it("fails (INVALID_OPERAND): MSRs off the list, CPU-virtualised x2APIC registers, write-only and absent ones", () => {
    const t = td();
    const refused = [
      0x10, // TSC
      0xc0000081, // STAR
      0x808, // TPR
      0x80a, // PPR
      0x80b, // EOI
      0x810, // ISR0
      0x827, // IRR7
      0x82f, // LVT CMCI: no MCG_CMCI_P
      0x831, // ICR2: none in x2APIC mode
      0x83f, // SELF_IPI: write-only
      0x17b, // MCG_CTL: no MCG_CTL_P
      0x4d0, // MCG_EXT_CTL: no LMCE
      0x280, // MC0_CTL2: no CMCI_P
      0x210, // MTRRphysBase8: KVM keeps 8 variable ranges
    ];
    expect(guestCalls(t, refused.map(rd)).map(([s]) => s)).toEqual(refused.map(() => BAD));
  });
});

describe("ARCH_CAPABILITIES", () => {
  it("the guest reads KVM's value only with CPUID.7.0:EDX[29] in its KVM_SET_CPUID2 model", () => {
    for (const has of [true, false]) {
      const t = new TdFixture();
      expect(t.initVm().ret).toBe(0);
      t.createVcpu();
      expect(t.initVcpu(0).ret).toBe(0);
      const vcpu = t.vcpu();
      const model = vcpu.getCpuid2();
      const leaf7 = model.find((e) => e.function === 7 && e.index === 0)!;
      leaf7.edx = has ? leaf7.edx | (1 << 29) : leaf7.edx & ~(1 << 29);
      vcpu.setCpuid2(model);
      t.addPrivateMemory();
      expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
      const [[status, value]] = guestCalls(t, [rd(0x10a)]) as [[bigint, bigint]];
      expect(status).toBe(has ? OK : BAD);
      if (has) expect(value).toBe(KVM_ARCH_CAPABILITIES);
      // the host reads it either way
      expect(vcpu.getMsrs([0x10a])).toEqual([{ index: 0x10a, data: KVM_ARCH_CAPABILITIES }]);
    }
  });
});

describe("WRMSR TDVMCALL", () => {
  it("APICBASE, EFER, FEAT_CTL, MTRRcap and MCG_CAP are read-only; bad PAT/MTRR/MISC_ENABLE values fault", () => {
    const t = td();
    const r = guestCalls(t, [
      wr(0x1b, 0xfee00d00n),
      wr(0xc0000080, 0xd01n),
      wr(0x3a, 1n),
      wr(0xfe, 0x508n),
      wr(0x179, 32n),
      wr(0x277, 0x0007040600070402n), // type 2 is reserved
      wr(0x277, 0x0606060606060606n),
      wr(0x2ff, 0x1000n), // reserved bit
      wr(0x2ff, 0xc06n),
      wr(0x201, 0x7ffn), // mask: reserved low bits
      wr(0x1a0, 0x800n), // MISC_ENABLE: BTS_UNAVAIL is read-only to the guest
      wr(0x1a0, 0x1880n), // EMON (bit 7) is ignored
      wr(0xce, 0n), // PLATFORM_INFO: host only
      wr(0x140, 2n), // MISC_FEATURES_ENABLES: only bit 0
      wr(0x140, 1n),
      wr(0x4b564d05, 0n),
      wr(0x8b, 0x42n), // UCODE_REV: guest writes are ignored, not refused
      rd(0x8b),
    ]);
    expect(r.map(([s]) => s)).toEqual([
      BAD,
      BAD,
      BAD,
      BAD,
      BAD,
      BAD,
      OK,
      BAD,
      OK,
      BAD,
      BAD,
      OK,
      BAD,
      BAD,
      OK,
      OK,
      OK,
      OK,
    ]);
    expect(r.at(-1)![1]).toBe(0x1_0000_0000n);
    const v = t.vcpu().getMsrs([0x277, 0x2ff, 0x1a0, 0x140, 0x4b564d05]);
    expect(v.map((e) => e.data)).toEqual([0x0606060606060606n, 0xc06n, 0x1800n, 1n, 0n]);
  });

  it("x2APIC: ID/LVR/LDR read-only, ESR only 0, 32-bit registers refuse upper bits; SPIV, LVTs and the timer stick", () => {
    const t = td();
    const r = guestCalls(t, [
      wr(0x802, 5n), // ID
      wr(0x803, 0n), // LVR
      wr(0x80d, 2n), // LDR
      wr(0x828, 1n), // ESR ≠ 0
      wr(0x828, 0n),
      wr(0x832, 1n << 32n), // upper bits
      wr(0x80f, 0x1ffn), // SPIV: APIC enabled, vector 0xff
      wr(0x832, (2n << 17n) | 0xecn), // LVTT: TSC-deadline mode, vector 0xec
      wr(0x6e0, 123456n), // TSC_DEADLINE
      rd(0x6e0),
      wr(0x836, 0x1_f0ffn), // LVT1: only LINT bits stick
      rd(0x836),
      wr(0x838, 1000n), // TMICT: ignored in deadline mode
      rd(0x838),
      wr(0x830, 0x1000_0000_10fdn), // ICR: the busy bit (12) is not stored
      rd(0x830),
      wr(0x83f, 0x30n), // SELF_IPI
      wr(0x80b, 0n), // EOI: CPU-virtualised
    ]);
    expect(r.map(([s]) => s)).toEqual([
      BAD,
      BAD,
      BAD,
      BAD,
      OK,
      BAD,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      OK,
      BAD,
    ]);
    expect(r[9]![1]).toBe(123456n);
    expect(r[11]![1]).toBe(0x1_f0ffn & 0x1_ffffn);
    expect(r[13]![1]).toBe(0n);
    expect(r[15]![1]).toBe(0x1000_0000_00fdn);
  });
});

describe("filter and user-space MSR exits", () => {
  it("a filtered or failing access exits to userspace when KVM_CAP_X86_USER_SPACE_MSR asks for its reason", () => {
    const t = td((f) => {
      f.vm.enableCap({
        cap: KvmCap.X86_USER_SPACE_MSR,
        args: [BigInt(KvmMsrExitReason.INVAL | KvmMsrExitReason.FILTER)],
      });
      f.vm.setMsrFilter(KvmMsrFilter.DEFAULT_ALLOW, [
        { flags: KvmMsrFilter.WRITE, base: POWER_CTL, nmsrs: 1, bitmap: new Uint8Array(8) },
      ]);
    });
    const g = t.guest;
    g.script(
      wr(POWER_CTL, 9n),
      recordR10R11(g),
      rd(0xc0000081),
      recordR10R11(g),
      rd(POWER_CTL),
      recordR10R11(g),
    );
    const a = t.vcpu().kvmRun();
    expect(a).toMatchObject({
      kind: "x86Wrmsr",
      reason: KvmMsrExitReason.FILTER,
      index: POWER_CTL,
      data: 9n,
    });
    t.vcpu().run.msr.error = 0;
    const b = t.vcpu().kvmRun();
    expect(b).toMatchObject({ kind: "x86Rdmsr", reason: KvmMsrExitReason.INVAL, index: 0xc0000081 });
    t.vcpu().run.msr.data = 0x77n;
    expect(t.vcpu().kvmRun()).toEqual({ kind: "intr" });
    expect(g.seen).toEqual([OK, BigInt(WRMSR), OK, 0x77n, OK, 0n]); // WRMSR leaves R11 alone
  });
});

describe("KVM_GET_MSRS / KVM_SET_MSRS on a TD vCPU", () => {
  it("processes entries until the first failure and returns the count; GET zeroes the failed entry", () => {
    const t = td();
    const got = msrIo(t, KVM_GET_MSRS, [{ index: 0x1a0 }, { index: 0x808 }, { index: 0x1fc }]);
    expect(got.ret).toBe(1);
    expect(got.back).toEqual([0x1800n, 0n, 0xdeadn]);
    // the host cannot write the read-only ones either (tdx_set_msr), but may set UCODE_REV and ARCH_CAPABILITIES
    expect(
      msrIo(t, KVM_SET_MSRS, [
        { index: 0x8b, data: 0x99n },
        { index: 0x1b, data: 0n },
      ]).ret,
    ).toBe(1);
    expect(t.vcpu().getMsrs([0x8b, 0x10a])).toEqual([
      { index: 0x8b, data: 0x99n },
      { index: 0x10a, data: KVM_ARCH_CAPABILITIES },
    ]);
    // host-initiated: MCG_CTL / MC0_CTL2 / MCG_EXT_CTL readable and 0 writable without the capability bits
    expect(
      t.vcpu().setMsrs([
        { index: 0x17b, data: 0n },
        { index: 0x280, data: 0n },
        { index: 0x4d0, data: 0n },
      ]),
    ).toBe(3);
    expect(t.vcpu().setMsrs([{ index: 0x17b, data: 1n }])).toBe(0);
  });

  it("nmsrs ≥ 256 → E2BIG; an unreadable array → EFAULT; ARCH_CAPABILITIES is immutable once the vCPU ran", () => {
    const t = td();
    expect(msrIo(t, KVM_GET_MSRS, [], 256)).toMatchObject({ ret: -1, errno: Errno.E2BIG });
    expect(t.p.ioctl(t.vcpuFds[0]!, KVM_SET_MSRS, 0x1000)).toBe(-1);
    expect(t.p.errno).toBe(Errno.EFAULT);
    guestCalls(t, []);
    expect(t.vcpu().setMsrs([{ index: 0x10a, data: KVM_ARCH_CAPABILITIES }])).toBe(1);
    expect(() => t.vcpu().setMsrs([{ index: 0x10a, data: 0n }])).toThrow(/immutable feature MSR/);
    // typed callers: the index must be a u32, the value a u64
    expect(() => t.vcpu().getMsrs([-1])).toThrow(/entries\[0\]\.index -1 is not a u32/);
    expect(() => t.vcpu().setMsrs([{ index: 0x1fc, data: 1n << 64n }])).toThrow(
      /entries\[0\]\.data .* is not a u64/,
    );
  });
});

describe("on the x86 core", () => {
  it("an assembled guest's RDMSR/WRMSR TDVMCALLs: APICBASE read, EFER write refused, ICR written and read back", () => {
    const t = new TdFixture({ realCpu: true });
    t.initVmWithVcpus();
    t.addPrivateMemory(2 * MiB, true, { slot: 1, gpa: 0xffe0_0000, userAddr: 0x8000_0000 });
    const tdvmcall = (leaf: number, r12: number, r13 = 0) => `
  xor eax, eax ; mov ecx, 0xfc00
  xor r10d, r10d ; mov r11d, ${leaf} ; mov r12d, ${r12} ; mov r13d, ${r13}
  tdcall`;
    const image = longModeGuest(`
  ${tdvmcall(RDMSR, 0x1b)}
  mov rbx, r11
  ${tdvmcallOut(0x3f8, "rbx", 4)}
  ${tdvmcall(WRMSR, 0xc0000080, 0)}
  mov rbx, r10
  shr rbx, 32
  ${tdvmcallOut(0x3f9, "rbx", 4)}
  ${tdvmcall(WRMSR, ICR, 0x40fd)}
  ${tdvmcall(RDMSR, ICR)}
  mov rbx, r11
  ${tdvmcallOut(0x3fa, "rbx", 4)}
ve_handler: gp_handler: ud_handler:
  jmp ve_handler`);
    expect(t.initMemRegion(GUEST_IMAGE_BASE, image, true).ret).toBe(0);
    expect(t.op(t.vmFd, KvmTdx.FINALIZE_VM).ret).toBe(0);
    const out = (port: number) => {
      const e = t.vcpu().kvmRun();
      expect(e).toMatchObject({ kind: "io", port });
      const run = t.vcpu().run;
      return new DataView(run.bytes.buffer, run.bytes.byteOffset).getUint32(run.io.dataOffset, true);
    };
    expect(out(0x3f8)).toBe(0xfee00d00);
    expect(out(0x3f9)).toBe(0x80000000); // INVALID_OPERAND's upper half
    expect(out(0x3fa)).toBe(0x40fd);
    expect(t.vcpu().getMsrs([ICR])).toEqual([{ index: ICR, data: 0x40fdn }]);
  });
});
