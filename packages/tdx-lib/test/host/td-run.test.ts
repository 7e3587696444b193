// tdVcpuRun, tdxRun, the assertion helpers and the MapGPA conversion loop against real KVM_RUN
// exits. KVM_RUN needs a CPU behind TDH.VP.ENTER; until kvm's x86 executor lands, a scripted
// test double issues the guest's TDVMCALLs (the guest code itself runs in the CPU tests).
import { KvmProcess } from "@tdxsim/kvm";
import {
  getReg,
  setReg,
  TdcallOutcome,
  type TdGuestExecutor,
  TdRunResult,
  type TdVcpu,
} from "@tdxsim/tdx-module";
import { describe, expect, it } from "vitest";
import {
  addrGva2Gpa,
  assembleGuestImage,
  GuestProgram,
  TdxTestAssertionError,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdVcpuAdd,
  tdVcpuRun,
  tdxRun,
  tdxTestAssertFatal,
  tdxTestAssertSuccess,
  vcpuRunAndManageMemoryConversions,
  vmVaddrAllocShared,
} from "../../src/index.js";
import { supportedCpuid } from "./td-fixture.js";

/** Plays TDG.VP.VMCALLs in order, one per entry; records R10 as the guest sees it afterwards. */
class TdvmcallScript implements TdGuestExecutor {
  private next = 0;
  readonly r10Seen: bigint[] = [];
  constructor(readonly calls: [leaf: bigint, r12: bigint, r13: bigint, r14: bigint, r15: bigint][]) {}

  run(v: TdVcpu): number {
    v.regs.longMode64 = true;
    v.regs.cpl = 0;
    if (this.next > 0) this.r10Seen.push(getReg(v.regs.gpr, 10));
    const call = this.calls[this.next++];
    if (!call) return TdRunResult.BUDGET_EXHAUSTED;
    const [leaf, r12, r13, r14, r15] = call;
    const g = v.regs.gpr;
    setReg(g, 0, 0n);
    setReg(g, 1, 0xfc00n);
    setReg(g, 10, 0n);
    setReg(g, 11, leaf);
    setReg(g, 12, r12);
    setReg(g, 13, r13);
    setReg(g, 14, r14);
    setReg(g, 15, r15);
    if (v.tdcall() !== TdcallOutcome.TD_EXIT) throw new Error("TDG.VP.VMCALL did not exit");
    return TdRunResult.TD_EXIT;
  }
}

const IO = 30n;
const MAP_GPA = 0x10001n;
const REPORT_FATAL_ERROR = 0x10003n;

function runnableTd(script: TdvmcallScript, withShared = false) {
  const image = assembleGuestImage({
    origin: 0x40_0000,
    program: new GuestProgram().fn("guest_code", (f) => {
      f.call("tdx_test_success");
    }),
  });
  const td = tdCreate({
    process: new KvmProcess({ supportedCpuid: supportedCpuid(), tdGuestExecutor: script }),
  });
  tdInitialize(td, { image: image.chunks, idtEntries: image.idtEntries, memorySize: 16 << 20 });
  const shared = withShared ? vmVaddrAllocShared(td, 0x2000) : 0;
  tdVcpuAdd(td, 0, image.symbol("guest_code"));
  tdFinalize(td);
  return { td, shared };
}

describe("host half: running (scripted TDVMCALLs)", () => {
  it("tdxRun + TDX_TEST_ASSERT_SUCCESS on a real KVM_EXIT_IO; a ReportFatalError fails tdxRun with the code", () => {
    const script = new TdvmcallScript([
      [IO, 4n, 1n, 0x30n, 0n],
      [REPORT_FATAL_ERROR, 0x0baa_aaad_0000_0000n, 0n, 0n, 0n],
      [REPORT_FATAL_ERROR, 0x0baa_aaad_0000_0000n, 0n, 0n, 0n],
    ]);
    const { td } = runnableTd(script);
    tdxTestAssertSuccess(tdxRun(td));
    expect(() => tdxRun(td)).toThrow(TdxTestAssertionError);
    tdxTestAssertFatal(tdVcpuRun(td), 0x0baa_aaad_0000_0000n);
    expect(script.r10Seen[0]).toBe(0n); // the IO exit was completed with success
  });

  it("vcpu_run_and_manage_memory_conversions: MapGPA of shared pages to private is converted, then the next exit comes back", () => {
    const script = new TdvmcallScript([
      [MAP_GPA, 0n, 0x2000n, 0n, 0n], // patched below with the shared pages' GPA
      [IO, 4n, 1n, 0x30n, 0n],
    ]);
    const { td, shared } = runnableTd(script, true);
    const gpa = BigInt(addrGva2Gpa(td, shared));
    script.calls[0]![1] = gpa; // no shared bit: to private
    expect(td.vm.memory.attributes.isPrivate(Number(gpa))).toBe(false);
    // The first KVM_RUN alone gives the hypercall exit; the loop answers it and runs on.
    tdxTestAssertSuccess(vcpuRunAndManageMemoryConversions(td));
    expect(script.r10Seen).toEqual([0n]); // MapGPA returned TDVMCALL_SUCCESS
    expect(td.vm.memory.attributes.isPrivate(Number(gpa))).toBe(true);
    expect(td.vm.memory.attributes.isPrivate(Number(gpa) + 0x1000)).toBe(true);
  });
});
