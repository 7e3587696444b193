// MRTD, RTMR and TDREPORT: checked against an independent computation with plain SHA-384.
import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  defaultHash,
  nobleHash,
  nodeCryptoHash,
  TdcallLeaf,
  TdcallOutcome,
  TdFieldId,
  TdReportOffset,
} from "../src/index.js";
import {
  addPage,
  buildTd,
  expectStatus,
  finalize,
  guest,
  hex,
  makeHost,
  mapSeptFor,
  OK,
  runnableTd,
  tdcall,
} from "./helpers.js";

/** MRTD by the spec's formula (§8), written independently of the module's code. */
function expectedMrtd(ops: ({ add: number } | { extend: number; data: Uint8Array })[]): string {
  const h = createHash("sha384");
  for (const op of ops) {
    const block = Buffer.alloc(128);
    if ("add" in op) {
      block.write("MEM.PAGE.ADD", 0, "ascii");
      block.writeBigUInt64LE(BigInt(op.add), 16);
      h.update(block);
    } else {
      block.write("MR.EXTEND", 0, "ascii");
      block.writeBigUInt64LE(BigInt(op.extend), 16);
      h.update(block);
      h.update(op.data);
    }
  }
  return h.digest("hex");
}

function mrtdOf(host: ReturnType<typeof makeHost>, tdr: number): string {
  const out = Buffer.alloc(48);
  for (let i = 0; i < 6; i++)
    out.writeBigUInt64LE(host.tdx.tdhMngRd(tdr, TdFieldId.MRTD + BigInt(i)).r8!, 8 * i);
  return out.toString("hex");
}

