/**
 * `--filter PATTERN`: a plain pattern matches names that contain it; a pattern with a glob
 * character (`*`, `?`, `[...]`) must match the whole name (`verify_guest_*`, `*mmio*`,
 * `verify_td_[ic]*`). Case-sensitive, like the upstream names. Several filters: any may match.
 */
export function nameMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const tests = patterns.map(patternTest);
  return (name) => tests.some((test) => test(name));
}

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

function patternTest(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name.includes(pattern);
  const regex = globToRegExp(pattern);
  return (name) => regex.test(name);
}

export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") source += ".*";
    else if (c === "?") source += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      source += `[${negated ? "^" : ""}${body.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}
