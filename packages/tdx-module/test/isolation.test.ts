// Isolation (DESIGN decision 3): the host never sees private contents, measured pages are immutable
// after finalize, removed pages come back zeroed, a private page belongs to one TD only.
import { PrivatePageAccessError } from "@tdxsim/memory";
import { describe, expect, it } from "vitest";
import { Access, FaultKind, TdxStatus as T } from "../src/index.js";
import {
  addPage,
  buildTd,
  expectStatus,
  finalize,
  guest,
  makeHost,
  mapSeptFor,
  OK,
  tdcall,
} from "./helpers.js";

const SECRET = new Uint8Array(4096).fill(0x5e);

describe("isolation", () => {
  it("the host reads zeros from TD-owned pages and cannot write them; SEAMCALL outputs carry no contents", () => {
    const host = makeHost();
    const td = buildTd(host);
    const hpa = addPage(host, td, 0x1000, SECRET);
    expect(host.memory.host.readBytes(hpa, 4096).every((b) => b === 0)).toBe(true);
    expect(host.memory.host.read64(hpa)).toBe(0n);
    expect(() => host.memory.host.write8(hpa, 1)).toThrow(PrivatePageAccessError);
    for (const control of [td.tdr, ...td.tdcs, td.vcpus[0]]) {
      expect(host.memory.host.readBytes(control, 4096).every((b) => b === 0)).toBe(true);
    }
    const outputs = [
      host.tdx.seamcall({ rax: 12n, rcx: 0x1000n, rdx: BigInt(td.tdr) }), // TDH.MEM.RD is not offered
      host.tdx.seamcall({ rax: 25n, rcx: 0x1000n, rdx: BigInt(td.tdr) }),
      host.tdx.seamcall({ rax: 24n, rcx: BigInt(hpa) }),
      host.tdx.seamcall({ rax: 26n, rcx: BigInt(td.vcpus[0]), rdx: 0x1000000300000000n }),
    ];
    expectStatus(outputs[0].rax, T.TDX_OPERAND_INVALID);
    expectStatus(outputs[3].rax, T.TDX_TD_NON_DEBUG);
    for (const o of outputs) for (const v of Object.values(o)) expect(v & 0xffffn).not.toBe(0x5e5en);
  });

  it("PAGE.ADD and MR.EXTEND after MR.FINALIZE → TDX_OP_STATE_INCORRECT; the MRTD cannot change", () => {
    const host = makeHost();
    const td = buildTd(host);
    addPage(host, td, 0x1000, SECRET);
    finalize(host, td);
    const mrtd = host.tdx.tdhMngRd(td.tdr, 0x1310000300000000n).r8;
    mapSeptFor(host, td, 0x2000);
    expectStatus(
      host.tdx.tdhMemPageAdd(0x2000, 0, td.tdr, host.memory.allocPage(), host.memory.allocPage()),
      T.TDX_OP_STATE_INCORRECT,
    );
    expectStatus(host.tdx.tdhMrExtend(0x1000, td.tdr), T.TDX_OP_STATE_INCORRECT);
    expect(host.tdx.tdhMngRd(td.tdr, 0x1310000300000000n).r8).toBe(mrtd);
  });

  it("a page removed from a TD and re-added reads as zeros (host and guest)", () => {
    const host = makeHost();
    const td = buildTd(host);
    const hpa = addPage(host, td, 0x1000, SECRET);
    finalize(host, td);
    expectStatus(host.tdx.tdhMemRangeBlock(0x1000, 0, td.tdr), OK);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemPageRemove(0x1000, 0, td.tdr), OK);
    expect(host.memory.host.readBytes(hpa, 4096).every((b) => b === 0)).toBe(true);
    host.memory.host.write8(hpa, 0x33); // the host may reuse it now
    expectStatus(host.tdx.tdhMemPageAug(0x1000, 0, td.tdr, hpa), OK);
    const v = guest(host, td.vcpus[0]);
    expectStatus(tdcall(v, 6n, { rcx: 0x1000n }).rax, OK);
    expect(v.translate(0x1000, Access.READ)!.every((b) => b === 0)).toBe(true);
  });

  it("a private page cannot be mapped into a second TD, nor reached through its GPA space", () => {
    const host = makeHost();
    const a = buildTd(host);
    const b = buildTd(host);
    const hpa = addPage(host, a, 0x1000, SECRET);
    mapSeptFor(host, b, 0x1000);
    const src = host.memory.allocPage();
    expectStatus(host.tdx.tdhMemPageAdd(0x1000, 0, b.tdr, hpa, src), T.TDX_PAGE_METADATA_INCORRECT + 8n);
    expectStatus(host.tdx.tdhMemPageAug(0x1000, 0, b.tdr, hpa), T.TDX_PAGE_METADATA_INCORRECT + 8n);
    expectStatus(host.tdx.tdhMemSeptAdd(0x200000, 1, b.tdr, hpa), T.TDX_PAGE_METADATA_INCORRECT + 8n);
    expectStatus(host.tdx.tdhVpCreate(hpa, b.tdr), T.TDX_PAGE_METADATA_INCORRECT + 1n);
    expectStatus(
      host.tdx.tdhMemPageAdd(0x2000, 0, a.tdr, host.memory.allocPage(), hpa),
      T.TDX_OPERAND_INVALID + 9n,
    );
    finalize(host, a);
    finalize(host, b);
    const vb = guest(host, b.vcpus[0]);
    expect(vb.translate(0x1000, Access.READ)).toBeNull();
    expect(vb.memory.fault.kind).toBe(FaultKind.EPT_VIOLATION);
    // B's host maps A's private page into B's shared EPT: refused, never returned as B's memory
    host.tdx.setSharedEpt(b.tdr, () => hpa);
    expect(vb.translate(2 ** 47 + 0x1000, Access.READ)).toBeNull();
    expect(vb.memory.fault.kind).toBe(FaultKind.EPT_MISCONFIG);
  });

  it("the private-KeyID capability is taken by the module, the guest side by one taker; no state is reachable", () => {
    const host = makeHost();
    expect(() => host.memory.takePrivateKeyAccess()).toThrow();
    expect(() => host.tdx.takeGuestAccess()).toThrow(/already been taken/);
    const visible = host.tdx as unknown as Record<string, unknown>;
    expect(visible.ctx).toBeUndefined();
    // Only the configurable budget is a visible field; the state lives in ES-private fields.
    expect(Object.keys(visible)).toEqual(["enterBudget"]);
  });
});
