// TDCALL guest leaves: register ABI, statuses, exits.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  ExtExitQualType,
  TdcallLeaf as L,
  SeptState,
  SysFieldId,
  TdxStatus as T,
  TdcallOutcome,
  TdFieldId,
  Vector,
} from "../src/index.js";
import { expectStatus, makeHost, mapSeptFor, OK, runnableTd, tdcall } from "./helpers.js";

const INVALID = T.TDX_OPERAND_INVALID;

describe("TDCALL dispatch", () => {
  it("unknown leaf, reserved RAX bits, bad version → TDX_OPERAND_INVALID (RAX)", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    for (const rax of [99n, 13n, 1n << 24n, 1n << 40n, (1n << 16n) | 1n, (2n << 16n) | 7n]) {
      const r = tdcall(v, rax);
      expect(r.outcome).toBe(TdcallOutcome.COMPLETE);
      expectStatus(r.rax, INVALID);
    }
  });
  it("outside 64-bit mode or at CPL > 0 → #GP(0)", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    v.regs.longMode64 = false;
    expect(tdcall(v, 1n).outcome).toBe(TdcallOutcome.INJECT);
    expect(v.exit.vector).toBe(Vector.GP);
    v.regs.longMode64 = true;
    v.regs.cpl = 3;
    expect(tdcall(v, 1n).outcome).toBe(TdcallOutcome.INJECT);
  });
});

