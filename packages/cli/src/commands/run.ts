import { ElfError, type LoadedElf, loadElf } from "@tdxsim/tdx-lib";
import type { TdGuestRunner } from "../guest-runner.js";
import type { CliIo } from "../io.js";
import { parseCommandLine, UsageError } from "./parse-options.js";
import { EXIT_OK, EXIT_USAGE, RUN_USAGE } from "./usage.js";

const OPTIONS = {
  vcpus: { type: "string" },
  "max-instructions": { type: "string" },
  trace: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** TD_PARAMS.max_vcpus is a 16-bit field; the KVM layer may allow fewer (KVM_CAP_MAX_VCPUS). */
export const MAX_TD_VCPUS = 0xffff;

export const NO_TD_RUNNER = "running TD guests needs @tdxsim/kvm, not available in this build";

/** `tdxsim run GUEST.elf [--vcpus N] [--trace]`. */
export async function runCommand(
  args: readonly string[],
  io: CliIo,
  guestRunner: TdGuestRunner | undefined,
): Promise<number> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (values.help) {
    io.stdout.write(RUN_USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "missing the guest ELF file"
        : `takes one guest ELF file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const path = positionals[0];
  const vcpus = parseVcpus(values.vcpus as string | undefined);
  const maxInstructions = parseMaxInstructions(values["max-instructions"] as string | undefined);

  const image = await readGuestImage(path, io);
  if (typeof image === "string") {
    io.stderr.write(`tdxsim run: ${image}\n`);
    return EXIT_USAGE;
  }
  if (guestRunner === undefined) {
    io.stderr.write(`tdxsim run: ${NO_TD_RUNNER}\n`);
    return EXIT_USAGE;
  }
  return guestRunner({ path, image, vcpus, trace: values.trace === true, maxInstructions }, io);
}

function parseVcpus(text: string | undefined): number {
  if (text === undefined) return 1;
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= MAX_TD_VCPUS)) {
    throw new UsageError(`--vcpus '${text}' is not a whole number from 1 to ${MAX_TD_VCPUS}`);
  }
  return value;
}

/** Guest instructions a run may take before it is declared runaway (a safe integer). */
function parseMaxInstructions(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new UsageError(`--max-instructions '${text}' is not a whole number from 1 to 2^53 − 1`);
  }
  return value;
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  ENOTDIR: "a path component is not a directory",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
};

/** The loaded image, or a one-line message naming what is wrong with the file (exit status 2). */
async function readGuestImage(path: string, io: CliIo): Promise<LoadedElf | string> {
  let bytes: Uint8Array;
  try {
    bytes = await io.readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code ? `${code} (${READ_ERRORS[code] ?? (error as Error).message})` : String(error);
    return `cannot read ${path}: ${why}`;
  }
  try {
    return loadElf(bytes);
  } catch (error) {
    if (error instanceof ElfError) return `${path} is not a usable guest ELF: ${error.message}`;
    throw error;
  }
}
