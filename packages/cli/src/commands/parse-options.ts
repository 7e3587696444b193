import { parseArgs } from "node:util";

/** A bad command line: the message is printed with the usage and the command exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface OptionSpec {
  readonly type: "boolean" | "string";
  readonly short?: string;
  readonly multiple?: boolean;
}

export interface ParsedCommandLine {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * node:util parseArgs in its non-strict token mode, then our own checks, so every refusal has a
 * message we choose (and that does not change with the Node version): unknown options, values
 * given to flags, missing values, and a value that is really the next option (`--filter --list`).
 */
export function parseCommandLine(
  args: readonly string[],
  spec: Record<string, OptionSpec>,
): ParsedCommandLine {
  const { tokens } = parseArgs({
    args: [...args],
    options: spec,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined;
    if (option === undefined) throw new UsageError(`unknown option '${token.rawName}'`);
    if (option.type === "boolean") {
      if (token.inlineValue) throw new UsageError(`option '${token.rawName}' takes no value`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    if (value === undefined || value === "" || (!token.inlineValue && value.startsWith("-"))) {
      throw new UsageError(
        `option '${token.rawName}' needs a value` +
          (value?.startsWith("-") ? ` (write ${token.rawName}=${value} if that is the value)` : ""),
      );
    }
    if (option.multiple)
      values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    else if (values[token.name] !== undefined) {
      throw new UsageError(`option '${token.rawName}' given more than once`);
    } else values[token.name] = value;
  }
  return { values, positionals };
}
