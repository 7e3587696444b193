// TDX_OPERAND_BUSY: TDH.VP.ENTER holds the vCPU's TDVPS lock for the whole TD run, so a SEAMCALL that
// reaches the same TDVPR meanwhile — here from a host callback running inside the guest executor, the
// one way two module calls overlap in this simulator — gets TDX_OPERAND_BUSY with the TDVPR operand.
import { describe, expect, it } from "vitest";
import { ExitReason, statusToBigInt, TdxStatus as T } from "../src/index.js";
import { addPage, addVcpu, buildTd, expectStatus, finalize, type Host, makeHost, OK } from "./helpers.js";

const BUSY = T.TDX_OPERAND_BUSY;

function twoVcpus(host: Host) {
  const td = buildTd(host);
  const second = addVcpu(host, td);
  addPage(host, td, 0x1000);
  finalize(host, td);
  return { td, first: td.vcpus[0], second };
}

describe("TDX_OPERAND_BUSY on the TDVPR of a running vCPU", () => {
  it("VP.ENTER / VP.RD / VP.WR / VP.FLUSH / VP.INIT / VP.ADDCX of the running vCPU are busy; another vCPU is not", () => {
    const host = makeHost();
    const { first, second } = twoVcpus(host);
    const seen: Record<string, bigint> = {};
    const out = new Int32Array(32);
    const tdx = host.tdx;
    let nested = false;
    tdx.setGuestExecutor({
      run(vcpu) {
        if (!nested) {
          nested = true;
          seen.enter = statusToBigInt(tdx.enter(first, undefined, out));
          seen.rd = tdx.tdhVpRd(first, 0x9110000300000100n).status;
          seen.wr = tdx.tdhVpWr(first, 0x9110000300000100n, 0n, 0n).status;
          seen.flush = tdx.tdhVpFlush(first).status;
          seen.init = tdx.tdhVpInit(first, 0n).status;
          seen.addcx = tdx.tdhVpAddcx(host.memory.allocPage(), first).status;
          seen.raw = tdx.seamcall({ rax: 26n, rcx: BigInt(first), rdx: 0x9110000300000100n }).rax;
          // The other vCPU of the same TD can be read (VCPU_STATE_DETAILS) and entered.
          seen.otherRd = tdx.tdhVpRd(second, 0x9110000300000100n).status;
          seen.otherEnter = statusToBigInt(tdx.enter(second, undefined, out));
        }
        vcpu.exit.reason = ExitReason.HLT;
        return 0; // TD exit
      },
    });
    expect(statusToBigInt(tdx.enter(first, undefined, out))).toBe(BigInt(ExitReason.HLT));
    expectStatus(seen.enter, BUSY + 1n);
    expectStatus(seen.rd, BUSY + 1n);
    expectStatus(seen.wr, BUSY + 1n);
    expectStatus(seen.flush, BUSY + 1n);
    expectStatus(seen.init, BUSY + 1n);
    expectStatus(seen.addcx, BUSY + 2n); // TDVPR in RDX
    expectStatus(seen.raw, BUSY + 1n);
    expectStatus(seen.otherRd, OK);
    expectStatus(seen.otherEnter, BigInt(ExitReason.HLT));
    // After the run the lock is free again.
    expectStatus(tdx.tdhVpRd(first, 0x9110000300000100n), OK);
  });

  it("the lock is released when the executor throws", () => {
    const host = makeHost();
    const { first } = twoVcpus(host);
    host.tdx.setGuestExecutor({
      run() {
        throw new Error("executor failure");
      },
    });
    expect(() => host.tdx.enter(first, undefined, new Int32Array(32))).toThrow("executor failure");
    expectStatus(host.tdx.tdhVpRd(first, 0x9110000300000100n), OK);
  });
});
