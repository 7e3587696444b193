// Booting what td_finalize loads on the real CPU, without KVM_RUN: the host-half tests check the
// pages the host half wrote, instruction by instruction.
import type { TdVm } from "../../src/index.js";
import { GuestCpu } from "../guest/guest-cpu.js";

/**
 * vCPU 0 at the reset vector over exactly the pages td_finalize hands to
 * KVM_TDX_INIT_MEM_REGION; TDCALLs go to `onTdcall` (return true to stop there).
 */
export function bootLoadedPages(td: TdVm, onTdcall: (regs: bigint[]) => unknown): GuestCpu {
  const m = new GuestCpu(onTdcall).reset32();
  for (const run of td.plan!.layout.protectedRuns()) {
    m.load(BigInt(run.gpa), td.readStaging(run.gpa, run.pages * 4096, "test"));
  }
  return m;
}
