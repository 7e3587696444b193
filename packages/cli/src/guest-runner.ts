import type { LoadedElf } from "@tdxsim/tdx-lib";
import type { CliIo } from "./io.js";

/** What `tdxsim run` hands to the TD runner once the command line and the ELF are valid. */
export interface TdGuestRunRequest {
  /** The path as the user gave it (for messages). */
  readonly path: string;
  /** The validated image, laid out as pages (GVA = GPA), relocations applied. */
  readonly image: LoadedElf;
  readonly vcpus: number;
  /** Print every exit as it happens. */
  readonly trace: boolean;
  /** --max-instructions: the runaway limit (the runner's default when absent). */
  readonly maxInstructions?: number;
}

/**
 * The seam where @tdxsim/kvm plugs in: build the TD (td_create, td_initialize with the image,
 * vCPUs, finalize), run it, print its exits to io.stdout (test-port writes decoded), and return
 * the exit status — 0 when the guest reported success on port 0x30, 1 otherwise.
 */
export type TdGuestRunner = (request: TdGuestRunRequest, io: CliIo) => Promise<number>;
