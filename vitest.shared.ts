// One vitest configuration for every package: tests import sibling packages from their
// TypeScript sources (the "@tdxsim/source" export condition), and each run writes a JSON
// report that .ci/run adds up into the totals line.
import { defineConfig } from "vitest/config";

export const SOURCE_CONDITION = "@tdxsim/source";

export function packageTestConfig(overrides: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: [SOURCE_CONDITION, "import", "module", "default"] },
    ssr: { resolve: { conditions: [SOURCE_CONDITION, "import", "module", "default"] } },
    test: {
      include: ["test/**/*.test.ts"],
      testTimeout: overrides.testTimeout ?? 30_000,
      reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    },
  });
}
