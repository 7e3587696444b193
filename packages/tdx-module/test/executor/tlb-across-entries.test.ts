// The TD vCPU keeps its translations across TDH.VP.ENTER only while they still hold: a Secure-EPT
// change made while the vCPU was out, or any shared-EPT answer (the host edits its shared EPT without
// telling the module), flushes them at the next entry.
import { describe, expect, it } from "vitest";
import {
  ExitReason,
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  GUEST_SHARED_WINDOW,
  getReg,
  longModeGuest,
  SHARED_EPT_VIOLATION,
  type SharedEpt,
  statusToBigInt,
  TdCpuExecutor,
  tdvmcallOut,
} from "../../src/index.js";
import { addPage, buildTd, expectStatus, finalize, makeHost, OK } from "../helpers.js";

const SHARED = 2 ** 47;
const DATA_GPA = 0x10_0000;

/** A guest that reads the dword at `address` and reports it (port 0x20), forever. */
function setup(address: number, sharedEpt?: SharedEpt) {
  const image = longModeGuest(`
again:
  mov ebx, ${address} ; mov eax, DWORD PTR [rbx]
  ${tdvmcallOut(0x20, "rax")}
  jmp again
ve_handler: gp_handler: ud_handler: jmp ve_handler`);
  const host = makeHost();
  const td = buildTd(host);
  for (let i = 0; i < GUEST_IMAGE_PAGES; i++)
    addPage(host, td, GUEST_IMAGE_BASE + i * 4096, image.subarray(i * 4096, (i + 1) * 4096));
  addPage(host, td, DATA_GPA, new Uint8Array(4096).fill(0x5a));
  finalize(host, td);
  if (sharedEpt) host.tdx.setSharedEpt(td.tdr, sharedEpt);
  host.tdx.setGuestExecutor(new TdCpuExecutor());
  const out = new Int32Array(32);
  const enter = () => statusToBigInt(host.tdx.enter(td.vcpus[0]!, new Int32Array(32), out));
  return { host, td, out, enter };
}

describe("TdCpuExecutor: translations across TD entries", () => {
  it("a private page removed between two TDVMCALLs is an EPT violation at the next read, not the old page", () => {
    const { host, td, out, enter } = setup(DATA_GPA);
    expect(enter()).toBe(BigInt(ExitReason.TDCALL));
    expect(getReg(out, 15)).toBe(0x5a5a5a5an);
    expect(enter()).toBe(BigInt(ExitReason.TDCALL)); // translations kept: same answer
    expectStatus(host.tdx.tdhMemRangeBlock(DATA_GPA, 0, td.tdr), OK);
    expectStatus(host.tdx.tdhMemTrack(td.tdr), OK);
    expectStatus(host.tdx.tdhMemPageRemove(DATA_GPA, 0, td.tdr), OK);
    expect(enter()).toBe(BigInt(ExitReason.EPT_VIOLATION));
    expect(getReg(out, 8)).toBe(BigInt(DATA_GPA));
  });

  it("a shared GPA the host remaps between two TDVMCALLs reads the new frame", () => {
    let frame = 0;
    const { host, out, enter } = setup(GUEST_SHARED_WINDOW, (gpa) =>
      gpa - (gpa % 4096) === SHARED ? frame : SHARED_EPT_VIOLATION,
    );
    const a = host.memory.allocPage();
    const b = host.memory.allocPage();
    host.memory.host.writeBytes(a, new Uint8Array([1, 0, 0, 0]));
    host.memory.host.writeBytes(b, new Uint8Array([2, 0, 0, 0]));
    frame = a;
    expect(enter()).toBe(BigInt(ExitReason.TDCALL));
    expect(getReg(out, 15)).toBe(1n);
    frame = b;
    expect(enter()).toBe(BigInt(ExitReason.TDCALL));
    expect(getReg(out, 15)).toBe(2n);
  });
});
