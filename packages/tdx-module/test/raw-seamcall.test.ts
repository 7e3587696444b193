// The raw SEAMCALL register interface: RAX = leaf | version << 16, operands in their registers.
import { describe, expect, it } from "vitest";
import { buildTdParams, SeamcallLeaf as L, SysFieldId, TdxStatus as T } from "../src/index.js";
import { expectStatus, makeHost, OK } from "./helpers.js";

describe("seamcall(regs)", () => {
  it("builds a TD through raw registers", () => {
    const { memory, tdx } = makeHost();
    const call = (rax: number, regs: Record<string, number | bigint> = {}) => {
      const r: Record<string, bigint> = { rax: BigInt(rax) };
      for (const [k, v] of Object.entries(regs)) r[k] = BigInt(v);
      return tdx.seamcall(r as { rax: bigint });
    };
    const tdr = memory.allocPage();
    expectStatus(call(L.TDH_MNG_CREATE, { rcx: tdr, rdx: 9 }).rax, OK);
    expectStatus(call(L.TDH_MNG_KEY_CONFIG, { rcx: tdr }).rax, OK);
    for (let i = 0; i < 6; i++)
      expectStatus(call(L.TDH_MNG_ADDCX, { rcx: memory.allocPage(), rdx: tdr }).rax, OK);
    const params = memory.allocPage();
    memory.host.writeBytes(params, buildTdParams({ maxVcpus: 2 }));
    expectStatus(call(L.TDH_MNG_INIT, { rcx: tdr, rdx: params }).rax, OK);
    const tdvpr = memory.allocPage();
    expectStatus(call(L.TDH_VP_CREATE, { rcx: tdvpr, rdx: tdr }).rax, OK);
    for (let i = 0; i < 5; i++)
      expectStatus(call(L.TDH_VP_ADDCX, { rcx: memory.allocPage(), rdx: tdvpr }).rax, OK);
    expectStatus(call(L.TDH_VP_INIT | (2 << 16), { rcx: tdvpr, rdx: 5 }).rax, T.TDX_OPERAND_INVALID);
    expectStatus(call(L.TDH_VP_INIT | (1 << 16), { rcx: tdvpr, rdx: 5, r8: 0 }).rax, OK);
    for (let level = 3; level >= 1; level--)
      expectStatus(call(L.TDH_MEM_SEPT_ADD, { rcx: level, rdx: tdr, r8: memory.allocPage() }).rax, OK);
    const src = memory.allocPage();
    expectStatus(
      call(L.TDH_MEM_PAGE_ADD, { rcx: 0x1000, rdx: tdr, r8: memory.allocPage(), r9: src }).rax,
      OK,
    );
    const walk = call(L.TDH_MEM_PAGE_ADD, { rcx: 0x40000000, rdx: tdr, r8: memory.allocPage(), r9: src });
    expectStatus(walk.rax, T.TDX_EPT_WALK_FAILED + 1n);
    expect(walk.rdx).toBe(2n); // level 2, state FREE
    expectStatus(
      call(L.TDH_MEM_PAGE_ADD, { rcx: 0x1000 | 0x8, rdx: tdr, r8: memory.allocPage(), r9: src }).rax,
      T.TDX_OPERAND_INVALID + 1n,
    );
    expectStatus(
      call(L.TDH_MEM_PAGE_ADD, { rcx: (1n << 52n) | 0x1000n, rdx: tdr }).rax,
      T.TDX_OPERAND_INVALID + 1n,
    );
    expectStatus(call(L.TDH_MR_EXTEND, { rcx: 0x1000, rdx: tdr }).rax, OK);
    expectStatus(call(L.TDH_MR_FINALIZE, { rcx: tdr }).rax, OK);
    const rd = call(L.TDH_MNG_RD, { rcx: tdr, rdx: 0x1110000200000002n });
    expectStatus(rd.rax, OK);
    expect(rd.r8).toBe(2n);
  });
  it("rejects unknown leaves, versions and reserved RAX bits with TDX_OPERAND_INVALID (RAX)", () => {
    const { tdx } = makeHost();
    for (const rax of [99n, 1n << 30n, (1n << 16n) | 9n, 0xffff_ffff_ffff_ffffn, BigInt(L.TDH_SYS_INIT)])
      expectStatus(tdx.seamcall({ rax }).rax, T.TDX_OPERAND_INVALID);
    const r = tdx.seamcall({ rax: BigInt(L.TDH_SYS_RD), rdx: SysFieldId.ATTRIBUTES_FIXED0 });
    expectStatus(r.rax, OK);
    expect(r.r8).toBe(0x8000_0000_7000_0001n);
    expect(r.rdx).toBe(SysFieldId.ATTRIBUTES_FIXED1);
    expectStatus(
      tdx.seamcall({ rax: BigInt(L.TDH_SYS_RD), rdx: ~0n & 0xffff_ffff_ffff_ffffn }).rax,
      T.TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT,
    );
  });
  it("TDH.SYS.INFO writes TDSYSINFO_STRUCT and one CMR", () => {
    const { memory, tdx } = makeHost();
    const info = memory.allocPage();
    const cmr = memory.allocPage();
    expectStatus(tdx.tdhSysInfo(info + 8, 1024, cmr, 32).status, T.TDX_OPERAND_INVALID + 1n);
    expectStatus(tdx.tdhSysInfo(info, 512, cmr, 32).status, T.TDX_OPERAND_INVALID + 2n);
    expectStatus(tdx.tdhSysInfo(info, 1024, cmr, 8).status, T.TDX_OPERAND_INVALID + 9n);
    const r = tdx.tdhSysInfo(info, 1024, cmr, 32);
    expectStatus(r.status, OK);
    expect(r.r9).toBe(1n);
    expect(memory.host.read32(info + 4)).toBe(0x8086);
    expect(memory.host.read64(info + 64)).toBe(0x8000_0000_7000_0001n);
    expect(memory.host.read32(info + 128)).toBe(12);
    expect(memory.host.read64(cmr + 8)).toBe(BigInt(memory.size));
  });
});