describe("TDG.VP.VMCALL", () => {
  it("exits with exposed registers only, and re-entry loads them with status 0", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    const regs: Record<string, bigint> = {};
    for (const [i, name] of [
      "rdx",
      "rbx",
      "rsi",
      "rdi",
      "r8",
      "r9",
      "r10",
      "r11",
      "r12",
      "r13",
      "r14",
      "r15",
      "rbp",
    ].entries())
      regs[name] = 0x1111_0000_0000_0000n + BigInt(i);
    v.regs.xmm.fill(7);
    const control = (1n << 10n) | (1n << 11n) | (1n << 12n) | (1n << 3n) | (1n << 16n); // R10 R11 R12 RBX + XMM0
    const r = tdcall(v, 0n, { ...regs, rcx: control });
    expect(r.outcome).toBe(TdcallOutcome.TD_EXIT);
    const e = v.exit;
    expect(e.reason).toBe(ExitReason.TDCALL);
    expect(e.advanceRip).toBe(true);
    const host64 = (i: number) => (BigInt(e.gpr[2 * i + 1] >>> 0) << 32n) | BigInt(e.gpr[2 * i] >>> 0);
    expect(host64(1)).toBe(control);
    expect(host64(10)).toBe(regs.r10);
    expect(host64(3)).toBe(regs.rbx);
    for (const hidden of [2, 5, 6, 7, 8, 9, 13, 14, 15]) expect(host64(hidden)).toBe(0n);
    expect(Array.from(e.xmm.subarray(0, 4))).toEqual([7, 7, 7, 7]);
    expect(Array.from(e.xmm.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(v.vmcallPending).toBe(true);
    // host answers: R10 = status, R11 = value; also writes a non-exposed register, which must not leak in
    e.gpr[20] = 0;
    e.gpr[21] = 0;
    e.gpr[23] = 0;
    e.gpr[22] = 0x42;
    e.gpr[26] = 9; // R13 (not exposed)
    v.resumeVmcall(e.gpr, e.xmm);
    expect(r.reg("rax")).toBe(0n);
    expect(r.reg("rcx")).toBe(control);
    expect(r.reg("r10")).toBe(0n);
    expect(r.reg("r11")).toBe(0x42n);
    expect(r.reg("r13")).toBe(regs.r13);
    expect(r.reg("rsi")).toBe(regs.rsi);
    expect(v.vmcallPending).toBe(false);
  });
  it("RAX/RCX/RSP exposed, RBP with NO_RBP_MOD, or RCX[63:32] ≠ 0 → OPERAND_INVALID (RCX), no exit", () => {
    const host = makeHost();
    const { v } = runnableTd(host, { configFlags: 4n });
    for (const rcx of [1n, 2n, 0x10n, 0x20n, 1n << 32n]) {
      const r = tdcall(v, 0n, { rcx });
      expect(r.outcome).toBe(TdcallOutcome.COMPLETE);
      expectStatus(r.rax, INVALID + 1n);
    }
    expect(tdcall(v, 0n, { rcx: 0xffccn }).outcome).toBe(TdcallOutcome.TD_EXIT);
    expectStatus(tdcall(v, 0n, { rcx: 0xfcecn }).rax, INVALID + 1n); // exposes RBP
  });
});

describe("TDG.VP.INFO, VP.VEINFO.GET, VP.CPUIDVE.SET", () => {
  it("VP.INFO returns GPAW, ATTRIBUTES, vCPU counts, index, SYS.RD availability", () => {
    const host = makeHost();
    const { v } = runnableTd(host, { attributes: 1n << 28n, maxVcpus: 4 });
    const r = tdcall(v, 1n);
    expectStatus(r.rax, OK);
    expect(r.reg("rcx")).toBe(48n);
    expect(r.reg("rdx")).toBe(1n << 28n);
    expect(r.reg("r8")).toBe(1n | (4n << 32n));
    expect(r.reg("r9")).toBe(0n);
    expect(r.reg("r10")).toBe(1n);
    expect(r.reg("r11")).toBe(0n);
  });
  it("VEINFO.GET: TDX_NO_VALID_VE_INFO, then the fields of an injected #VE, then #DF on a second #VE", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    expectStatus(tdcall(v, 3n).rax, T.TDX_NO_VALID_VE_INFO);
    expect(v.injectVe(ExitReason.HLT, 0, 0x1000, 0xffff8000, 0, 1, 0)).toBe(Vector.VE);
    expect(v.injectVe(ExitReason.HLT, 0, 0, 0, 0, 1, 0)).toBe(Vector.DF);
    const r = tdcall(v, 3n);
    expectStatus(r.rax, OK);
    expect(r.reg("rcx")).toBe(12n);
    expect(r.reg("r8")).toBe(0xffff8000_00001000n);
    expect(r.reg("r10")).toBe(1n);
    expectStatus(tdcall(v, 3n).rax, T.TDX_NO_VALID_VE_INFO);
    expect(v.injectVe(ExitReason.CPUID, 0, 0, 0, 0, 2, 0)).toBe(Vector.VE);
  });
  it("CPUIDVE.SET: bits 1:0 only; forces #VE for CPUID", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    expectStatus(tdcall(v, 5n, { rcx: 4n }).rax, INVALID + 1n);
    const out = new Uint32Array(4);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(true);
    expectStatus(tdcall(v, 5n, { rcx: 1n }).rax, OK);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(false);
    expect(v.cpuid(0, 0, 3, false, out)).toBe(true);
    expectStatus(tdcall(v, 5n, { rcx: 2n }).rax, OK);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(true);
    expect(v.cpuid(0, 0, 3, false, out)).toBe(false);
  });
});

