// The simulated host every test's TD runs on: one KvmProcess per TD, with the CPU model
// KVM_GET_SUPPORTED_CPUID reports and, while a caller measures, an instruction-counting executor.
import type { KvmProcess } from "@tdxsim/kvm";
import { tdTestProcess } from "@tdxsim/tdx-lib";
import { CountingTdExecutor } from "./instruction-counter.js";

let measuring: CountingTdExecutor | undefined;

/** A fresh VMM process for one TD (what each upstream test's process is): tdx-lib's tdTestProcess. */
export function newTdProcess(): KvmProcess {
  return tdTestProcess({ tdGuestExecutor: measuring });
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
