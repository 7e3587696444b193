// TD and vCPU lifecycle SEAMCALLs: every success path and every error path, exact 64-bit statuses.
import { describe, expect, it } from "vitest";
import { MIN_NUM_TDVPS_PAGES, PageType, TdxStatus as T, TdFieldId } from "../src/index.js";
import {
  addVcpu,
  buildTd,
  createTd,
  expectStatus,
  finalize,
  freshHkid,
  initTd,
  internals,
  makeHost,
  OK,
} from "./helpers.js";

const RCX = 1n;
const RDX = 2n;
const R8 = 8n;

describe("TDH.MNG.CREATE", () => {
  it("creates a TD and marks the TDR page PT_TDR; the HKID is then taken", () => {
    const host = makeHost();
    const tdr = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngCreate(tdr, 5), OK);
    const md = host.tdx.tdhPhymemPageRdmd(tdr);
    expect(md.rcx).toBe(BigInt(PageType.PT_TDR));
    expectStatus(host.tdx.tdhMngCreate(host.memory.allocPage(), 5), T.TDX_HKID_NOT_FREE);
  });
  it("rejects shared, global and out-of-range HKIDs (RDX)", () => {
    const host = makeHost();
    const tdr = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngCreate(tdr, 0), T.TDX_OPERAND_INVALID + RDX);
    expectStatus(host.tdx.tdhMngCreate(tdr, 64), T.TDX_OPERAND_INVALID + RDX);
    expectStatus(host.tdx.tdhMngCreate(tdr, 1), T.TDX_HKID_NOT_FREE); // global KeyID is reserved
  });
  it("checks the TDR operand (RCX): alignment, range, page type", () => {
    const host = makeHost();
    expectStatus(host.tdx.tdhMngCreate(0x1234, 7), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMngCreate(2 ** 40, 7), T.TDX_OPERAND_ADDR_RANGE_ERROR + RCX);
    expectStatus(host.tdx.tdhMngCreate(2 ** 46 + 0x100000, 7), T.TDX_OPERAND_INVALID + RCX); // HKID bits set
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngCreate(td.tdr, 9), T.TDX_PAGE_METADATA_INCORRECT + RCX);
    expectStatus(host.tdx.tdhMngCreate(td.tdcs[0], 9), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
});

describe("TDH.MNG.KEY.CONFIG / ADDCX / INIT", () => {
  it("KEY.CONFIG twice → TDX_KEY_CONFIGURED; on a non-TDR → PAGE_METADATA_INCORRECT (RCX)", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngKeyConfig(td.tdr), T.TDX_KEY_CONFIGURED);
    expectStatus(host.tdx.tdhMngKeyConfig(td.tdcs[0]), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
  it("ADDCX before KEY.CONFIG → TDX_TD_KEYS_NOT_CONFIGURED; too many → TDX_TDCX_NUM_INCORRECT", () => {
    const host = makeHost();
    const tdr = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngCreate(tdr, freshHkid()), OK);
    expectStatus(host.tdx.tdhMngAddcx(host.memory.allocPage(), tdr), T.TDX_TD_KEYS_NOT_CONFIGURED);
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngAddcx(host.memory.allocPage(), td.tdr), T.TDX_TDCX_NUM_INCORRECT + RDX);
    expectStatus(host.tdx.tdhMngAddcx(td.tdcs[1], td.tdr), T.TDX_TDCX_NUM_INCORRECT + RDX);
  });
  it("ADDCX with a used page → PAGE_METADATA_INCORRECT (RCX)", () => {
    const host = makeHost();
    const tdr = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngCreate(tdr, freshHkid()), OK);
    expectStatus(host.tdx.tdhMngKeyConfig(tdr), OK);
    expectStatus(host.tdx.tdhMngAddcx(tdr, tdr), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
  it("MNG.INIT needs every TDCS page, a 1024-aligned TD_PARAMS, and runs once", () => {
    const host = makeHost();
    const tdr = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngCreate(tdr, freshHkid()), OK);
    expectStatus(host.tdx.tdhMngKeyConfig(tdr), OK);
    expectStatus(host.tdx.tdhMngAddcx(host.memory.allocPage(), tdr), OK);
    const params = host.memory.allocPage();
    expectStatus(host.tdx.tdhMngInit(tdr, params), T.TDX_TDCS_NOT_ALLOCATED);
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngInit(td.tdr, params + 512), T.TDX_OPERAND_INVALID + RDX);
    expectStatus(initTd(host, td), OK);
    expectStatus(initTd(host, td), T.TDX_OP_STATE_INCORRECT);
  });
  it("MNG.INIT with bad TD_PARAMS fields returns the field's operand id", () => {
    const host = makeHost();
    expectStatus(initTd(host, createTd(host), { attributes: 1n << 31n }), T.TDX_OPERAND_INVALID + 64n);
  });
});