describe("TDG.MEM.PAGE.ACCEPT", () => {
  it("accepts a 4 KiB pending page (zeroed, MAPPED), then TDX_PAGE_ALREADY_ACCEPTED", () => {
    const host = makeHost();
    const { td, v } = runnableTd(host);
    mapSeptFor(host, td, 0x8000);
    expectStatus(host.tdx.tdhMemPageAug(0x8000, 0, td.tdr, host.memory.allocPage()), OK);
    const r = tdcall(v, 6n, { rcx: 0x8000n });
    expectStatus(r.rax, OK);
    expect(Number(host.tdx.tdhMemSeptRd(0x8000, 0, td.tdr).rdx! >> 8n)).toBe(SeptState.MAPPED);
    expect(v.translate(0x8000, 2)!.every((b) => b === 0)).toBe(true);
    expectStatus(tdcall(v, 6n, { rcx: 0x8000n }).rax, T.TDX_PAGE_ALREADY_ACCEPTED);
  });
  it("2 MiB: accept, ALREADY_ACCEPTED (level 1) for a 4K request inside it; SIZE_MISMATCH over a SEPT page", () => {
    const host = makeHost();
    const { td, v } = runnableTd(host);
    mapSeptFor(host, td, 0x400000, 2);
    expectStatus(host.tdx.tdhMemPageAug(0x400000, 1, td.tdr, 0x30000000), OK);
    expectStatus(tdcall(v, 6n, { rcx: 0x400000n | 1n }).rax, OK);
    expectStatus(tdcall(v, 6n, { rcx: 0x401000n }).rax, T.TDX_PAGE_ALREADY_ACCEPTED + 1n);
    expectStatus(tdcall(v, 6n, { rcx: 0x400000n | 1n }).rax, T.TDX_PAGE_ALREADY_ACCEPTED + 1n);
    expectStatus(tdcall(v, 6n, { rcx: 0x0n | 1n }).rax, T.TDX_PAGE_SIZE_MISMATCH + 1n);
    expectStatus(host.tdx.tdhMemRangeBlock(0, 1, td.tdr), OK);
    expectStatus(tdcall(v, 6n, { rcx: 0x0n | 1n }).rax, T.TDX_PAGE_SIZE_MISMATCH + 1n); // NL_BLOCKED too
  });
  it("operand checks → OPERAND_INVALID (RCX)", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    for (const rcx of [2n, 0x1008n, 0x1000n | 1n, 1n << 52n, 2n ** 47n])
      expectStatus(tdcall(v, 6n, { rcx }).rax, INVALID + 1n);
  });
  it("not AUGed → TD exit (EPT violation, ACCEPT eeq), RIP not advanced; accepted after the host AUGs", () => {
    const host = makeHost();
    const { td, v } = runnableTd(host);
    mapSeptFor(host, td, 0x9000);
    const before = tdcall(v, 6n, { rcx: 0x9000n });
    expect(before.outcome).toBe(TdcallOutcome.TD_EXIT);
    expect(v.exit.reason).toBe(ExitReason.EPT_VIOLATION);
    expect(v.exit.advanceRip).toBe(false);
    expect(v.exit.gpa).toBe(0x9000);
    expect(v.exit.extExitQualification % 16).toBe(ExtExitQualType.ACCEPT);
    expect(Math.floor(v.exit.extExitQualification / 2 ** 32)).toBe(0 | (0 << 3) | (SeptState.FREE << 6));
    // missing SEPT page below the 1 GiB entry: the walk stops at level 2
    tdcall(v, 6n, { rcx: 0x40000000n });
    expect(Math.floor(v.exit.extExitQualification / 2 ** 32) & 0x38).toBe(2 << 3);
    expectStatus(host.tdx.tdhMemPageAug(0x9000, 0, td.tdr, host.memory.allocPage()), OK);
    expectStatus(tdcall(v, 6n, { rcx: 0x9000n }).rax, OK);
  });
});

