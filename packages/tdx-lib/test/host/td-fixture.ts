// Shared pieces of the host-half tests: the CPU model KVM_GET_SUPPORTED_CPUID reports, and
// booting what td_finalize loads on the real CPU (KVM_RUN has no executor behind it yet).
import { type KvmCpuidEntry2, KvmProcess } from "@tdxsim/kvm";
import type { TdVm } from "../../src/index.js";
import { GuestCpu } from "../guest/guest-cpu.js";

/** The configurable leaves of KVM_TDX_CAPABILITIES with native F/M/S (0) and GPAW 48. */
export function supportedCpuid(): KvmCpuidEntry2[] {
  const probe = new KvmProcess().openKvm().createVm(5);
  return probe.tdxCapabilities().cpuid.map((e) => ({
    ...e,
    eax: e.function === 1 ? 0 : e.function === 0x80000008 ? 48 << 16 : e.eax,
  }));
}

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