describe("TDH.MNG.RD / WR", () => {
  it("reads TD fields; refuses unknown ids, writes to read-only fields, and reads before INIT", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngRd(td.tdr, TdFieldId.ATTRIBUTES), T.TDX_OP_STATE_INCORRECT);
    expectStatus(initTd(host, td, { attributes: 1n << 28n, maxVcpus: 8 }), OK);
    const a = host.tdx.tdhMngRd(td.tdr, TdFieldId.ATTRIBUTES);
    expectStatus(a, OK);
    expect(a.r8).toBe(1n << 28n);
    expect(host.tdx.tdhMngRd(td.tdr, TdFieldId.MAX_VCPUS).r8).toBe(8n);
    expect(host.tdx.tdhMngRd(td.tdr, TdFieldId.TD_CTLS).r8).toBe(1n);
    expect(host.tdx.tdhMngRd(td.tdr, TdFieldId.TSC_MULTIPLIER).r8).toBe(1n << 48n);
    // CPUID_VALUES as KVM's tdx_read_cpuid builds the id: leaf 0 (no subleaf: +0x1FE), 0x21, 0x7.0
    const cpuidId = (leaf: number, subleaf: number | undefined, element: number) =>
      0x9410000300000000n +
      BigInt(
        ((leaf & 0x7f) << 9) |
          ((leaf >>> 31) << 16) |
          (subleaf === undefined ? 0x1fe : subleaf << 1) |
          element,
      );
    const leaf0 = host.tdx.tdhMngRd(td.tdr, cpuidId(0, undefined, 0));
    expectStatus(leaf0, OK);
    expect(leaf0.r8! & 0xffffffffn).toBe(0x23n);
    expect(host.tdx.tdhMngRd(td.tdr, cpuidId(0x21, 0, 0)).r8! >> 32n).toBe(0x65746e49n);
    expect(host.tdx.tdhMngRd(td.tdr, cpuidId(0x80000008, undefined, 0)).r8! & 0xffn).toBe(0x34n);
    expectStatus(host.tdx.tdhMngRd(td.tdr, cpuidId(0x2, undefined, 0)), T.TDX_METADATA_FIELD_ID_INCORRECT);
    expectStatus(host.tdx.tdhMngRd(td.tdr, 0x1110000300000fffn), T.TDX_METADATA_FIELD_ID_INCORRECT);
    expectStatus(host.tdx.tdhMngRd(td.tdr, 0x11100003ff000000n), T.TDX_METADATA_FIELD_ID_INCORRECT);
    expectStatus(host.tdx.tdhMngWr(td.tdr, TdFieldId.ATTRIBUTES, 0n, ~0n), T.TDX_METADATA_FIELD_NOT_WRITABLE);
  });
});