describe("TDG.VM.RD / VM.WR / SYS.RD", () => {
  it("reads TD fields; version 1 returns the next id; null id → first field", () => {
    const host = makeHost();
    const { v } = runnableTd(host, { attributes: 1n << 28n });
    const r = tdcall(v, 7n, { rcx: 0n, rdx: TdFieldId.TD_CTLS });
    expectStatus(r.rax, OK);
    expect(r.reg("r8")).toBe(1n);
    expect(r.reg("rdx")).toBe(TdFieldId.TD_CTLS);
    const v1 = tdcall(v, (1n << 16n) | 7n, { rcx: 0n, rdx: TdFieldId.ATTRIBUTES });
    expect(v1.reg("rdx")).toBe(TdFieldId.XFAM);
    const first = tdcall(v, (1n << 16n) | 7n, { rcx: 0n, rdx: ~0n & 0xffff_ffff_ffff_ffffn });
    expectStatus(first.rax, T.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT);
    expect(first.reg("rdx")).toBe(TdFieldId.ATTRIBUTES);
    expectStatus(tdcall(v, 7n, { rcx: 1n, rdx: TdFieldId.ATTRIBUTES }).rax, INVALID + 1n);
    expectStatus(tdcall(v, 7n, { rcx: 0n, rdx: 0x1110000300000077n }).rax, T.TDX_METADATA_FIELD_ID_INCORRECT);
    expectStatus(tdcall(v, 7n, { rcx: 0n, rdx: TdFieldId.EPTP }).rax, T.TDX_METADATA_FIELD_NOT_READABLE);
  });
  it("Linux's NOTIFY_ENABLES write (short id, value 0, mask all-ones) succeeds and returns the old value", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    const r = tdcall(v, 8n, { rcx: 0n, rdx: 0x9100000000000010n, r8: 1n, r9: 1n });
    expectStatus(r.rax, OK);
    expect(r.reg("r8")).toBe(0n);
    const back = tdcall(v, 8n, { rcx: 0n, rdx: 0x9100000000000010n, r8: 0n, r9: 0xffff_ffff_ffff_ffffn });
    expectStatus(back.rax, OK);
    expect(back.reg("r8")).toBe(1n);
    expectStatus(
      tdcall(v, 8n, { rcx: 0n, rdx: 0x9100000000000010n, r8: 2n, r9: 3n }).rax,
      T.TDX_METADATA_FIELD_VALUE_NOT_VALID,
    );
    expectStatus(
      tdcall(v, 8n, { rcx: 0n, rdx: TdFieldId.ATTRIBUTES, r8: 0n, r9: 1n }).rax,
      T.TDX_METADATA_FIELD_NOT_WRITABLE,
    );
    expectStatus(tdcall(v, (1n << 16n) | 8n, { rcx: 0n }).rax, INVALID);
  });
  it("TD_CTLS.PENDING_VE_DISABLE is guest-writable only with FLEXIBLE_PENDING_VE", () => {
    const host = makeHost();
    const fixed = runnableTd(host);
    expectStatus(
      tdcall(fixed.v, 8n, { rcx: 0n, rdx: TdFieldId.TD_CTLS, r8: 1n, r9: 1n }).rax,
      T.TDX_METADATA_FIELD_NOT_WRITABLE,
    );
    const flex = runnableTd(host, { configFlags: 2n });
    expectStatus(tdcall(flex.v, 8n, { rcx: 0n, rdx: TdFieldId.TD_CTLS, r8: 1n, r9: 1n }).rax, OK);
    expect(tdcall(flex.v, 7n, { rcx: 0n, rdx: TdFieldId.TD_CTLS }).reg("r8")).toBe(1n);
  });
  it("SYS.RD returns module capabilities and the next id", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    const r = tdcall(v, 11n, { rdx: SysFieldId.XFAM_FIXED0 });
    expectStatus(r.rax, OK);
    expect(r.reg("r8")).toBe(0x6dbe7n);
    expect(r.reg("rdx")).toBe(SysFieldId.XFAM_FIXED1);
    expectStatus(tdcall(v, 11n, { rdx: 0x1900000300000077n }).rax, T.TDX_METADATA_FIELD_ID_INCORRECT);
    expect(host.tdx.tdhSysRd(SysFieldId.MAJOR_VERSION).r8).toBe(1n);
    expect(host.tdx.tdhSysRd(SysFieldId.NUM_CPUID_CONFIG).r8).toBe(12n);
    // the fields Linux's tdx_global_metadata.c reads at TDX init
    expect(host.tdx.tdhSysRd(SysFieldId.MAX_VCPUS_PER_TD).r8).toBe(576n);
    expect(host.tdx.tdhSysRd(SysFieldId.TDCS_BASE_SIZE).r8).toBe(6n * 4096n);
    expect(host.tdx.tdhSysRd(SysFieldId.PAMT_4K_ENTRY_SIZE).r8).toBe(16n);
    expect(host.tdx.tdhSysRd(SysFieldId.NUM_CMRS).r8).toBe(1n);
    expect(host.tdx.tdhSysRd(SysFieldId.CMR_SIZE).r8).toBe(BigInt(host.memory.size));
    expect(host.tdx.tdhSysRd(SysFieldId.CPUID_CONFIG_LEAVES + 11n).r8).toBe(0x23n);
  });
  it("leaves the module does not implement → OPERAND_INVALID (RAX)", () => {
    const host = makeHost();
    const { v } = runnableTd(host);
    for (const leaf of [L.TDG_SYS_RDALL, L.TDG_SERVTD_RD, L.TDG_VP_ENTER])
      expectStatus(tdcall(v, BigInt(leaf), { rcx: 0n }).rax, INVALID);
  });
});
