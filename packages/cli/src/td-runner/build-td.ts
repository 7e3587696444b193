// td_create … td_finalize around a loaded ELF image, the way the selftest library builds a TD:
// memslots and page tables from tdInitialize, one vCPU per --vcpus entering at e_entry.
import {
  DEFAULT_TD_MEMORY_SIZE,
  type LoadedElf,
  type TdVm,
  tdCreate,
  tdFinalize,
  tdInitialize,
  tdTestProcess,
  tdVcpuAdd,
} from "@tdxsim/tdx-lib";
import { CountingTdExecutor } from "@tdxsim/tdx-vm-tests";

export interface BuiltTd {
  readonly td: TdVm;
  /** Counts the guest instructions every vCPU retires. */
  readonly executor: CountingTdExecutor;
}

/** A TD build step failed: `step` is the upstream function, `cause` what the layer threw. */
export class TdBuildError extends Error {
  override name = "TdBuildError";
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

const MEMORY_ALIGN = 2 << 20;

/** Memslot 0: the library's default, or enough to hold an image linked higher (plus 2 MiB for stacks and tables). */
export function tdMemorySizeFor(image: LoadedElf): number {
  const end = Math.max(0, ...image.chunks.map((c) => c.gpa + c.bytes.length));
  const needed = Math.ceil(end / MEMORY_ALIGN) * MEMORY_ALIGN + MEMORY_ALIGN;
  return Math.max(DEFAULT_TD_MEMORY_SIZE, needed);
}

function step<T>(name: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw new TdBuildError(name, error);
  }
}

/** Builds and finalizes a TD running `image` on `vcpus` vCPUs. */
export function buildTd(image: LoadedElf, vcpus: number): BuiltTd {
  const executor = new CountingTdExecutor();
  const td = step("td_create", () => tdCreate({ process: tdTestProcess({ tdGuestExecutor: executor }) }));
  step("td_initialize", () =>
    tdInitialize(td, { image: image.chunks, memorySize: tdMemorySizeFor(image), maxVcpus: vcpus }),
  );
  for (let id = 0; id < vcpus; id++) step(`td_vcpu_add (vCPU ${id})`, () => tdVcpuAdd(td, id, image.entry));
  step("td_finalize", () => tdFinalize(td));
  return { td, executor };
}
