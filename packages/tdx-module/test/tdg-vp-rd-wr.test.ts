// TDG.VP.RD / TDG.VP.WR (leaves 9, 10): the TDVPS fields a guest may read and write, every status.
import { describe, expect, it } from "vitest";
import { TdvpsFieldId as F, TdxStatus as T } from "../src/index.js";
import { expectStatus, makeHost, OK, runnableTd, tdcall } from "./helpers.js";

const VP_RD = 9n;
const VP_WR = 10n;
const NONE = 0xffff_ffff_ffff_ffffn;

describe("TDG.VP.RD", () => {
  it("reads VCPU_INDEX and returns the next guest-readable field in RDX", () => {
    const { v } = runnableTd(makeHost());
    const r = tdcall(v, VP_RD, { rcx: 0n, rdx: F.VCPU_INDEX });
    expectStatus(r.rax, OK);
    expect(r.reg("r8")).toBe(0n);
    expect(r.reg("rdx")).toBe(F.CPUID_SUPERVISOR_VE);
    const last = tdcall(v, VP_RD, { rcx: 0n, rdx: F.CPUID_USER_VE });
    expectStatus(last.rax, OK);
    expect(last.reg("rdx")).toBe(NONE);
  });

  it("the context code of the id is ignored (forced to VP)", () => {
    const { v } = runnableTd(makeHost());
    const otherContext = (F.VCPU_INDEX & ~(7n << 52n)) | (1n << 52n);
    expectStatus(tdcall(v, VP_RD, { rcx: 0n, rdx: otherContext }).rax, OK);
  });

  it("a null field id gives TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT with the first field", () => {
    const { v } = runnableTd(makeHost());
    const r = tdcall(v, VP_RD, { rcx: 0n, rdx: NONE });
    expectStatus(r.rax, T.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT);
    expect(r.reg("rdx")).toBe(F.VCPU_INDEX);
    expect(r.reg("r8")).toBe(0n);
  });

  it("errors: RCX ≠ 0, unknown or malformed id, field without guest read access; R8 = 0, RDX = −1", () => {
    const { v } = runnableTd(makeHost());
    const cases: [bigint, bigint, bigint][] = [
      [1n, F.VCPU_INDEX, T.TDX_OPERAND_INVALID + 1n],
      [0n, 0xa020000200000077n, T.TDX_METADATA_FIELD_ID_INCORRECT],
      [0n, F.VCPU_INDEX | (1n << 28n), T.TDX_METADATA_FIELD_ID_INCORRECT], // reserved bits 31:24
      [0n, 0x1020000300000000n, T.TDX_METADATA_FIELD_NOT_READABLE], // guest RAX
      [0n, 0x0220000200000001n, T.TDX_METADATA_FIELD_NOT_READABLE], // VE_INFO.VALID
      [0n, 0x202000000000000bn, T.TDX_METADATA_FIELD_NOT_READABLE], // PEND_NMI
    ];
    for (const [rcx, rdx, status] of cases) {
      const r = tdcall(v, VP_RD, { rcx, rdx, r8: 0x55n });
      expectStatus(r.rax, status);
      expect(r.reg("r8")).toBe(0n);
      expect(r.reg("rdx")).toBe(NONE);
    }
  });

  it("version 1 is TDX_OPERAND_INVALID (RAX)", () => {
    const { v } = runnableTd(makeHost());
    expectStatus(tdcall(v, (1n << 16n) | VP_RD, { rcx: 0n, rdx: F.VCPU_INDEX }).rax, T.TDX_OPERAND_INVALID);
  });
});

describe("TDG.VP.WR", () => {
  it("CPUID_SUPERVISOR_VE: writes the byte (old value in R8) and turns CPUID #VE on at CPL 0", () => {
    const { v } = runnableTd(makeHost());
    const out = new Uint32Array(4);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(true);
    const w = tdcall(v, VP_WR, { rcx: 0n, rdx: F.CPUID_SUPERVISOR_VE, r8: 5n, r9: 0xffn });
    expectStatus(w.rax, OK);
    expect(w.reg("r8")).toBe(0n);
    expect(tdcall(v, VP_RD, { rcx: 0n, rdx: F.CPUID_SUPERVISOR_VE }).reg("r8")).toBe(5n);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(false); // #VE
    expect(v.cpuid(0, 0, 3, false, out)).toBe(true); // user CPUID still native
    const back = tdcall(v, VP_WR, { rcx: 0n, rdx: F.CPUID_SUPERVISOR_VE, r8: 0n, r9: 0xffn });
    expect(back.reg("r8")).toBe(5n);
    expect(v.cpuid(0, 0, 0, false, out)).toBe(true);
  });

  it("TDG.VP.CPUIDVE.SET and CPUID_USER_VE are the same state", () => {
    const { v } = runnableTd(makeHost());
    expectStatus(tdcall(v, 5n, { rcx: 2n }).rax, OK); // user #VE
    expect(tdcall(v, VP_RD, { rcx: 0n, rdx: F.CPUID_USER_VE }).reg("r8")).toBe(1n);
    expectStatus(tdcall(v, VP_WR, { rcx: 0n, rdx: F.CPUID_USER_VE, r8: 0n, r9: 1n }).rax, OK);
    expect(v.cpuid(0, 0, 3, false, new Uint32Array(4))).toBe(true);
  });

  it("errors: RCX ≠ 0, unknown id, read-only or hidden field, mask outside the field, bits outside the byte", () => {
    const { v } = runnableTd(makeHost());
    const cases: [bigint, bigint, bigint, bigint, bigint][] = [
      [1n, F.CPUID_USER_VE, 1n, 0xffn, T.TDX_OPERAND_INVALID + 1n],
      [0n, 0xa020000200000077n, 1n, 0xffn, T.TDX_METADATA_FIELD_ID_INCORRECT],
      [0n, F.VCPU_INDEX, 1n, 0xffff_ffffn, T.TDX_METADATA_FIELD_NOT_WRITABLE],
      [0n, 0x1020000300000000n, 1n, NONE, T.TDX_METADATA_FIELD_NOT_WRITABLE], // guest RAX
      [0n, F.CPUID_USER_VE, 1n, 0n, T.TDX_METADATA_FIELD_NOT_WRITABLE], // empty mask
      [0n, F.CPUID_USER_VE, 0x100n, 0x1ffn, T.TDX_METADATA_FIELD_VALUE_NOT_VALID], // bit 8 of a byte field
    ];
    for (const [rcx, rdx, r8, r9, status] of cases) {
      const r = tdcall(v, VP_WR, { rcx, rdx, r8, r9 });
      expectStatus(r.rax, status);
      expect(r.reg("r8")).toBe(0n);
    }
    expect(tdcall(v, VP_RD, { rcx: 0n, rdx: F.CPUID_USER_VE }).reg("r8")).toBe(0n); // unchanged
  });
});