describe("vCPUs: TDH.VP.CREATE / ADDCX / INIT / FLUSH", () => {
  it("VP.CREATE before MNG.INIT → OP_STATE_INCORRECT; bad TDR → PAGE_METADATA_INCORRECT (RDX)", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(host.tdx.tdhVpCreate(host.memory.allocPage(), td.tdr), T.TDX_OP_STATE_INCORRECT);
    expectStatus(
      host.tdx.tdhVpCreate(host.memory.allocPage(), td.tdcs[0]),
      T.TDX_PAGE_METADATA_INCORRECT + RDX,
    );
    expectStatus(initTd(host, td), OK);
    expectStatus(host.tdx.tdhVpCreate(td.tdcs[0], td.tdr), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
  it("VP.INIT needs all TDCX pages, runs once, honours MAX_VCPUS", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(initTd(host, td, { maxVcpus: 1 }), OK);
    const tdvpr = host.memory.allocPage();
    expectStatus(host.tdx.tdhVpCreate(tdvpr, td.tdr), OK);
    expectStatus(host.tdx.tdhVpInit(tdvpr, 0n), T.TDX_TDCX_NUM_INCORRECT + RCX);
    for (let i = 0; i < MIN_NUM_TDVPS_PAGES - 1; i++)
      expectStatus(host.tdx.tdhVpAddcx(host.memory.allocPage(), tdvpr), OK);
    expectStatus(host.tdx.tdhVpAddcx(host.memory.allocPage(), tdvpr), T.TDX_TDCX_NUM_INCORRECT + RDX);
    expectStatus(host.tdx.tdhVpInit(tdvpr, 7n), OK);
    expectStatus(host.tdx.tdhVpInit(tdvpr, 7n), T.TDX_VCPU_STATE_INCORRECT);
    expectStatus(host.tdx.tdhVpAddcx(host.memory.allocPage(), tdvpr), T.TDX_VCPU_STATE_INCORRECT);
    const second = host.memory.allocPage();
    expectStatus(host.tdx.tdhVpCreate(second, td.tdr), OK);
    for (let i = 0; i < MIN_NUM_TDVPS_PAGES - 1; i++)
      expectStatus(host.tdx.tdhVpAddcx(host.memory.allocPage(), second), OK);
    expectStatus(host.tdx.tdhVpInit(second, 0n), T.TDX_MAX_VCPUS_EXCEEDED);
    expectStatus(host.tdx.tdhVpInit(td.tdr, 0n), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
  it("VP.INIT version 1 refuses a duplicate x2APIC ID (TDX_X2APIC_ID_NOT_UNIQUE) and IDs above 32 bits (R8)", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(initTd(host, td), OK);
    const mk = () => {
      const p = host.memory.allocPage();
      expectStatus(host.tdx.tdhVpCreate(p, td.tdr), OK);
      for (let i = 0; i < MIN_NUM_TDVPS_PAGES - 1; i++)
        expectStatus(host.tdx.tdhVpAddcx(host.memory.allocPage(), p), OK);
      return p;
    };
    const a = mk();
    const b = mk();
    expectStatus(host.tdx.tdhVpInit(a, 0n, 3), OK);
    expectStatus(host.tdx.tdhVpInit(b, 0n, 3), T.TDX_X2APIC_ID_NOT_UNIQUE + 3n);
    expectStatus(host.tdx.tdhVpInit(b, 0n, 2 ** 32), T.TDX_OPERAND_INVALID + R8);
    expectStatus(
      host.tdx.seamcall({ rax: (1n << 16n) | 22n, rcx: BigInt(b), r8: 1n << 40n }).rax,
      T.TDX_OPERAND_INVALID + R8,
    );
    expectStatus(host.tdx.tdhVpInit(b, 0n, 4), OK);
  });
  it("VP.RD/WR on a non-debug TD → TDX_TD_NON_DEBUG; a debug TD exposes GPRs", () => {
    const host = makeHost();
    const td = buildTd(host);
    expectStatus(host.tdx.tdhVpRd(td.vcpus[0], 0x1000000300000003n), T.TDX_TD_NON_DEBUG);
    expectStatus(host.tdx.tdhVpWr(td.vcpus[0], 0x1000000300000003n, 1n, ~0n), T.TDX_TD_NON_DEBUG);
    const dbg = buildTd(host, { attributes: 1n });
    const rbx = host.tdx.tdhVpRd(dbg.vcpus[0], 0x1000000300000003n);
    expectStatus(rbx, OK);
    expect(rbx.r8).toBe(48n);
    expectStatus(host.tdx.tdhVpWr(dbg.vcpus[0], 0x1000000300000003n, 0x55n, 0xffn), OK);
    expect(host.tdx.tdhVpRd(dbg.vcpus[0], 0x1000000300000003n).r8).toBe(0x55n);
    expectStatus(host.tdx.tdhVpRd(dbg.vcpus[0], 0x1000000300000033n), T.TDX_METADATA_FIELD_ID_INCORRECT);
  });
  it("VP.RD/WR on any TD: VCPU_STATE_DETAILS, PEND_NMI and the posted-interrupt VMCS fields KVM programs", () => {
    const host = makeHost();
    const td = buildTd(host);
    const tdvpr = td.vcpus[0];
    const details = 0x9110000300000100n; // TDVPS_STATE_NON_ARCH(0x100)
    expect(host.tdx.tdhVpRd(tdvpr, details).r8).toBe(0n);
    host.guest.vcpu(tdvpr)!.state.vmxip = true;
    expect(host.tdx.tdhVpRd(tdvpr, details).r8).toBe(1n);
    expectStatus(host.tdx.tdhVpWr(tdvpr, details, 0n, 1n), T.TDX_METADATA_FIELD_NOT_WRITABLE);
    const pendNmi = 0x200000000000000bn; // TDVPS_MANAGEMENT(11)
    expectStatus(host.tdx.tdhVpWr(tdvpr, pendNmi, 1n, 1n), OK);
    expect(host.guest.vcpu(tdvpr)!.state.pendNmi).toBe(true);
    const pinBased = 0x4000n; // TDVPS_VMCS(PIN_BASED_VM_EXEC_CONTROL)
    expectStatus(host.tdx.tdhVpWr(tdvpr, pinBased, 0x80n, 0x80n), OK);
    expect(host.tdx.tdhVpRd(tdvpr, pinBased).r8).toBe(0x80n);
    expectStatus(host.tdx.tdhVpRd(tdvpr, 0x681en), T.TDX_METADATA_FIELD_ID_INCORRECT); // GUEST_RIP: not offered
    expectStatus(host.tdx.tdhVpRd(tdvpr, 0x1100000300000000n), T.TDX_TD_NON_DEBUG);
  });
  it("VP.FLUSH dissociates once; then TDX_VCPU_NOT_ASSOCIATED", () => {
    const host = makeHost();
    const td = buildTd(host);
    expectStatus(host.tdx.tdhVpFlush(td.vcpus[0]), OK);
    expectStatus(host.tdx.tdhVpFlush(td.vcpus[0]), T.TDX_VCPU_NOT_ASSOCIATED);
    expectStatus(host.tdx.tdhVpFlush(td.tdr), T.TDX_PAGE_METADATA_INCORRECT + RCX);
  });
});

describe("TDH.MR.FINALIZE", () => {
  it("needs a vCPU (TDX_NO_VCPUS), runs once (OP_STATE_INCORRECT)", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(host.tdx.tdhMrFinalize(td.tdr), T.TDX_OP_STATE_INCORRECT);
    expectStatus(initTd(host, td), OK);
    expectStatus(host.tdx.tdhMrFinalize(td.tdr), T.TDX_NO_VCPUS);
    addVcpu(host, td);
    finalize(host, td);
    expectStatus(host.tdx.tdhMrFinalize(td.tdr), T.TDX_OP_STATE_INCORRECT);
    expectStatus(host.tdx.tdhVpCreate(host.memory.allocPage(), td.tdr), T.TDX_OP_STATE_INCORRECT);
  });
});

describe("teardown: VP.FLUSH → MNG.VPFLUSHDONE → KEY.FREEID → PHYMEM.PAGE.RECLAIM", () => {
  it("follows the KVM order and frees every page and the HKID", () => {
    const host = makeHost();
    const td = buildTd(host);
    finalize(host, td);
    expectStatus(host.tdx.tdhMngKeyFreeid(td.tdr), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhMngVpflushdone(td.tdr), T.TDX_FLUSHVP_NOT_DONE);
    expectStatus(host.tdx.tdhVpFlush(td.vcpus[0]), OK);
    expectStatus(host.tdx.tdhPhymemPageReclaim(td.tdcs[0]), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhMngVpflushdone(td.tdr), OK);
    expectStatus(host.tdx.tdhMngVpflushdone(td.tdr), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhVpFlush(td.vcpus[0]), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhMngCreate(host.memory.allocPage(), td.hkid), T.TDX_HKID_NOT_FREE);
    expectStatus(host.tdx.tdhPhymemCacheWb(0n), OK);
    expectStatus(host.tdx.tdhPhymemCacheWb(2n), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhMngKeyFreeid(td.tdr), OK);
    expectStatus(host.tdx.tdhMngKeyFreeid(td.tdr), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhPhymemPageReclaim(td.tdr), T.TDX_TD_ASSOCIATED_PAGES_EXIST);
    const owned = [...internals(host).pamt.assigned()]
      .filter(([, e]) => e.owner === td.tdr)
      .map(([hpa]) => hpa);
    for (const hpa of owned) {
      const r = host.tdx.tdhPhymemPageReclaim(hpa);
      expectStatus(r, OK);
      expect(r.rdx).toBe(BigInt(td.tdr));
    }
    const tdr = host.tdx.tdhPhymemPageReclaim(td.tdr);
    expectStatus(tdr, OK);
    expect(tdr.rcx).toBe(BigInt(PageType.PT_TDR));
    expect(internals(host).pamt.size).toBe(0);
    expectStatus(host.tdx.tdhPhymemPageReclaim(td.tdr), T.TDX_PAGE_METADATA_INCORRECT + RCX);
    expectStatus(host.tdx.tdhPhymemPageReclaim(0x10), T.TDX_OPERAND_INVALID + RCX);
    for (const hpa of owned)
      expectStatus(host.tdx.tdhPhymemPageWbinvd(BigInt(hpa) | (BigInt(td.hkid) << 46n)), OK);
    expectStatus(host.tdx.tdhPhymemPageWbinvd(BigInt(td.tdr) | (1n << 46n)), OK); // global KeyID
    expectStatus(host.tdx.tdhPhymemPageWbinvd(BigInt(td.tdr + 8)), T.TDX_OPERAND_INVALID + RCX);
    expectStatus(host.tdx.tdhPhymemPageWbinvd(BigInt(td.tdr) | (64n << 46n)), T.TDX_OPERAND_INVALID + RCX);
    for (const hpa of [...owned, td.tdr]) host.memory.freePage(hpa); // all back under KeyID 0
    expectStatus(host.tdx.tdhMngCreate(host.memory.allocPage(), td.hkid), OK);
  });
  it("VPFLUSHDONE is refused on a TD that was already blocked; KEY.FREEID before VPFLUSHDONE is refused", () => {
    const host = makeHost();
    const td = createTd(host);
    expectStatus(host.tdx.tdhMngKeyFreeid(td.tdr), T.TDX_LIFECYCLE_STATE_INCORRECT);
    expectStatus(host.tdx.tdhMngVpflushdone(td.tdr), OK);
    expectStatus(host.tdx.tdhMngAddcx(host.memory.allocPage(), td.tdr), T.TDX_TD_KEYS_NOT_CONFIGURED);
    expectStatus(host.tdx.tdhMngInit(td.tdr, host.memory.allocPage()), T.TDX_TD_KEYS_NOT_CONFIGURED);
  });
});
