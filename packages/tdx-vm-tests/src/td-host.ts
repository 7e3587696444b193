// The simulated host every test's TD runs on: one KvmProcess per TD, with the CPU model
// KVM_GET_SUPPORTED_CPUID reports and, while a caller measures, an instruction-counting executor.
import { type KvmCpuidEntry2, KvmProcess, type TdxCapabilities } from "@tdxsim/kvm";
import { CountingTdExecutor } from "./instruction-counter.js";

/**
 * KVM_GET_SUPPORTED_CPUID as the host VMM hands it to KVM_TDX_INIT_VM: the configurable leaves of
 * KVM_TDX_CAPABILITIES with native family/model/stepping (leaf 1 EAX 0) and GPAW 48.
 */
export function supportedCpuid(): KvmCpuidEntry2[] {
  return tdxCapabilities().cpuid.map((e) => ({
    ...e,
    eax: e.function === 1 ? 0 : e.function === 0x80000008 ? 48 << 16 : e.eax,
  }));
}

/** KVM_TDX_CAPABILITIES of this simulated host, read from a throw-away TDX VM (type 5). */
export function tdxCapabilities(): TdxCapabilities {
  return new KvmProcess().openKvm().createVm(5).tdxCapabilities();
}

let measuring: CountingTdExecutor | undefined;

/** A fresh VMM process for one TD (what each upstream test's process is). */
export function newTdProcess(): KvmProcess {
  return new KvmProcess({ supportedCpuid: supportedCpuid(), tdGuestExecutor: measuring });
}

/**
 * Runs `body` with every TD it creates through newTdProcess() on one counting executor, and
 * returns how many guest instructions they retired. Calls do not nest.
 */
export async function countGuestInstructions(body: () => void | Promise<void>): Promise<number> {
  if (measuring) throw new Error("countGuestInstructions: already counting (calls do not nest)");
  const counter = new CountingTdExecutor();
  measuring = counter;
  try {
    await body();
  } finally {
    measuring = undefined;
  }
  return counter.retired;
}