describe("MRTD", () => {
  it("matches the spec's worked examples A, B, C and the empty TD", () => {
    const empty = makeHost();
    const e = buildTd(empty);
    finalize(empty, e);
    expect(mrtdOf(empty, e.tdr)).toBe(createHash("sha384").update(Buffer.alloc(0)).digest("hex"));

    const a = makeHost();
    const ta = buildTd(a);
    addPage(a, ta, 0xfffff000);
    finalize(a, ta);
    expect(mrtdOf(a, ta.tdr)).toBe(
      "8d411e4377a0da03b249acbe9a7939b44b4483b5a6c81341f00d60c1f417257f9a5c1c03f2f223c59f010f4933f238b8",
    );

    const b = makeHost();
    const tb = buildTd(b);
    addPage(b, tb, 0xfffff000);
    for (let k = 0; k < 16; k++) expectStatus(b.tdx.tdhMrExtend(0xfffff000 + k * 0x100, tb.tdr), OK);
    finalize(b, tb);
    expect(mrtdOf(b, tb.tdr)).toBe(
      "07f08f558c5e2593b33452cf00c12a165c07b027a36424ecfa15ebf39b5415e0ed62418458e4bfd77f16fec0f1568dc9",
    );

    const c = makeHost();
    const tc = buildTd(c);
    const data = new Uint8Array(4096).map((_, i) => i & 0xff);
    addPage(c, tc, 0x1000, data);
    for (let k = 0; k < 16; k++) expectStatus(c.tdx.tdhMrExtend(0x1000 + k * 0x100, tc.tdr), OK);
    finalize(c, tc);
    expect(mrtdOf(c, tc.tdr)).toBe(
      "15a8464628b6214951c4a1b57775507dd950263654e8790e257995b45013c84aba1d87a3bcbc1929b5f7db6d3e92cad6",
    );
  });

  it("computes a small image's MRTD independently (KVM order: each page then its 16 extends)", () => {
    const host = makeHost();
    const td = buildTd(host);
    const ops: Parameters<typeof expectedMrtd>[0] = [];
    for (let p = 0; p < 5; p++) {
      const gpa = 0x100000 + p * 0x1000;
      const data = new Uint8Array(4096).map((_, i) => (i * 7 + p * 13) & 0xff);
      addPage(host, td, gpa, data);
      ops.push({ add: gpa });
      if (p % 2 === 0) {
        for (let k = 0; k < 16; k++) {
          expectStatus(host.tdx.tdhMrExtend(gpa + k * 256, td.tdr), OK);
          ops.push({ extend: gpa + k * 256, data: data.subarray(k * 256, k * 256 + 256) });
        }
      }
    }
    finalize(host, td);
    expect(mrtdOf(host, td.tdr)).toBe(expectedMrtd(ops));
  });

  it("stays exact across 64 KiB hash blocks, GPAs above 4 GiB, out-of-order extends and a re-added page", () => {
    const host = makeHost();
    const td = buildTd(host);
    const ops: Parameters<typeof expectedMrtd>[0] = [];
    const extend = (gpa: number, data: Uint8Array, k: number) => {
      expectStatus(host.tdx.tdhMrExtend(gpa + k * 256, td.tdr), OK);
      ops.push({ extend: gpa + k * 256, data: data.subarray(k * 256, k * 256 + 256) });
    };
    const pageData = (seed: number) => new Uint8Array(4096).map((_, i) => (i * 11 + seed * 29) & 0xff);
    // 12 pages × 6272 stream bytes: the stream crosses a 64 KiB block boundary.
    const base = 0x1_2340_0000;
    const datas: Uint8Array[] = [];
    for (let p = 0; p < 12; p++) {
      datas.push(pageData(p));
      addPage(host, td, base + p * 0x1000, datas[p]);
      ops.push({ add: base + p * 0x1000 });
    }
    for (let p = 11; p >= 0; p--) for (let k = 15; k >= 0; k -= 3) extend(base + p * 0x1000, datas[p], k);
    // Page 3 removed before finalize (no blocking needed in the build state) and its HPA re-added with
    // other contents: MR.EXTEND must measure the new bytes.
    const gpa3 = base + 3 * 0x1000;
    extend(gpa3, datas[3], 0);
    const removed = host.tdx.tdhMemPageRemove(gpa3, 0, td.tdr);
    expectStatus(removed, OK);
    const hpa = Number(removed.rcx);
    const src = host.memory.allocPage();
    const fresh = pageData(99);
    host.memory.host.writeBytes(src, fresh);
    expectStatus(host.tdx.tdhMemPageAdd(gpa3, 0, td.tdr, hpa, src), OK);
    ops.push({ add: gpa3 });
    for (let k = 0; k < 16; k++) extend(gpa3, fresh, k);
    finalize(host, td);
    expect(mrtdOf(host, td.tdr)).toBe(expectedMrtd(ops));
  });

  it("uses node:crypto where Node's builtins are reachable (the faster provider)", () => {
    expect(defaultHash().name).toBe("node:crypto");
  });

  it("both hash providers give the same digests, streamed or not", () => {
    const node = nodeCryptoHash()!;
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    expect(hex(node.sha384(data))).toBe(hex(nobleHash.sha384(data)));
    const s1 = node.sha384Stream();
    const s2 = nobleHash.sha384Stream();
    for (let i = 0; i < data.length; i += 384) {
      s1.update(data.subarray(i, i + 384));
      s2.update(data.subarray(i, i + 384));
    }
    expect(hex(s1.digest())).toBe(hex(nobleHash.sha384(data)));
    expect(hex(s2.digest())).toBe(hex(nobleHash.sha384(data)));
    expect(hex(nobleHash.hmacSha256(data.subarray(0, 16), data))).toBe(
      createHmac("sha256", data.subarray(0, 16)).update(data).digest("hex"),
    );
  });
});

