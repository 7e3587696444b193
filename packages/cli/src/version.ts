import { createRequire } from "node:module";

/** The package version, read from package.json (one directory up from both src/ and dist/). */
export function cliVersion(): string {
  const manifest = createRequire(import.meta.url)("../package.json") as { version: string };
  return manifest.version;
}
