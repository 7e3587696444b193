// The benchmark convention: a benchmark measures its subject and a baseline in the same
// process, and prints both with their ratio, so figures compare across machines.

export interface Figure {
  name: string;
  /** operations per second */
  rate: number;
  unit: string;
}

/** Runs `body(n)` (which performs n operations) with growing n until it takes minMs, then reports the best of `rounds`. */
export function measure(
  name: string,
  unit: string,
  body: (n: number) => void,
  minMs = 200,
  rounds = 5,
): Figure {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    body(n);
    const dt = performance.now() - t0;
    if (dt >= minMs / 4) break;
    n *= dt < 1 ? 16 : 2;
  }
  let best = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    body(n);
    const dt = (performance.now() - t0) / 1000;
    best = Math.max(best, n / dt);
  }
  return { name, rate: best, unit };
}

/** Times one run of `body` in milliseconds (best of `rounds`). */
export function timeMs(body: () => void, rounds = 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    body();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function formatRate(rate: number): string {
  if (rate >= 1e9) return `${(rate / 1e9).toFixed(2)} G`;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(1)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)} k`;
  return rate.toFixed(1);
}

/** Prints a figure next to its baseline: "name: 123.4 M ops/s (0.42 × baseline)". */
export function report(figure: Figure, baseline?: Figure): string {
  const ratio = baseline ? ` (${(figure.rate / baseline.rate).toFixed(3)} × ${baseline.name})` : "";
  const line = `${figure.name}: ${formatRate(figure.rate)}${figure.unit}${ratio}`;
  console.log(line);
  return line;
}