describe("RTMR and TDREPORT (TDG.MR.RTMR.EXTEND, TDG.MR.REPORT)", () => {
  it("extends RTMRs as SHA-384(old || data) and builds the 1024-byte report", () => {
    const host = makeHost();
    const td = buildTd(host, { attributes: 1n << 28n, mrConfigId: new Uint8Array(48).fill(0xc1) });
    const eventPage = addPage(host, td, 0x2000, new Uint8Array(4096).fill(0x5a));
    void eventPage;
    mapSeptFor(host, td, 0x3000);
    addPage(host, td, 0x3000);
    finalize(host, td);
    const v = guest(host, td.vcpus[0]);
    const ext = tdcall(v, BigInt(TdcallLeaf.TDG_MR_RTMR_EXTEND), { rcx: 0x2040n, rdx: 2n });
    expect(ext.outcome).toBe(TdcallOutcome.COMPLETE);
    expectStatus(ext.rax, OK);
    const rtmr2 = createHash("sha384").update(Buffer.alloc(48)).update(Buffer.alloc(48, 0x5a)).digest();

    // REPORTDATA from private memory at 0x2000 (all 0x5a), report written to 0x3000 (1024-aligned).
    const rep = tdcall(v, BigInt(TdcallLeaf.TDG_MR_REPORT), { rcx: 0x3400n, rdx: 0x2000n, r8: 0n });
    expectStatus(rep.rax, OK);
    const page = v.translate(0x3000, 1)!;
    const r = Buffer.from(page.subarray(0x400, 0x800));
    expect(r[0]).toBe(0x81);
    expect(r.subarray(TdReportOffset.REPORTDATA, TdReportOffset.REPORTDATA + 64)).toEqual(
      Buffer.alloc(64, 0x5a),
    );
    expect(r.readBigUInt64LE(TdReportOffset.TDINFO_ATTRIBUTES)).toBe(1n << 28n);
    expect(r.readBigUInt64LE(TdReportOffset.TDINFO_XFAM)).toBe(3n);
    expect(r.subarray(TdReportOffset.MRTD, TdReportOffset.MRTD + 48).toString("hex")).toBe(
      mrtdOf(host, td.tdr),
    );
    expect(r.subarray(TdReportOffset.MRCONFIGID, TdReportOffset.MRCONFIGID + 48)).toEqual(
      Buffer.alloc(48, 0xc1),
    );
    expect(r.subarray(TdReportOffset.RTMR0 + 96, TdReportOffset.RTMR0 + 144)).toEqual(rtmr2);
    expect(r.subarray(TdReportOffset.RTMR0, TdReportOffset.RTMR0 + 48)).toEqual(Buffer.alloc(48));
    const teeInfoHash = createHash("sha384").update(r.subarray(512, 1024)).digest();
    expect(r.subarray(TdReportOffset.TEE_INFO_HASH, TdReportOffset.TEE_INFO_HASH + 48)).toEqual(teeInfoHash);
    const tcbHash = createHash("sha384").update(r.subarray(256, 512)).digest();
    expect(r.subarray(32, 80)).toEqual(tcbHash);
    const key = createHash("sha384").update("tdxsim simulated report MAC key").digest();
    expect(r.subarray(224, 256)).toEqual(createHmac("sha256", key).update(r.subarray(0, 224)).digest());
    // RTMR also readable through TDG.VM.RD (field 0x40 + 6i + j)
    const q = tdcall(v, BigInt(TdcallLeaf.TDG_VM_RD), { rcx: 0n, rdx: TdFieldId.RTMR + 12n });
    expect(q.reg("r8")).toBe(rtmr2.readBigUInt64LE(0));
  });

  it("TDG.MR.VERIFYREPORT accepts this simulator's reports and refuses tampered ones", () => {
    const host = makeHost();
    const { v } = runnableTd(host, {}, { gpa: 0x2000 });
    expectStatus(tdcall(v, 4n, { rcx: 0x2000n, rdx: 0x2c00n, r8: 0n }).rax, OK);
    expectStatus(tdcall(v, 22n, { rcx: 0x2000n }).rax, OK);
    const page = v.translate(0x2000, 2)!;
    page[128] ^= 1; // REPORTDATA changed: MAC no longer matches
    expectStatus(tdcall(v, 22n, { rcx: 0x2000n }).rax, 0xc000100100000000n);
    page[128] ^= 1;
    page[16] ^= 1; // CPUSVN
    expectStatus(tdcall(v, 22n, { rcx: 0x2000n }).rax, 0xc000100000000000n);
    expectStatus(tdcall(v, 22n, { rcx: 0x2080n }).rax, 0xc000010000000001n);
  });

  it("error paths: alignment, index, subtype", () => {
    const host = makeHost();
    const { v } = runnableTd(host, {}, { gpa: 0x2000 });
    const E = 0xc000010000000000n;
    expect(tdcall(v, 2n, { rcx: 0x2010n, rdx: 0n }).rax).toBe(E + 1n);
    expect(tdcall(v, 2n, { rcx: 0x2000n, rdx: 4n }).rax).toBe(E + 2n);
    expect(tdcall(v, 2n, { rcx: 2n ** 47n + 0x2000n, rdx: 0n }).rax).toBe(E + 1n);
    expect(tdcall(v, 4n, { rcx: 0x2200n, rdx: 0x2000n, r8: 0n }).rax).toBe(E + 1n);
    expect(tdcall(v, 4n, { rcx: 0x2000n, rdx: 0x2010n, r8: 0n }).rax).toBe(E + 2n);
    expect(tdcall(v, 4n, { rcx: 0x2000n, rdx: 0x2000n, r8: 1n }).rax).toBe(E + 8n);
  });
});
